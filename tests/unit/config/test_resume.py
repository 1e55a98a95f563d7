"""A resume continues the run or sweep of the same command, found by what its overrides compute;
anything else is refused with one line naming the difference, and no folder is touched."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from vadlit.config.overrides import run_identity, sweep_identity
from vadlit.config.resume import run_to_continue, sweep_to_continue
from vadlit.errors import ConfigError

CHOICES = {"model": "ta4", "data": "synthetic", "trainer": "default", "logger": "tensorboard",
           "callbacks": "default", "hydra/launcher": "basic", "debug": None}


def _run(base: Path, name: str, overrides: list[str], choices=None, last=False, finished=False) -> Path:
    folder = base / name
    (folder / ".hydra").mkdir(parents=True)
    OmegaConf.save({"hydra": {"overrides": {"task": overrides}, "runtime": {"choices": {**CHOICES, **(choices or {})}}}},
                   folder / ".hydra" / "hydra.yaml")
    if last:
        (folder / "checkpoints").mkdir()
        (folder / "checkpoints" / "last.ckpt").write_bytes(b"x")
    if finished:
        (folder / "metrics.json").write_text("{}")
    return folder


def _sweep(base: Path, name: str, overrides: list[str], params=None) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    OmegaConf.save({"hydra": {"overrides": {"task": overrides}, "sweeper": {"params": params},
                              "runtime": {"choices": CHOICES}}}, folder / "multirun.yaml")
    return folder


def test_identity_counts_what_is_computed_not_where_or_how_long():
    a = run_identity(["model=ta4", "seed=1", "trainer.max_epochs=3", "ckpt_path=last", "data.num_workers=2",
                      "paths.log_dir=/x", "+callbacks.kill.epoch=1"], CHOICES)
    b = run_identity(["seed=1"], CHOICES)  # model=ta4 by default is the same model
    assert a == b == {"model": "ta4", "data": "synthetic", "seed": "1"}
    assert run_identity(["seed=1", "model.lr=0.001"], CHOICES) != b
    assert sweep_identity(["resume=true", "hydra/launcher=ray_local"], {"model": "baseline,ta1"}, CHOICES) == \
        sweep_identity([], {"model": "baseline,ta1"}, CHOICES)


def test_ckpt_path_last_continues_the_newest_run_of_the_same_command(tmp_path):
    mine = _run(tmp_path, "2026-01-01_10-00-00", ["model=ta1"], {"model": "ta1"}, last=True)
    _run(tmp_path, "2026-01-01_11-00-00", ["model=ta8"], {"model": "ta8"}, last=True)  # newer, another model
    assert run_to_continue(tmp_path, ["model=ta1", "ckpt_path=last", "trainer.max_epochs=9"], {**CHOICES, "model": "ta1"}) == mine


def test_ckpt_path_last_of_another_model_is_refused_naming_the_difference(tmp_path):
    _run(tmp_path, "2026-01-01_11-00-00", ["model=ta8"], {"model": "ta8"}, last=True)
    with pytest.raises(ConfigError, match=r"differs: model=ta1 \(was ta8\)"):
        run_to_continue(tmp_path, ["model=ta1", "ckpt_path=last"], {**CHOICES, "model": "ta1"})


def test_a_run_killed_before_its_first_checkpoint_is_not_confused_with_an_older_finished_one(tmp_path):
    _run(tmp_path, "2026-01-01_10-00-00", [], last=True, finished=True)  # the same command, finished before
    _run(tmp_path, "2026-01-01_11-00-00", [])  # run again, killed before any checkpoint
    with pytest.raises(ConfigError, match="ended before its first checkpoint"):
        run_to_continue(tmp_path, ["ckpt_path=last"], CHOICES)


def test_a_finished_run_of_the_same_command_is_found_to_be_skipped(tmp_path):
    done = _run(tmp_path, "2026-01-01_10-00-00", ["seed=3"], last=True, finished=True)
    assert run_to_continue(tmp_path, ["seed=3", "ckpt_path=last"], CHOICES) == done


def test_resume_continues_the_sweep_of_the_same_grid_and_refuses_another(tmp_path):
    seed1 = _sweep(tmp_path, "2026-01-01_10-00-00_aaaa", ["seed=1", "model=baseline"])
    _sweep(tmp_path, "2026-01-01_11-00-00_bbbb", ["experiment=ablation_heads"], {"model": "baseline,ta1"})
    assert sweep_to_continue(tmp_path, ["model=baseline", "seed=1", "resume=true"], None, CHOICES) == seed1
    with pytest.raises(ConfigError, match=r"resume=true: no sweep .* has this grid.*seed=2 \(was 1\)"):
        _sweep(tmp_path, "2026-01-01_12-00-00_cccc", ["seed=1", "model=baseline"])
        sweep_to_continue(tmp_path, ["seed=2", "model=baseline", "resume=true"], None, CHOICES)
    assert sweep_to_continue(tmp_path / "none-yet", ["resume=true"], None, CHOICES) is None
