"""Per-frame DCGAN discriminator with temporal attention over its features.

Frames are encoded independently down to a 4-pixel (smaller) side and projected to ``nz`` channels;
temporal attention then lets each frame's features see the rest of the clip before a real/fake logit
is taken per frame. The attended features double as the embedding for the feature-matching loss and
for the anomaly score, so "normal" means normal *in the context of its clip*.
"""

from __future__ import annotations

from typing import Sequence

import torch
from einops import rearrange
from torch import nn

from vadlit.image_size import as_size
from vadlit.models.components.temporal import temporal_block
from vadlit.models.ocr_gan_video.generator import MAX_WIDTH_FACTOR

FEATURE_SIDE = 4  # the encoder halves the frame until its smaller side is this


def discriminator_levels(image_size: int | Sequence[int]) -> int:
    """Number of stride-2 layers taking the smaller side to 4; the larger side must divide evenly."""
    height, width = as_size(image_size)
    short = min(height, width)
    levels = 0
    while short > FEATURE_SIDE and short % 2 == 0:
        short //= 2
        levels += 1
    if levels < 1 or short != FEATURE_SIDE or max(height, width) % 2**levels:
        raise ValueError(f"image_size=({height}, {width}): the smaller side must be {FEATURE_SIDE} * 2**k (k >= 1) "
                         f"and the larger a multiple of 2**k")
    return levels


class Discriminator(nn.Module):
    """``forward(x: (B, T, C, H, W)) -> (logits (B, T), features (B, T, nz, h, w), attn | None)``.

    Args:
        in_channels: image channels C.
        image_size: int or (H, W); fixes the logit kernel (h, w) = (H, W) / 2**k.
        base_channels: width of the first layer; doubles per layer, capped at 8x.
        nz: feature width; a multiple of 8 so 1, 2, 4 and 8 heads all divide it.
        heads: temporal-attention heads over the features (0 = none).
        clip_len: longest clip (temporal positions of the attention).
        attn_dropout: dropout inside the attention block.
    """

    def __init__(
        self,
        in_channels: int,
        image_size: int | Sequence[int],
        base_channels: int,
        nz: int,
        heads: int,
        clip_len: int,
        attn_dropout: float = 0.0,
        temporal_mixer: str = "attention",
    ) -> None:
        super().__init__()
        if nz < 1 or base_channels < 1:
            raise ValueError(f"nz={nz} and base_channels={base_channels} must both be >= 1")
        self.image_size = as_size(image_size)
        self.in_channels = in_channels
        self.nz = nz
        levels = discriminator_levels(self.image_size)
        self.feature_size = (self.image_size[0] // 2**levels, self.image_size[1] // 2**levels)

        layers: list[nn.Module] = []
        in_ch = in_channels
        for i in range(levels):
            out_ch = base_channels * min(2**i, MAX_WIDTH_FACTOR)
            layers.append(nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        layers.append(nn.Conv2d(in_ch, nz, 1))
        self.encoder = nn.Sequential(*layers)
        self.attention = temporal_block(temporal_mixer, nz, heads, clip_len, attn_dropout)
        self.classifier = nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(nz, 1, self.feature_size))
        self.memory_format = torch.contiguous_format  # the model sets channels_last

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Per-frame features before any temporal mixing: (B, T, C, H, W) -> (B, T, nz, h, w).

        Separate from ``judge`` so that a clip differing from another in one frame (predict's fake
        clip: real history + one generated frame) encodes only that frame again.
        """
        if x.ndim != 5 or x.shape[2] != self.in_channels or tuple(x.shape[-2:]) != self.image_size:
            raise ValueError(
                f"Discriminator expects (B, T, {self.in_channels}, {self.image_size[0]}, {self.image_size[1]}), "
                f"got {tuple(x.shape)}"
            )
        batch = x.shape[0]
        features = self.encoder(x.flatten(0, 1).contiguous(memory_format=self.memory_format))
        return rearrange(features, "(b t) c h w -> b t c h w", b=batch)

    def judge(
        self, features: torch.Tensor, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Encoded frames -> (logits (B, T), attention-mixed features (B, T, nz, h, w), attn | None)."""
        batch = features.shape[0]
        if return_attention:
            features, attn = self.attention(features, return_weights=True)
        else:
            features, attn = self.attention(features), None
        logits = self.classifier(features.flatten(0, 1)).view(batch, -1)
        return logits, features, attn

    def forward(
        self, x: torch.Tensor, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        return self.judge(self.encode(x), return_attention=return_attention)
