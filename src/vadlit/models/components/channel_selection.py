"""Channel selection: let the two frequency streams compete for each channel at one encoder level.

Selective-kernel style (Li et al., 2019; the "CS" module of OCR-GAN): a global summary of both
streams decides, per channel, how much of the high- and of the low-frequency feature to keep. The two
weights of a channel sum to 1, so the streams exchange information without either one being able to
take over the whole representation.
"""

from __future__ import annotations

import torch
from torch import nn



class ChannelSelection(nn.Module):
    """``forward(h, l) -> (h * a_h, l * a_l)`` with ``(a_h, a_l) = softmax_stream(MLP(GAP(h + l)))``.

    Args:
        channels: C of both inputs (N, C, H, W).
        reduction: hidden width of the MLP is ``max(C // reduction, min_hidden)``.
        min_hidden: floor on the hidden width, so narrow levels keep a useful bottleneck.
    """

    def __init__(self, channels: int, reduction: int = 4, min_hidden: int = 8) -> None:
        super().__init__()
        if reduction < 1:
            raise ValueError(f"reduction={reduction} must be >= 1")
        self.channels = channels
        hidden = max(channels // reduction, min_hidden)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * channels),
        )

    def forward(self, high: torch.Tensor, low: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        summary = (high + low).mean(dim=(2, 3))  # (N, C)
        logits = self.fc(summary).view(-1, 2, self.channels)
        weights = logits.softmax(dim=1)[..., None, None].to(high.dtype)  # (N, 2, C, 1, 1)
        return high * weights[:, 0], low * weights[:, 1]
