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


def entry(monkeypatch, capsys, tmp_path: Path, tool: str, args: list[str], flags: tuple[str, ...] = ()) -> tuple[int, str]:
    """Run entry point `tool` with `args` as its command line (then Hydra's `flags`); (exit status, stderr).
    The run folder and the cache go under `tmp_path` unless `args` says where."""
    import importlib

    module = {"vadlit-train": "vadlit.cli.train", "vadlit-eval": "vadlit.cli.evaluate"}[tool]
    main = importlib.import_module(module).main
    where = {"hydra.run.dir": tmp_path / "run", "paths.cache_dir": tmp_path / "cache"}
    given = {a.split("=", 1)[0] for a in args}
    if "paths.log_dir" in given:
        where.pop("hydra.run.dir")
    defaults = [f"{k}={v}" for k, v in where.items() if k not in given]
    monkeypatch.setattr(sys, "argv", [tool, *args, *defaults, "~callbacks.rich_progress_bar", *flags])
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



def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a folder")
    return path


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
    "a run that takes no optimizer step": (lambda t: ["trainer.limit_train_batches=0"],
                                            ["training took no optimizer step", "trainer.limit_train_batches=0"]),
    # values only a library would have checked (torch's DataLoader, Adam, numpy's seed, Lightning's Trainer)
    "negative eval batch size": (lambda t: ["data.eval_batch_size=-1"], ["data.eval_batch_size=-1", "positive integer"]),
    "negative loader workers": (lambda t: ["data.num_workers=-1"], ["data.num_workers=-1", ">= 0"]),
    "not a boolean": (lambda t: ["data.pin_memory=maybe"], ["data.pin_memory='maybe'", "true or false"]),
    "a fraction given as a word": (lambda t: ["data.val_fraction=half"], ["data.val_fraction='half'"]),
    "Adam betas out of range": (lambda t: ["model.betas=[2,0.9]"], ["model.betas=[2, 0.9]", "[0, 1)"]),
    "a seed that is not a number": (lambda t: ["seed=abc"], ["seed='abc'", "integer from 0"]),
    "a negative seed": (lambda t: ["seed=-1"], ["seed=-1"]),
    "a precision Lightning does not know": (lambda t: ["trainer.precision=17"], ["trainer: ", "Precision 17 is invalid"]),
    "negative epochs": (lambda t: ["trainer.max_epochs=-5"], ["trainer: ", "max_epochs", "-5"]),
    "an accelerator that is not installed": (lambda t: ["trainer.accelerator=tpu"], ["trainer: ", "torch_xla"]),
    # checked before training, not reported after it
    "test clips further apart than they are long": (lambda t: ["data.eval_stride=6"],
                                                     ["data.eval_stride=6", "data.clip_len=4", "unscored"]),
    # output and cache locations that cannot be created
    "an output folder under a file": (lambda t: [f"paths.log_dir={_a_file(t)}/outputs"], ["afile/outputs", "Not a directory"]),
    "a cache folder under a file": (lambda t: [f"paths.cache_dir={_a_file(t)}/cache"], ["afile/cache", "Not a directory"]),
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


def _tampered(smoke_run: Path, tmp_path: Path, change) -> Path:
    state = torch.load(smoke_run / "checkpoints" / "last.ckpt", weights_only=True)
    change(state)
    path = tmp_path / "tampered.ckpt"
    torch.save(state, path)
    return path


CHECKPOINTS = {
    "random bytes": (lambda s, t: (t / "random.ckpt").write_bytes(np.random.default_rng(0).bytes(5000)) and t / "random.ckpt",
                     ["random.ckpt", "not a torch checkpoint"]),
    "its record is a list": (lambda s, t: _tampered(s, t, lambda st: st.update(vadlit=[1, 2])),
                             ["tampered.ckpt", "'vadlit' record is a list"]),
    "val_scores is a list": (lambda s, t: _tampered(s, t, lambda st: st["vadlit"].update(val_scores=[0.1])),
                             ["tampered.ckpt", "val_scores is a list"]),
    "preprocessing asks for 7 channels": (lambda s, t: _tampered(s, t, lambda st: st["vadlit"]["preprocessing"].update(channels=7)),
                                          ["tampered.ckpt", "preprocessing.channels=7"]),
    "a format that is not a number": (lambda s, t: _tampered(s, t, lambda st: st["vadlit"].update(format="four")),
                                      ["tampered.ckpt", "format='four'"]),
}


@pytest.mark.parametrize("case", list(CHECKPOINTS))
def test_a_malformed_checkpoint_is_one_line_naming_it_not_a_config_key(case, smoke_run, tmp_path, monkeypatch, capsys):
    make, expected = CHECKPOINTS[case]
    path = make(smoke_run, tmp_path)
    status, err = entry(monkeypatch, capsys, tmp_path, "vadlit-eval", TINY + ["data.clip_len=4", "data.image_size=32",
                                                                          f"ckpt_path={path}"])
    assert_one_clear_line(status, err, *expected)
    assert "data." not in err.splitlines()[-1], "a value from the checkpoint is not blamed on a config key"


def test_a_hydra_flag_combination_hydra_refuses_is_one_line(tmp_path, monkeypatch, capsys):
    status, err = entry(monkeypatch, capsys, tmp_path, "vadlit-train", ["-m", *TINY], flags=("--cfg", "hydra"))
    assert_one_clear_line(status, err, "Only one of --run, --multirun, --cfg")


ENTRY_POINTS = {
    "vadlit-prepare": (lambda t: ["data=folder", f"data.root={t / 'nowhere'}"], ["data.root=", "nowhere", "does not exist"]),
    "vadlit-bench": (lambda t: ["bench.no_such_key=1"], ["bench.no_such_key"]),
    "vadlit-analyze": (lambda t: [f"ckpt_path={_a_file(t)}"], ["afile", "not a torch checkpoint"]),
    "vadlit-score": (lambda t: [f"ckpt_path={_a_file(t)}", f"input={t / 'clip.mp4'}"], ["afile", "not a torch checkpoint"]),
    "vadlit-report": (lambda t: [str(t / "no-sweep")], ["no such folder", "no-sweep"]),
}


@pytest.mark.parametrize("tool", list(ENTRY_POINTS))
def test_every_entry_point_gives_one_clear_line(tool, tmp_path):
    from tests.helpers.runs import cli

    args, expected = ENTRY_POINTS[tool]
    proc = cli(tool, args(tmp_path) + ([] if tool == "vadlit-report" else [f"hydra.run.dir={tmp_path / 'run'}"]), tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if ": error: " in line and line.startswith("vadlit")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for text in expected:
        assert text in lines[0], (text, lines[0])
