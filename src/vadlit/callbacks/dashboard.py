"""TensorBoard's CUSTOM SCALARS tab: the charts a GAN run is read by, on one screen.

The SCALARS tab lists every tag alphabetically, one chart each; this layout puts the generator and
discriminator losses in one chart (their balance is what to watch) and the validation loss that
picks the checkpoint in another, whatever other tags a run logs.
"""

from __future__ import annotations

import lightning.pytorch as L

from vadlit.callbacks.tensorboard import tensorboard_writer


def layout(monitor: str) -> dict:
    return {
        "training": {
            "G and D losses (epoch means)": ["Multiline", ["train/g_loss_epoch", "train/d_loss_epoch"]],
            "G loss terms (epoch means)": ["Multiline", [r"train/(adv|con|lat)_loss_epoch"]],
        },
        "validation": {
            f"{monitor} (the lowest picks the tested checkpoint)": ["Multiline", [monitor]],
        },
        "test": {"headline metrics": ["Multiline", [r"test/(auroc|auroc_macro|ap)$"]]},
    }


class DashboardLayout(L.Callback):
    """Writes the layout once, when training starts."""

    def __init__(self, monitor: str = "val/con_loss"):
        self.monitor = monitor

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        writer = tensorboard_writer(trainer)
        if writer is not None and trainer.is_global_zero:
            writer.add_custom_scalars(layout(self.monitor))
