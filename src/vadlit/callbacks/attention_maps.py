"""Attention heatmaps per head for the run's loggers, for a fixed set of normal and anomalous clips.

The clips are picked once (evenly spread over the test clips of each class, or held-out normal clips
when the test set has no labels) and shown again every ``every_n_epochs`` validations and after
testing, so a run's dashboard shows how each head's pattern forms during training. Showing test clips
selects nothing: no checkpoint or threshold depends on them.
"""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np
import torch

from vadlit.analysis.attention_stats import maps_figure, mean_maps
from vadlit.analysis.probe import attention_weights, clip_kind
from vadlit.callbacks.figures import figure_loggers, log_figure, log_step
from vadlit.data.source import NORMAL
from vadlit.errors import VadlitError
from vadlit.models.ocr_gan_video.lightning_model import to_unit_range


def evenly(indices: list[int], k: int) -> list[int]:
    """k items spread evenly over ``indices`` (all of them when there are fewer)."""
    if len(indices) <= k:
        return list(indices)
    return [indices[int(i)] for i in np.linspace(0, len(indices) - 1, k).round()]


def fixed_clips(datamodule, per_class: int) -> tuple[torch.Tensor, list[str]]:
    """uint8 clips (N, T, C, H, W) and a title for each: ``per_class`` normal and anomalous test clips."""
    try:
        datamodule.setup("test")
        dataset = datamodule.test_dataloader().dataset
        labelled = bool(dataset.windows) and all(v.labels is not None for v in dataset.videos)
    except VadlitError:
        labelled = False
    if not labelled:  # no ground truth to choose anomalous clips by: held-out normal clips
        datamodule.setup("fit")
        dataset = datamodule.val_dataloader().dataset
    clip_len = datamodule.clip_len
    kinds = {}
    for i, (v, start) in enumerate(dataset.windows):
        video = dataset.videos[v]
        frames = np.arange(start, start + clip_len)
        kinds[i] = NORMAL if not labelled else clip_kind(video.labels, video.kinds, frames)
    chosen = evenly([i for i, k in kinds.items() if k == NORMAL], per_class)
    chosen += evenly([i for i, k in kinds.items() if k != NORMAL], per_class)
    clips, titles = [], []
    for i in chosen:
        v, start = dataset.windows[i]
        clips.append(dataset[i]["clip"])
        label = "normal" if kinds[i] == NORMAL else f"anomalous ({kinds[i]})"
        titles.append(f"{label}\n{dataset.videos[v].name} @{start + 1}")
    return torch.stack(clips), titles


class AttentionMaps(L.Callback):
    """Logs ``attention/<layer>`` (and ``test/attention/<layer>``): heads as rows, fixed clips as columns."""

    def __init__(self, every_n_epochs: int = 2, clips_per_class: int = 2):
        self.every_n_epochs, self.clips_per_class = max(1, every_n_epochs), max(1, clips_per_class)
        self._fixed: tuple[torch.Tensor, list[str]] | None = None

    def _log(self, trainer: L.Trainer, pl_module, prefix: str) -> None:
        if not figure_loggers(trainer) or int(pl_module.hparams.heads) == 0:
            return
        if self._fixed is None:
            self._fixed = fixed_clips(trainer.datamodule, self.clips_per_class)
        clips, titles = self._fixed
        was_training = pl_module.training
        pl_module.eval()
        try:
            weights = attention_weights(pl_module.net, to_unit_range(clips.to(pl_module.device)))
        finally:
            pl_module.train(was_training)
        for layer, w in weights.items():
            maps = mean_maps(w).numpy()
            fig, _ = maps_figure({t: m for t, m in zip(titles, maps)},
                                 f"{layer} attention (mean over positions), step {log_step(trainer)}")
            log_figure(trainer, f"{prefix}attention/{layer}", fig)

    def on_validation_end(self, trainer: L.Trainer, pl_module) -> None:
        if not trainer.sanity_checking and trainer.current_epoch % self.every_n_epochs == 0:
            self._log(trainer, pl_module, "")

    def on_predict_end(self, trainer: L.Trainer, pl_module) -> None:  # a test is the predict loop
        self._log(trainer, pl_module, "test/")
