"""Finding the TensorBoard writer among the trainer's loggers (there may be none): for what only
TensorBoard has (the custom-scalars layout); figures go through `figures`."""

from __future__ import annotations

import lightning.pytorch as L
from lightning.pytorch.loggers import TensorBoardLogger


def tensorboard_writer(trainer: L.Trainer):
    """The SummaryWriter of the first TensorBoard logger, or None when TensorBoard is off."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None

