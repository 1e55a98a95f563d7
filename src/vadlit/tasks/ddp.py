"""Multi-GPU (DDP) runs: children start from the job's saved config, and rank 0 tests on one device."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig


@contextmanager
def ddp_children_from(config_file: Path):
    """Start DDP child processes from this run's saved config instead of the command line.

    Lightning's Hydra support re-runs `sys.argv` in each child: inside a sweep that would launch the
    whole sweep again, and it relies on the working directory. Children started from the resolved
    config of this one job avoid both.
    """
    from lightning.fabric.strategies.launchers import subprocess_script

    original = subprocess_script._hydra_subprocess_cmd

    def command(local_rank: int):
        return [sys.executable, "-m", "vadlit.cli.ddp_child", str(config_file)], os.getcwd()

    subprocess_script._hydra_subprocess_cmd = command
    try:
        yield
    finally:
        subprocess_script._hydra_subprocess_cmd = original


def trainer_after_fit(cfg: DictConfig, trainer: L.Trainer, callbacks: list[Any], loggers: list[Any]) -> L.Trainer | None:
    """The trainer that tests a fitted model: the same one, except after DDP, where the extra processes
    are done (None) and rank 0 gets a single-device trainer (no collective may wait for the finished ranks)."""
    if trainer.world_size <= 1:
        return trainer
    if not trainer.is_global_zero:
        return None
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return instantiate(cfg.trainer, devices=1, strategy="auto", num_nodes=1, logger=loggers or False,
                       callbacks=[c for c in callbacks if not isinstance(c, ModelCheckpoint)])
