"""Each real benchmark's tree trains end to end and scores every test frame with its own ground truth."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import runs
from tests.helpers.runs import compose_run

SMOKE = [*runs.SMOKE, "data.image_size=32"]


def _ucsd(root: Path):
    from tests.helpers.trees.ucsd import ucsd_folder, write_ucsd_tree

    labels = write_ucsd_tree(root, variant="ped2", n_train=3, n_test=2, frames=12)
    return "ucsd_ped2", ucsd_folder(root, "ped2"), labels


def _ucsd_ped1(root: Path):
    from tests.helpers.trees.ucsd import ucsd_folder, write_ucsd_tree

    labels = write_ucsd_tree(root, variant="ped1", n_train=3, n_test=2, frames=12, masks_for=["Test001"])
    return "ucsd_ped1", ucsd_folder(root, "ped1"), labels


def _avenue(root: Path):
    from tests.helpers.trees.avenue import write_avenue_tree

    return "avenue", root, write_avenue_tree(root, n_train=3, n_test=2, frames=14)


def _shanghaitech(root: Path):
    from tests.helpers.trees.shanghaitech import write_shanghaitech_tree

    return "shanghaitech", root, write_shanghaitech_tree(root, scenes=(1, 2, 3), frames=14)


def _folder(root: Path):
    from tests.helpers.trees.folder import write_folder_tree

    return "folder", root, write_folder_tree(root, n_train=3, n_test=2, frames=12, kind="mixed", labels="csv")


TREES = {"ucsd_ped2": _ucsd, "ucsd_ped1": _ucsd_ped1, "avenue": _avenue, "shanghaitech": _shanghaitech,
         "folder": _folder}


def _scores(path: Path) -> dict[str, list[tuple[int, int]]]:
    rows: dict[str, list[tuple[int, int]]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["video"], []).append((int(r["frame"]), int(r["label"]) if r["label"] else -1))
    return rows


@pytest.mark.parametrize("name", sorted(TREES))
def test_source_trains_and_scores_every_frame_with_its_ground_truth(tmp_path, name):
    from vadlit.tasks.train import run

    data, root, expected = TREES[name](tmp_path / "tree")
    metrics = run(compose_run(tmp_path, SMOKE + [f"data={data}", f"data.root={root}"]))
    rows = _scores(tmp_path / "run" / "scores.csv")
    assert sorted(rows) == sorted(expected)
    for video, labels in expected.items():
        assert [f for f, _ in rows[video]] == list(range(1, len(labels) + 1)), "every frame scored once, in order"
        assert np.array_equal([l for _, l in rows[video]], labels), f"labels of {video} differ from the format's"
    assert metrics["n_frames"] == sum(len(v) for v in expected.values())
    _check_localization(metrics, name)


# which trees' test videos have pixel masks (the folder tree has frame labels only; Ped1 masks one video)
MASKED = {"ucsd_ped2": 2, "ucsd_ped1": 1, "avenue": 2, "shanghaitech": None, "folder": 0}


def _check_localization(metrics: dict, name: str) -> None:
    block = metrics.get("localization")
    if MASKED[name] == 0:
        assert block["n_videos_with_masks"] == 0 and "no test video has pixel masks" in block["note"]
        return
    assert block is not None, f"{name}: no localisation block"
    if MASKED[name] is not None:
        assert block["n_videos_with_masks"] == MASKED[name]
    assert block["n_videos_with_masks"] >= 1 and block["n_videos"] == metrics["n_videos"]
    for key in ("pixel_auroc", "aupro", "rbdc", "tbdc"):
        assert block[key] is None or 0.0 <= block[key] <= 1.0, (name, key, block[key])
    assert block["rbdc"] is not None and block["n_tracks"] >= 1


def test_the_embedded_benchmark_localises_with_every_value_in_range(tmp_path):
    from tests.helpers.runs import TINY
    from vadlit.tasks.train import run

    cfg = compose_run(tmp_path / "on", TINY + ["logger=none", "eval.save_maps=true"])
    metrics = run(cfg)
    block = metrics["localization"]
    assert block["n_videos_with_masks"] == block["n_videos"] == metrics["n_videos"]
    for key in ("pixel_auroc", "aupro", "rbdc", "tbdc"):
        assert 0.0 <= block[key] <= 1.0, (key, block[key])
    for trivial in ("foreground", "frame_difference"):  # the trivial maps, on the same pixels
        theirs = metrics["trivial_baselines"][trivial]["localization"]
        assert theirs["n_pixels"] == block["n_pixels"] and 0.0 <= theirs["pixel_auroc"] <= 1.0

    # maps.npz holds what the metrics were computed from: the same numbers come back from the file alone
    from hydra.utils import instantiate

    from vadlit.evaluation.localization import localization_metrics
    from vadlit.evaluation.map_files import read_maps

    maps, bounds = read_maps(tmp_path / "on" / "run" / "maps.npz")
    datamodule = instantiate(cfg.data, _convert_="object")
    datamodule.setup("test")
    masks = {v.name: np.asarray(v.masks, bool) for v in datamodule.test_videos}
    assert sorted(maps) == sorted(masks) and bounds == (-10.0, 30.0)
    again = localization_metrics(maps, masks, n_videos=len(maps))
    assert {k: again[k] for k in ("pixel_auroc", "aupro", "rbdc", "tbdc")} == \
        {k: block[k] for k in ("pixel_auroc", "aupro", "rbdc", "tbdc")}
    off = run(compose_run(tmp_path / "off", TINY + ["logger=none", "eval.localization=false"]))
    assert "localization" not in off and not (tmp_path / "off" / "run" / "maps.npz").exists()
    assert (tmp_path / "on" / "run" / "scores.csv").read_bytes() == (tmp_path / "off" / "run" / "scores.csv").read_bytes()


def test_folder_without_labels_writes_scores_but_no_metrics(tmp_path):
    from tests.helpers.trees.folder import write_folder_tree
    from vadlit.tasks.train import run

    write_folder_tree(tmp_path / "tree", n_train=3, n_test=2, frames=10, kind="frames", labels=None)
    metrics = run(compose_run(tmp_path, SMOKE + ["data=folder", f"data.root={tmp_path / 'tree'}"]))
    rows = _scores(tmp_path / "run" / "scores.csv")
    assert sum(len(r) for r in rows.values()) == 20 and all(l == -1 for r in rows.values() for _, l in r)
    assert metrics.get("auroc") is None and "no ground truth" in metrics["note"]


def _cli(tool: str, args: list[str], cwd: Path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "VADLIT_CACHE": str(cwd / "cache")}
    return subprocess.run([str(Path(sys.executable).parent / tool), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_prepare_builds_the_cache_and_summarises_it(tmp_path):
    from tests.helpers.trees.ucsd import ucsd_folder, write_ucsd_tree

    write_ucsd_tree(tmp_path / "tree", variant="ped2", n_train=2, n_test=2, frames=12)
    args = ["data=ucsd_ped2", f"data.root={ucsd_folder(tmp_path / 'tree', 'ped2')}", f"hydra.run.dir={tmp_path / 'p'}"]
    proc = _cli("vadlit-prepare", args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = " ".join(proc.stdout.split())
    assert "train │ 2 │ 24 │ no labels" in out and "test │ 2 │ 24 │" in out
    assert len(list((tmp_path / "cache").glob("ucsd_ped2-*"))) == 2


@pytest.mark.parametrize(
    "args,expected",
    [
        (["data=ucsd_ped2", "data.root=/nonexistent/UCSDped2"], "data.root='/nonexistent/UCSDped2' does not exist"),
        (["data=avenue"], "data.root"),
        (["data=folder", "data.root=EMPTY"], "expected train/<video>"),
    ],
)
def test_bad_data_input_gives_one_clear_line(tmp_path, args, expected):
    (tmp_path / "empty" / "train").mkdir(parents=True)
    args = [a.replace("EMPTY", str(tmp_path / "empty")) for a in args]
    proc = _cli("vadlit-prepare", args + [f"hydra.run.dir={tmp_path / 'p'}"], tmp_path)
    assert proc.returncode == 2 and "vadlit: error:" in proc.stderr and expected in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
