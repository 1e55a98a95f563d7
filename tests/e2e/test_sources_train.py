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
