"""maps.npz: the uint8 levels the localisation metrics use, and back."""

from __future__ import annotations

import numpy as np
import pytest

from vadlit.errors import DataError
from vadlit.evaluation.localization import MAP_RANGE, quantise
from vadlit.evaluation.map_files import read_maps, to_score_units, write_maps
from vadlit.files import all_or_none


def test_maps_come_back_as_the_levels_the_metrics_use_under_any_video_name(tmp_path):
    rng = np.random.default_rng(0)
    maps = {"Test001/a.b": rng.normal(0, 5, (3, 4, 5)).astype(np.float32), "01_0014": np.full((2, 4, 5), 40.0)}
    write_maps(tmp_path / "maps.npz", maps)
    back, bounds = read_maps(tmp_path / "maps.npz")
    assert list(back) == list(maps) and bounds == MAP_RANGE
    for name, m in maps.items():
        assert back[name].dtype == np.uint8
        np.testing.assert_array_equal(back[name], quantise(m))
    step = (MAP_RANGE[1] - MAP_RANGE[0]) / 255
    inside = np.clip(maps["Test001/a.b"], *MAP_RANGE)
    np.testing.assert_allclose(to_score_units(back["Test001/a.b"]), inside, atol=step / 2 + 1e-5)
    assert back["01_0014"].max() == 255, "values above the range are clipped to the top level"


def test_a_failed_result_set_leaves_no_maps_file(tmp_path):
    with pytest.raises(RuntimeError), all_or_none() as files:
        write_maps(tmp_path / "maps.npz", {"v": np.zeros((1, 2, 2))}, files=files)
        raise RuntimeError("scores.csv failed")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_maps_file_is_named(tmp_path):
    (tmp_path / "maps.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="maps.npz: cannot read the anomaly maps"):
        read_maps(tmp_path / "maps.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(DataError, match="not a vadlit maps file"):
        read_maps(tmp_path / "other.npz")
