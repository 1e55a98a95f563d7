"""One line per training epoch in the run's log, and on stdout through Hydra's console handler.

A rich progress bar draws nothing when stdout is not a terminal (nohup, CI, SLURM), so without this
a redirected run says nothing until it ends. Each line: the epoch's mean G and D losses, the
validation loss that picks the checkpoint (and the best so far), the epoch's seconds and the time
left at that pace.
"""

from __future__ import annotations

import logging
import time

import lightning.pytorch as L

log = logging.getLogger("vadlit.progress")


def duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s`, `1 h 12 min`."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class EpochLog(L.Callback):
    """Logs ``epoch e/E: G …, D …, <monitor> … (best …), … s/epoch, ETA …`` after each epoch."""

    def __init__(self, monitor: str = "val/con_loss"):
        self.monitor = monitor
        self._start: float | None = None
        self._best: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.monotonic()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero or self._start is None:
            return
        metrics = trainer.callback_metrics
        seconds = time.monotonic() - self._start
        epoch, total = trainer.current_epoch + 1, trainer.max_epochs
        parts = []
        for name, key in (("G", "train/g_loss_epoch"), ("D", "train/d_loss_epoch")):
            if key in metrics:
                parts.append(f"{name} {float(metrics[key]):.4g}")
        if self.monitor in metrics:
            value = float(metrics[self.monitor])
            self._best = value if self._best is None else min(self._best, value)
            parts.append(f"{self.monitor} {value:.4g} (best {self._best:.4g})")
        parts.append(f"{seconds:.1f} s/epoch")
        if total and total > 0 and epoch < total:
            parts.append(f"ETA {duration(seconds * (total - epoch))}")
        log.info("epoch %s: %s", f"{epoch}/{total}" if total and total > 0 else epoch, ", ".join(parts))
