"""Image grids of input, reconstruction and error map, logged at a bounded rate."""

from __future__ import annotations

import lightning.pytorch as L
import torch
from einops import rearrange

from vadlit.callbacks.figures import figure_loggers, log_image


def clip_grid(x: torch.Tensor, x_hat: torch.Tensor, max_clips: int = 2) -> torch.Tensor:
    """(B, T, C, H, W) clips in [-1, 1] -> one (3, rows*H, T*W) image in [0, 1].

    Rows per clip: input, reconstruction, error map |x - x_hat| (scaled to the clip's max).
    """
    x, x_hat = x[:max_clips].detach().float().cpu(), x_hat[:max_clips].detach().float().cpu()
    if x.shape[2] == 1:
        x, x_hat = x.expand(-1, -1, 3, -1, -1), x_hat.expand(-1, -1, 3, -1, -1)
    err = (x - x_hat).abs().mean(dim=2, keepdim=True)
    err = err / err.amax(dim=(1, 2, 3, 4), keepdim=True).clamp_min(1e-8)
    heat = torch.cat([err, err.pow(2), torch.zeros_like(err)], dim=2)  # black -> red -> yellow
    rows = torch.stack([(x + 1) / 2, ((x_hat + 1) / 2).clamp(0, 1), heat], dim=1)  # (B, 3 rows, T, C, H, W)
    return rearrange(rows, "b r t c h w -> c (b r h) (t w)")


class ReconstructionGrid(L.Callback):
    """Logs the first validation batch as input / reconstruction / error rows (what training learns;
    after testing, `anomaly_maps.AnomalyMapOverlays` shows anomalous frames instead)."""

    def __init__(self, every_n_epochs: int = 1, max_clips: int = 2):
        self.every_n_epochs, self.max_clips = max(1, every_n_epochs), max_clips

    def _log(self, trainer: L.Trainer, tag: str, outputs) -> None:
        if not figure_loggers(trainer) or not isinstance(outputs, dict) or "x_hat" not in outputs:
            return
        log_image(trainer, tag, clip_grid(outputs["x"], outputs["x_hat"], self.max_clips))

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0):
        if batch_idx == 0 and not trainer.sanity_checking and trainer.current_epoch % self.every_n_epochs == 0:
            self._log(trainer, "val/reconstruction", outputs)
