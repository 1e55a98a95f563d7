"""Temporal self-attention: each spatial position attends over the T frames of its clip.

This is the block the experiments vary. Attention runs only along time (not space), so its cost is
linear in h*w and it can be dropped into any (B, T, C, h, w) feature map. The number of heads only
changes how the same qkv / output projections are split, so every head count has the same
parameters (and state dicts are interchangeable): a comparison across head counts compares the split,
not the capacity. ``heads = 0`` is the no-attention baseline: an exact identity with no parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn



class TemporalAttention(nn.Module):
    """Pre-norm residual multi-head self-attention over time: ``y = x + proj(attn(norm(x + pos)))``.

    Args:
        dim: channel width C of the features (the token width).
        heads: number of heads; 0 disables the block (identity, no parameters).
        max_len: number of learned temporal positions, i.e. the longest clip accepted.
        dropout: dropout on the attention weights and on the output projection (training only).
    """

    def __init__(self, dim: int, heads: int, max_len: int, dropout: float = 0.0) -> None:
        super().__init__()
        if heads < 0:
            raise ValueError(f"heads={heads} must be >= 0 (0 disables temporal attention)")
        if dim < 1:
            raise ValueError(f"the attention width must be >= 1, got {dim}")
        if heads > 0 and dim % heads != 0:
            raise ValueError(f"heads={heads} must divide the attention width {dim} ({dim} % {heads} = {dim % heads})")
        if max_len < 1:
            raise ValueError(f"max_len={max_len} must be >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout} must lie in [0, 1)")
        self.dim = dim
        self.heads = heads
        self.max_len = max_len
        self.dropout = dropout
        if heads == 0:
            return
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(dropout)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, heads={self.heads}, max_len={self.max_len}, dropout={self.dropout}"

    def forward(
        self, x: torch.Tensor, return_weights: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """x: (B, T, C, h, w) -> y of the same shape; with ``return_weights`` also (B, h*w, heads, T, T)."""
        if self.heads == 0:
            return (x, None) if return_weights else x
        if x.ndim != 5 or x.shape[2] != self.dim:
            raise ValueError(
                f"TemporalAttention(dim={self.dim}) expects (B, T, {self.dim}, h, w), got {tuple(x.shape)}"
            )
        batch, frames, _, height, width = x.shape
        if frames > self.max_len:
            raise ValueError(f"a clip of {frames} frames is longer than max_len={self.max_len}, "
                             f"the number of learned temporal positions")
        tokens = rearrange(x, "b t c h w -> (b h w) t c")
        z = self.norm(tokens + self.pos[:, :frames].to(tokens.dtype))
        qkv = self.qkv(z).reshape(tokens.shape[0], frames, 3, self.heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each (B*h*w, heads, T, d)
        p = self.dropout if self.training else 0.0

        weights = None
        if return_weights:
            # explicit path: softmax in float32 even under autocast, so the weights are exact enough to plot
            with torch.autocast(device_type=x.device.type, enabled=False):
                scores = (q.float() @ k.float().transpose(-2, -1)) * self.scale
                weights = scores.softmax(dim=-1)
            attn = F.dropout(weights, p=p, training=self.training)
            out = attn.to(v.dtype) @ v
        else:
            out = F.scaled_dot_product_attention(q, k, v, dropout_p=p)

        out = rearrange(out, "n heads t d -> n t (heads d)")
        y = tokens + self.proj_drop(self.proj(out))
        y = rearrange(y, "(b h w) t c -> b t c h w", b=batch, h=height, w=width)
        if not return_weights:
            return y
        weights = rearrange(weights, "(b hw) heads t s -> b hw heads t s", b=batch)
        return y, weights


def valid_head_counts(*widths: int, up_to: int = 16) -> list[int]:
    """Head counts (0 included) that divide every width, for error messages."""
    return [0] + [h for h in range(1, up_to + 1) if all(w % h == 0 for w in widths)]

