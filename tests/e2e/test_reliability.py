"""Faults a long sweep must survive: kills, divergence, a full disk, and the same seed giving the same result."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import torch

from tests.helpers.runs import TINY, cli, compose_run
from vadlit.errors import VadlitError

TWO_EPOCHS = TINY + ["trainer.max_epochs=2", "logger=none"]


def _nan_in_epoch(monkeypatch, epoch: int | None = None, batches: set[int] | None = None):
    """Make the generator loss NaN in one epoch, or in given (0-based, whole-run) batches."""
    from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

    original = VideoAnomalyModule._generator_losses
    calls = {"n": 0}

    def losses(self, x, out):
        result = original(self, x, out)
        if self.training:
            hit = (epoch is not None and self.current_epoch == epoch) or (batches is not None and calls["n"] in batches)
            calls["n"] += 1
            if hit:
                result["g_loss"] = result["g_loss"] * float("nan")
        return result

    monkeypatch.setattr(VideoAnomalyModule, "_generator_losses", losses)


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from vadlit.tasks.train import run

    _nan_in_epoch(monkeypatch, epoch=1)
    cfg = compose_run(tmp_path, TWO_EPOCHS)
    with pytest.raises(VadlitError, match=r"training diverged: a loss was NaN/Inf in 2 step\(s\) of epoch 1") as info:
        run(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    assert str(last) in str(info.value), "the message names the last good checkpoint"
    state = torch.load(last, map_location="cpu", weights_only=True)
    assert state["epoch"] == 0, "the diverged epoch wrote no checkpoint"
    assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())
    assert sorted(p.name for p in last.parent.iterdir()) == ["epoch000.ckpt", "last.ckpt"]


def test_skip_policy_skips_and_counts_non_finite_steps(tmp_path, monkeypatch):
    from vadlit.tasks.train import run

    _nan_in_epoch(monkeypatch, batches={1, 3})
    metrics = run(compose_run(tmp_path, TWO_EPOCHS + ["model.on_nonfinite=skip"]))
    assert metrics["training"]["skipped_steps"] == 2 and metrics["auroc"] is not None
    info = json.loads((tmp_path / "run" / "run_info.json").read_text())
    assert info["global_step"] == 2 * (4 - 2), "two optimizer steps per batch, none for the skipped batches"

    _nan_in_epoch(monkeypatch, batches={1, 3})  # a fresh count for the second run
    with pytest.raises(VadlitError, match="more than model.max_skipped_steps=1"):
        run(compose_run(tmp_path / "again", TWO_EPOCHS + ["model.on_nonfinite=skip", "model.max_skipped_steps=1"]))


def test_discriminator_collapse_is_recorded_or_stops_the_run(tmp_path):
    from vadlit.tasks.train import run

    # a threshold above any real D loss makes every epoch count as collapsed
    metrics = run(compose_run(tmp_path, TWO_EPOCHS + ["model.d_collapse_loss=100"]))
    assert metrics["training"]["d_collapse_epochs"] == [0, 1]
    with pytest.raises(VadlitError, match="discriminator collapse in epoch 0"):
        run(compose_run(tmp_path / "stop", TWO_EPOCHS + ["model.d_collapse_loss=100", "model.on_d_collapse=stop"]))


def test_same_seed_and_config_give_the_same_results_twice(tmp_path):
    from vadlit.tasks.train import run

    first = run(compose_run(tmp_path / "a", TINY + ["logger=none"]))
    second = run(compose_run(tmp_path / "b", TINY + ["logger=none"]))
    for record in (first, second):
        record["checkpoint"].pop("path")
    assert first == second
    assert (tmp_path / "a" / "run" / "scores.csv").read_bytes() == (tmp_path / "b" / "run" / "scores.csv").read_bytes()


def test_a_killed_training_resumes_with_ckpt_path_last_to_the_same_step_count(tmp_path):
    from vadlit.tasks.train import run

    overrides = TINY + ["trainer.max_epochs=3", "logger=none", f"paths.log_dir={tmp_path / 'outputs'}"]
    killed = cli("vadlit-train", overrides + ["+callbacks.kill._target_=tests.helpers.callbacks.KillAt", "+callbacks.kill.epoch=2",
                                              "+callbacks.kill.batch=1"], tmp_path)
    assert killed.returncode == -9, killed.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    assert not (run_dir / "metrics.json").exists()
    assert json.loads((run_dir / "run_info.json").read_text())["status"] == "running"

    resumed = cli("vadlit-train", overrides + ["ckpt_path=last"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert [p.name for p in (tmp_path / "outputs" / "train" / "runs").iterdir()] == [run_dir.name], "same folder"
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["status"] == "finished" and info["resumed_from"].endswith("last.ckpt")
    assert (run_dir / "metrics.json").is_file()

    uninterrupted = compose_run(tmp_path / "whole", TINY + ["trainer.max_epochs=3", "logger=none"])
    run(uninterrupted)
    whole = json.loads((tmp_path / "whole" / "run" / "run_info.json").read_text())
    assert info["global_step"] == whole["global_step"] and info["epochs"] == whole["epochs"] == 3


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _refused(proc, *expected: str) -> None:
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("vadlit: error: ")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for text in expected:
        assert text in lines[0], (text, lines[0])


def test_ckpt_path_last_never_continues_or_rewrites_another_models_run(tmp_path):
    overrides = TINY + ["trainer.max_epochs=3", "logger=none", f"paths.log_dir={tmp_path / 'outputs'}"]
    killed = cli("vadlit-train", overrides + ["model=ta8", "+callbacks.kill._target_=tests.helpers.callbacks.KillAt",
                                              "+callbacks.kill.epoch=1"], tmp_path)
    assert killed.returncode == -9, killed.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    before = _files(run_dir)
    _refused(cli("vadlit-train", overrides + ["model=ta1", "ckpt_path=last"], tmp_path), "model=ta1 (was ta8)")
    assert _files(run_dir) == before, "the ta8 run's record is untouched"
    assert [p.name for p in (tmp_path / "outputs" / "train" / "runs").iterdir()] == [run_dir.name]


def test_a_run_killed_before_its_first_checkpoint_is_refused_not_reported_as_an_older_finished_one(tmp_path):
    overrides = TINY + ["trainer.max_epochs=1", "logger=none", f"paths.log_dir={tmp_path / 'outputs'}"]
    assert cli("vadlit-train", overrides, tmp_path).returncode == 0
    killed = cli("vadlit-train", overrides + ["+callbacks.kill._target_=tests.helpers.callbacks.KillAt",
                                              "+callbacks.kill.epoch=0"], tmp_path)
    assert killed.returncode == -9, killed.stderr[-2000:]
    proc = cli("vadlit-train", overrides + ["ckpt_path=last"], tmp_path)
    _refused(proc, "ended before its first checkpoint")
    assert "already finished" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("signal, why", [("SIGTERM", "stopped by SIGTERM"),
                                         pytest.param("SIGINT", "Ctrl-C", marks=pytest.mark.slow)])
def test_a_stopped_run_says_interrupted_and_continues_with_ckpt_path_last(tmp_path, signal, why):
    overrides = TINY + ["trainer.max_epochs=2", "logger=none", f"paths.log_dir={tmp_path / 'outputs'}"]
    stopped = cli("vadlit-train", overrides + ["+callbacks.kill._target_=tests.helpers.callbacks.KillAt",
                                               "+callbacks.kill.epoch=1", f"+callbacks.kill.signal={signal}"], tmp_path)
    assert stopped.returncode != 0 and "Traceback" not in stopped.stderr, stopped.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "train" / "runs").iterdir()
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["status"] == "interrupted" and why in info["error"] and info["end"], info
    resumed = cli("vadlit-train", overrides + ["ckpt_path=last"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((run_dir / "run_info.json").read_text())["status"] == "finished"


def test_ckpt_path_last_without_any_checkpoint_says_so(tmp_path):
    proc = cli("vadlit-train", TINY + ["ckpt_path=last", f"paths.log_dir={tmp_path / 'outputs'}"], tmp_path)
    assert proc.returncode == 2 and "ckpt_path=last: no run under" in proc.stderr and "Traceback" not in proc.stderr


def test_a_checkpoint_write_that_fails_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    """A write that fails half-way (the disk fills) keeps the old checkpoint and leaves no temporary file."""
    import lightning.pytorch as L

    from vadlit import files
    from vadlit.checkpoint_io import AtomicCheckpointIO
    from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule
    from vadlit.tasks.train import run

    cfg = compose_run(tmp_path, TINY + ["logger=none"])
    run(cfg)
    last = Path(cfg.paths.output_dir) / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    trainer = L.Trainer(logger=False, enable_checkpointing=False, plugins=[AtomicCheckpointIO()])
    trainer.strategy.connect(VideoAnomalyModule.from_checkpoint(last))

    def full(fd):  # the bytes reached the temporary file; flushing them to disk fails
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError):
        trainer.save_checkpoint(last)
    monkeypatch.undo()
    assert last.read_bytes() == before
    assert sorted(p.name for p in last.parent.iterdir()) == ["epoch000.ckpt", "last.ckpt"], "no partial file left"


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 8 MB tmpfs (so the run folder and $TMPDIR are different filesystems), when this test
    may mount one (root on Linux); skipped otherwise."""
    import os
    import shutil
    import subprocess

    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_disk_that_fills_up_mid_run_keeps_the_last_good_checkpoint_and_says_so(tmp_path, small_tmpfs):
    """The run folder lives on a small real filesystem that fills up before the second epoch's
    checkpoint: one clear line, exit 2, run_info.json says failed, and last.ckpt is the first epoch's, whole."""
    from vadlit.models.ocr_gan_video.checkpoint import read_checkpoint

    run_dir = small_tmpfs / "run"
    proc = cli("vadlit-train", TINY + ["trainer.max_epochs=2", "logger=none", f"hydra.run.dir={run_dir}",
                                       f"paths.cache_dir={tmp_path / 'cache'}",
                                       "+callbacks.fill._target_=tests.helpers.callbacks.FillDiskAt",
                                       "+callbacks.fill.epoch=1", f"+callbacks.fill.folder={small_tmpfs}"], tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("vadlit: error: ")]
    assert len(lines) == 1 and "no space left on the device" in lines[0], proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert read_checkpoint(last)["epoch"] == 0, "the first epoch's checkpoint, whole and loadable"
    assert not [p.name for p in last.parent.iterdir() if p.name.startswith(".")], "no temporary file left"
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["status"] == "failed" and "No space left" in info["error"]
    assert not (run_dir / "metrics.json").exists()
