"""Temporal mixers: the blocks through which the frames of a clip see each other.

The ablation asks what temporal *attention* adds. A temporal convolution of (nearly) the same
parameter budget mixes time too, but with fixed, content-independent weights over a short window;
a variant built with it tells "attention helps" apart from "any temporal mixing helps".
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from vadlit.models.components.attention import TemporalAttention

MIXERS = ("attention", "conv")
CONV_KERNEL = 3  # 3 taps x C x C weights + the C x C output projection: attention's 4 C^2


class TemporalConv(nn.Module):
    """Pre-norm residual temporal convolution: ``y = x + proj(conv_t(norm(x + pos)))``.

    Same interface, positions, norm and output projection as ``TemporalAttention``; the q/k/v
    projections (3 C^2) are replaced by a C -> C convolution over ``CONV_KERNEL`` frames (3 C^2), so
    the two differ by 2 C bias parameters. Zero padding at the clip's ends.
    """

    def __init__(self, dim: int, max_len: int, dropout: float = 0.0) -> None:
        super().__init__()
        if max_len < 1:
            raise ValueError(f"max_len={max_len} must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must lie in [0, 1)")
        self.dim, self.max_len = dim, max_len
        self.heads = 1  # not the identity; kept so code that reads .heads sees a temporal block
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv1d(dim, dim, CONV_KERNEL, padding=CONV_KERNEL // 2)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, return_weights: bool = False):
        """x: (B, T, C, h, w) -> y of the same shape; ``return_weights`` gives (y, None): no weights."""
        if x.ndim != 5 or x.shape[2] != self.dim:
            raise ValueError(f"TemporalConv(dim={self.dim}) expects (B, T, {self.dim}, h, w), got {tuple(x.shape)}")
        batch, frames, _, height, width = x.shape
        if frames > self.max_len:
            raise ValueError(f"a clip of {frames} frames is longer than max_len={self.max_len}")
        tokens = rearrange(x, "b t c h w -> (b h w) t c")
        z = self.norm(tokens + self.pos[:, :frames].to(tokens.dtype))
        mixed = self.conv(z.transpose(1, 2)).transpose(1, 2)
        y = tokens + self.proj_drop(self.proj(mixed))
        y = rearrange(y, "(b h w) t c -> b t c h w", b=batch, h=height, w=width)
        return (y, None) if return_weights else y


def temporal_block(mixer: str, dim: int, heads: int, max_len: int, dropout: float = 0.0) -> nn.Module:
    """The temporal block of one layer: attention with ``heads`` heads (0: the identity), or a
    temporal convolution (any ``heads`` > 0; 0 is still the identity, the baseline)."""
    if mixer not in MIXERS:
        raise ValueError(f"mixer={mixer!r} is not one of {', '.join(MIXERS)}")
    if mixer == "conv" and heads > 0:
        return TemporalConv(dim, max_len, dropout)
    return TemporalAttention(dim, heads, max_len=max_len, dropout=dropout)
