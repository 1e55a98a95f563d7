"""Each real benchmark's tree trains end to end and scores every test frame with its own ground truth."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.test_train import compose_run

SMOKE = ["debug=smoke", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1", "data.image_size=32"]


def _ucsd(root: Path):
    from tests.trees.ucsd import ucsd_folder, write_ucsd_tree

    labels = write_ucsd_tree(root, variant="ped2", n_train=3, n_test=2, frames=12)
    return "ucsd_ped2", ucsd_folder(root, "ped2"), labels


def _ucsd_ped1(root: Path):
    from tests.trees.ucsd import ucsd_folder, write_ucsd_tree

    labels = write_ucsd_tree(root, variant="ped1", n_train=3, n_test=2, frames=12, masks_for=["Test001"])
    return "ucsd_ped1", ucsd_folder(root, "ped1"), labels


def _avenue(root: Path):
    from tests.trees.avenue import write_avenue_tree

    return "avenue", root, write_avenue_tree(root, n_train=3, n_test=2, frames=14)


def _shanghaitech(root: Path):
    from tests.trees.shanghaitech import write_shanghaitech_tree

    return "shanghaitech", root, write_shanghaitech_tree(root, scenes=(1, 2, 3), frames=14)


TREES = {"ucsd_ped2": _ucsd, "ucsd_ped1": _ucsd_ped1, "avenue": _avenue, "shanghaitech": _shanghaitech}


def _scores(path: Path) -> dict[str, list[tuple[int, int]]]:
    rows: dict[str, list[tuple[int, int]]] = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(r["video"], []).append((int(r["frame"]), int(r["label"]) if r["label"] else -1))
    return rows


@pytest.mark.parametrize("name", sorted(TREES))
def test_source_trains_and_scores_every_frame_with_its_ground_truth(tmp_path, name):
    from vadlit.run import run

    data, root, expected = TREES[name](tmp_path / "tree")
    metrics = run(compose_run(tmp_path, SMOKE + [f"data={data}", f"data.root={root}"]))
    rows = _scores(tmp_path / "run" / "scores.csv")
    assert sorted(rows) == sorted(expected)
    for video, labels in expected.items():
        assert [f for f, _ in rows[video]] == list(range(1, len(labels) + 1)), "every frame scored once, in order"
        assert np.array_equal([l for _, l in rows[video]], labels), f"labels of {video} differ from the format's"
    assert metrics["n_frames"] == sum(len(v) for v in expected.values())
