"""Figures and images to whichever loggers a run has: TensorBoard, CSV, Weights & Biases, MLflow.

Lightning's logger API carries metrics and hyper-parameters, not figures, and each backend takes
them its own way, so this is the one place that knows how: TensorBoard `add_figure`/`add_image`,
W&B `log_image`, MLflow `log_figure`/`log_image` (artifacts `figures/<tag>/step<step>.png`), and for
the CSV logger PNG files beside its metrics.csv (`figures/<tag>/step<step>.png`). Every callback
that draws goes through `log_figure` / `log_image`, so any logger config gets the same figures.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger, TensorBoardLogger, WandbLogger

from vadlit.files import atomic_write, save_figure

FIGURE_LOGGERS = (TensorBoardLogger, CSVLogger, WandbLogger, MLFlowLogger)


def log_step(trainer: L.Trainer) -> int:
    """The x-axis of the scalars Lightning logs: the batches trained so far. Not `global_step`, which
    counts optimizer steps, two per batch here (G and D): a figure logged at it would sit at twice
    its losses' step. Lightning keeps this count on its fit loop and has no public name for it."""
    loop = getattr(getattr(trainer, "fit_loop", None), "epoch_loop", None)
    return int(getattr(loop, "_batches_that_stepped", trainer.global_step))


def figure_loggers(trainer: L.Trainer) -> list:
    """The run's loggers that take figures (on rank 0 only: one copy of each figure)."""
    if not getattr(trainer, "is_global_zero", True):
        return []
    return [logger for logger in trainer.loggers if isinstance(logger, FIGURE_LOGGERS)]


def _file_name(tag: str, step: int) -> str:
    return f"figures/{tag}/step{step:07d}.png"


def log_figure(trainer: L.Trainer, tag: str, fig) -> None:
    """A matplotlib figure, as ``tag`` at the scalars' step, to every logger that takes figures."""
    step = log_step(trainer)
    for logger in figure_loggers(trainer):
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_figure(tag, fig, step, close=False)
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=tag, images=[fig], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_figure(logger.run_id, fig, _file_name(tag, step))
        else:  # CSV: a PNG beside metrics.csv
            save_figure(fig, Path(logger.log_dir) / _file_name(tag, step))


def log_image(trainer: L.Trainer, tag: str, image: torch.Tensor) -> None:
    """A (3, H, W) image in [0, 1], as ``tag`` at the scalars' step, to every logger that takes images."""
    step = log_step(trainer)
    loggers = figure_loggers(trainer)
    pixels = (image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image(tag, image, step)
        elif isinstance(logger, WandbLogger):
            logger.log_image(key=tag, images=[pixels], step=step)
        elif isinstance(logger, MLFlowLogger):
            logger.experiment.log_image(logger.run_id, pixels, _file_name(tag, step))
        else:
            from PIL import Image

            def write(f) -> None:
                Image.fromarray(pixels).save(f, format="png")

            atomic_write(Path(logger.log_dir) / _file_name(tag, step), write)
