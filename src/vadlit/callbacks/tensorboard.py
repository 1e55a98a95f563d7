"""Finding the TensorBoard writer among the trainer's loggers (there may be none), and the step to log at."""

from __future__ import annotations

import lightning.pytorch as L
from lightning.pytorch.loggers import TensorBoardLogger


def tensorboard_writer(trainer: L.Trainer):
    """The SummaryWriter of the first TensorBoard logger, or None when TensorBoard is off."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def log_step(trainer: L.Trainer) -> int:
    """The x-axis of the scalars Lightning logs: the batches trained so far. Not `global_step`, which
    counts optimizer steps, two per batch here (G and D): a figure logged at it would sit at twice
    its losses' step. Lightning keeps this count on its fit loop and has no public name for it."""
    loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
    return int(getattr(loop, "_batches_that_stepped", trainer.global_step))
