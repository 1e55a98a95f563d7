"""TensorBoard's CUSTOM SCALARS tab: the charts a GAN run is read by, on one screen.

The SCALARS tab lists every tag alphabetically, one chart each; this layout puts the generator and
discriminator losses in one chart (their balance is what to watch) and the validation loss that
picks the checkpoint in another, whatever other tags a run logs. That chart also draws the lowest
validation loss so far (``<monitor>_best``, logged by this callback to every logger): a step line
that touches the validation curve where a checkpoint was kept, the last touch being the tested one.
"""

from __future__ import annotations

import lightning.pytorch as L

from vadlit.callbacks.figures import log_step
from vadlit.callbacks.tensorboard import tensorboard_writer


def best_tag(monitor: str) -> str:
    return f"{monitor}_best"


def layout(monitor: str) -> dict:
    return {
        "training": {
            "G and D losses (epoch means)": ["Multiline", ["train/g_loss_epoch", "train/d_loss_epoch"]],
            "G loss terms (epoch means)": ["Multiline", [r"train/(adv|con|lat)_loss_epoch"]],
        },
        "validation": {
            f"{monitor} and its lowest so far (the last touch is the tested checkpoint)":
                ["Multiline", [monitor, best_tag(monitor)]],
        },
        "test": {"headline metrics": ["Multiline", [r"test/(auroc|auroc_macro|ap)$"]]},
    }


class DashboardLayout(L.Callback):
    """Writes the layout once, when training starts, and logs the lowest validation loss so far."""

    def __init__(self, monitor: str = "val/con_loss"):
        self.monitor = monitor
        self.best: float | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # after the epoch's validation loss is reduced, beside ModelCheckpoint, with the same rule as
        # its mode="min"; at the step Lightning logs that loss at, so the two lines meet
        value = trainer.callback_metrics.get(self.monitor)
        if trainer.sanity_checking or value is None:
            return
        self.best = float(value) if self.best is None else min(self.best, float(value))
        if trainer.is_global_zero:
            for logger in trainer.loggers:
                logger.log_metrics({best_tag(self.monitor): self.best}, step=log_step(trainer))

    def state_dict(self) -> dict:  # a resumed run goes on from the lowest loss before it stopped
        return {"best": self.best}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best = state_dict.get("best")

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None and trainer.is_global_zero:
            writer.add_custom_scalars(layout(self.monitor))
