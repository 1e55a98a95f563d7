"""Omni-frequency decomposition: split each frame into a high- and a low-frequency part.

OCR-GAN reconstructs the two bands with separate streams, because anomalies tend to show up in one
band (texture, edges) more than the other (shape, illumination). A one-level Laplacian pyramid gives
an exact split (``high + low == x``) with a fixed kernel, so the decomposition has nothing to learn
and nothing to drift during training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def binomial_kernel(size: int = 5) -> torch.Tensor:
    """A normalised 2-D binomial (Gaussian-like) kernel, e.g. [1, 4, 6, 4, 1]^T [1, 4, 6, 4, 1] / 256."""
    row = torch.tensor([1.0])
    for _ in range(size - 1):
        row = torch.cat([row, torch.zeros(1)]) + torch.cat([torch.zeros(1), row])
    kernel = torch.outer(row, row)
    return kernel / kernel.sum()


class OmniFrequency(nn.Module):
    """``forward(x: (N, C, H, W)) -> (high, low)`` with ``low = up(blur_down(x))`` and ``high = x - low``.

    The blur is a fixed 5x5 binomial kernel (a non-persistent buffer: it is a constant, not state),
    applied per channel with reflect padding and stride 2, then bilinearly resized back to (H, W).
    Any H, W work, odd ones included. The split runs outside autocast in x's own dtype, so
    ``high + low`` reproduces x to float rounding even inside a mixed-precision step.
    """

    def __init__(self, kernel_size: int = 5) -> None:
        super().__init__()
        if kernel_size < 3 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be an odd integer >= 3, got {kernel_size}")
        self.kernel_size = kernel_size
        self.register_buffer("kernel", binomial_kernel(kernel_size)[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4:
            raise ValueError(f"OmniFrequency expects (N, C, H, W), got shape {tuple(x.shape)}")
        _, channels, height, width = x.shape
        pad = self.kernel_size // 2
        # reflect padding needs the side to be longer than the pad; tiny frames fall back to replicate
        mode = "reflect" if min(height, width) > pad else "replicate"
        with torch.autocast(device_type=x.device.type, enabled=False):
            kernel = self.kernel.to(device=x.device, dtype=x.dtype).expand(channels, 1, -1, -1)
            padded = F.pad(x, (pad, pad, pad, pad), mode=mode)
            down = F.conv2d(padded, kernel, stride=2, groups=channels)
            low = F.interpolate(down, size=(height, width), mode="bilinear", align_corners=False)
            high = x - low
        return high, low
