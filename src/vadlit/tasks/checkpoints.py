"""The run's checkpoints: which one a run resumes from and which one it tests, the record of that
choice in metrics.json, and the score reference stored with the tested weights."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as L
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.checkpoint import read_checkpoint, store_reference
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

log = logging.getLogger(__name__)

CHECKPOINT_RULE = "lowest {monitor} on held-out normal training videos (label-free; the test set chooses nothing)"


def last_checkpoint(out_dir: Path) -> Path:
    return out_dir / "checkpoints" / "last.ckpt"


def checkpoint_callback(callbacks: list[Any]) -> ModelCheckpoint | None:
    return next((c for c in callbacks if isinstance(c, ModelCheckpoint)), None)


def resume_checkpoint(cfg: DictConfig, out_dir: Path) -> str | None:
    """The run folder's last.ckpt when training continues there, else None."""
    ckpt_path = cfg.get("ckpt_path")
    last = last_checkpoint(out_dir)
    # ckpt_path=last (the run folder is already the newest one with a last.ckpt) or resume=true in a sweep
    if cfg.get("train", True) and (ckpt_path == "last" or (cfg.get("resume") and not ckpt_path and last.is_file())):
        if not last.is_file():
            raise ConfigError(f"ckpt_path=last: no run under {out_dir.parent} has a checkpoints/last.ckpt to resume "
                              "from; start a new run without ckpt_path")
        log.info("resume: continuing %s from %s", out_dir, last)
        return str(last)
    return None


def selected_checkpoint(callback: ModelCheckpoint | None, trainer: L.Trainer, out_dir: Path) -> str:
    """The checkpoint a trained run tests: the one chosen on validation (or the last one)."""
    ckpt_path = (callback.best_model_path or callback.last_model_path) if callback else None
    if not ckpt_path:  # no checkpointing configured: test the weights in memory, but say so
        ckpt_path = str(out_dir / "checkpoints" / "final.ckpt")
        trainer.save_checkpoint(ckpt_path)
    return ckpt_path


def checkpoint_record(callback: ModelCheckpoint | None, ckpt_path: str | None, cfg: DictConfig) -> dict:
    record: dict[str, Any] = {"path": ckpt_path}
    if cfg.get("train", True) and callback is not None and callback.monitor and callback.best_model_path:
        score = callback.best_model_score
        record.update(
            selected_by=CHECKPOINT_RULE.format(monitor=callback.monitor),
            monitor=callback.monitor,
            value=None if score is None else float(score),
        )
    elif cfg.get("train", True):
        record["selected_by"] = "last checkpoint (no validation metric to choose by)"
    else:
        record["selected_by"] = "given on the command line (ckpt_path)"
    if ckpt_path:
        state = read_checkpoint(ckpt_path)
        record.update(epoch=state.get("epoch"), global_step=state.get("global_step"))
    return record


def store_tested_reference(tested: str, last: Path, model: VideoAnomalyModule) -> None:
    """The score's reference fitted for the tested weights goes into their checkpoint, and into
    ``last.ckpt`` when that holds the same weights (the same optimizer step)."""
    store_reference(tested, model)
    if last.is_file() and Path(tested).resolve() != last.resolve():
        step = read_checkpoint(tested).get("global_step")
        if read_checkpoint(last).get("global_step") == step:
            store_reference(last, model)
