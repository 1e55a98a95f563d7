"""Every kind of bad input a user can give: exit status 2, one line naming what is wrong, nothing half-written.

The entry points run in this process (as `vadlit-train ...` would, through Hydra's command-line
parsing), which keeps each case to about a second.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

from tests.helpers.runs import SMOKE, TINY  # SMOKE: for sources other than the synthetic one
from tests.helpers.trees.folder import write_folder_tree, write_labels
from tests.helpers.trees.ucsd import corrupt_frame, ucsd_folder, write_ucsd_tree


def entry(monkeypatch, capsys, tmp_path: Path, tool: str, args: list[str]) -> tuple[int, str]:
    """Run entry point `tool` with `args` as its command line; (exit status, stderr)."""
    import importlib

    module = {"vadlit-train": "vadlit.cli.train", "vadlit-eval": "vadlit.cli.evaluate"}[tool]
    main = importlib.import_module(module).main
    run_dir = tmp_path / "run"
    monkeypatch.setattr(sys, "argv", [tool, *args, f"hydra.run.dir={run_dir}", f"paths.cache_dir={tmp_path / 'cache'}",
                                      "~callbacks.rich_progress_bar"])
    monkeypatch.delenv("VADLIT_TRACEBACK", raising=False)
    GlobalHydra.instance().clear()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    return exit_info.value.code, err


def assert_one_clear_line(status: int, err: str, *expected: str) -> None:
    assert status == 2, err
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("[")]  # [..] = log records
    assert len(lines) == 1 and lines[0].startswith("vadlit: error: "), err
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert "Traceback" not in err


def assert_nothing_half_written(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    leftovers = [p.name for p in cache.iterdir() if p.name.startswith(".")] if cache.is_dir() else []
    assert leftovers == [], f"temporary cache folders left behind: {leftovers}"
    for name in ("metrics.json", "scores.csv"):
        assert not (tmp_path / "run" / name).exists()
    checkpoints = tmp_path / "run" / "checkpoints"
    assert not checkpoints.exists() or not any(checkpoints.iterdir())


def _ucsd(tmp_path: Path, corrupt: bool = False) -> Path:
    write_ucsd_tree(tmp_path / "data", frames=12)
    root = ucsd_folder(tmp_path / "data")
    if corrupt:
        corrupt_frame(root / "Train" / "Train002" / "005.tif")
    return root


def _folder(tmp_path: Path, problem: str) -> Path:
    root = tmp_path / "data"
    if problem == "empty":
        (root / "train").mkdir(parents=True)
        (root / "test").mkdir()
    elif problem == "truncated":
        write_folder_tree(root, kind="video", frames=16)
        video = next((root / "train").glob("*.avi"))
        video.write_bytes(video.read_bytes()[: video.stat().st_size * 6 // 10])
    elif problem == "labels":
        write_folder_tree(root, frames=12)
        name = sorted(p.stem for p in (root / "test").glob("*.npy"))[0]
        write_labels(root / "test", name, np.zeros(9, dtype=np.uint8), "npy")
    return root



CASES = {
    "unknown group option": (lambda t: ["model=ta3"], ["model/ta3", "choose one of: baseline", "ta4"]),
    "wrong type": (lambda t: ["model.lr=fast"], ["model.lr='fast': expected a number"]),
    "wrong type (data)": (lambda t: ["data.clip_len=eight"], ["data.clip_len='eight'", "positive integer"]),
    "unknown key": (lambda t: ["data.clip_length=8"], ["data.clip_length"]),
    "missing data.root": (lambda t: SMOKE + ["data=ucsd_ped2"], ["data.root is required", "data.root=<value>"]),
    "empty data set": (lambda t: SMOKE + ["data=folder", f"data.root={_folder(t, 'empty')}"], ["no videos"]),
    "corrupt frame": (lambda t: SMOKE + ["data=ucsd_ped2", f"data.root={_ucsd(t, corrupt=True)}"],
                      ["cannot decode frame", "Train002/005.tif"]),
    "truncated video": (lambda t: SMOKE + ["data=folder", f"data.root={_folder(t, 'truncated')}"], ["is truncated", ".avi"]),
    "labels of the wrong length": (lambda t: SMOKE + ["data=folder", f"data.root={_folder(t, 'labels')}"],
                                   ["test01.npy", "have 9 values", "12 frames"]),
    "clip_len longer than every video": (lambda t: ["data.clip_len=64"], ["data.clip_len=64"]),
    "heads not dividing the width": (lambda t: ["model.heads=3"], ["model.heads=3", "valid choices"]),
    "unknown score term": (lambda t: ["model.score_terms=[memory,speed]"], ["model.score_terms", "error, memory, motion"]),
    "encoder level out of range": (lambda t: ["model.playback_level=7"], ["model.playback_level=7", "-1 for the bottleneck"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_to_training_is_one_clear_line(case, tmp_path, monkeypatch, capsys):
    args, expected = CASES[case]
    argv = args(tmp_path)
    status, err = entry(monkeypatch, capsys, tmp_path, "vadlit-train", argv if argv[0] == SMOKE[0] else TINY + argv)
    assert_one_clear_line(status, err, *expected)
    assert_nothing_half_written(tmp_path)


def test_a_checkpoint_of_another_model_is_one_clear_line(tmp_path, monkeypatch, capsys):
    other = tmp_path / "resnet.ckpt"
    torch.save({"state_dict": {"fc.weight": torch.zeros(2, 2)}, "hyper_parameters": {"num_classes": 2}}, other)
    status, err = entry(monkeypatch, capsys, tmp_path, "vadlit-eval", TINY + [f"ckpt_path={other}"])
    assert_one_clear_line(status, err, "resnet.ckpt", "not an OCR-GAN Video checkpoint")


def test_a_full_disk_while_caching_is_one_clear_line(tmp_path, monkeypatch, capsys):
    import vadlit.data.cache as cache

    real_save, calls = np.save, {"n": 0}

    def save(path, array, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_save(path, array, *args, **kwargs)

    monkeypatch.setattr(cache.np, "save", save)
    status, err = entry(monkeypatch, capsys, tmp_path, "vadlit-train", TINY)
    assert_one_clear_line(status, err, "no space left", "paths.cache_dir")
    assert_nothing_half_written(tmp_path)
    assert not any((tmp_path / "cache").iterdir()), "the partial cache was removed"
