"""Two-stream U-Net generator with temporal attention at every encoder level.

One U-Net reconstructs the high-frequency band, another the low-frequency band. After every encoder
level a ChannelSelection re-weights the pair, so the streams share information. Then the two streams'
features of that level are concatenated and attended over time, and what the attention mixed is both
the skip to the decoder and the input of the next level. Attention sits on the skips, not only at the
bottleneck, because the skips carry full-resolution detail straight to the output: a walker moves
under a tenth of a bottleneck cell per frame, so motion is only visible at the shallow levels
(``temporal_levels="bottleneck"`` keeps the older design for comparison). These attention blocks are
the only place where frames of a clip see each other, so with ``heads = 0`` every frame is generated
independently.

For ``predict`` the hidden slot's two bands are replaced by a learned **mask frame** (one learned
image per band): nothing of the hidden frame, and no copy of a neighbour, reaches the generator, so
what it generates in that slot comes from the other frames through the attention alone. A learned
image rather than a constant vector: the decoder's BatchNorm sees only hidden slots, and for the
baseline they are identical in every clip, so a spatially constant token would leave it nothing but
the drift of its running statistics to normalise (the baseline then failed even to learn the mean
frame: validation L1 0.13-0.15 against 0.03 for the mean frame).

Output activations: both streams end in tanh. The low band of a [-1, 1] image lies in [-1, 1]; the
high band ``x - low`` lies in (-2, 2) in principle but in practice well inside (-1, 1). So
``x_hat = high_hat + low_hat`` lies in (-2, 2), which covers the whole image range [-1, 1], and each
stream stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from vadlit.models.components.temporal import temporal_block
from vadlit.models.components.channel_selection import ChannelSelection

MAX_WIDTH_FACTOR = 8  # encoder widths grow as base * 2**i, capped at 8x base


def level_channels(base_channels: int, depth: int) -> list[int]:
    """Encoder width per level: ``base * 2**i`` capped at ``8 * base``."""
    return [base_channels * min(2**i, MAX_WIDTH_FACTOR) for i in range(depth)]


def bottleneck_width(base_channels: int, depth: int) -> int:
    """Width the bottleneck attention sees: both streams' deepest features, concatenated (2 * Cb)."""
    return 2 * level_channels(base_channels, depth)[-1]


def down(in_ch: int, out_ch: int, norm: bool) -> nn.Sequential:
    """Encoder level: Conv 4x4 stride 2 (halves H, W) [+ BatchNorm] + LeakyReLU(0.2)."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def up(in_ch: int, out_ch: int) -> nn.Sequential:
    """Decoder level: ConvTranspose 4x4 stride 2 (doubles H, W) + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class UNetStream(nn.Module):
    """Encoder and decoder of one frequency stream; the two streams are joined by the generator."""

    def __init__(self, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        depth = len(channels)
        self.encoder = nn.ModuleList(
            down(in_channels if i == 0 else channels[i - 1], channels[i], norm=i > 0) for i in range(depth)
        )
        # decoder[j] upsamples level depth-1-j to level depth-2-j; skips double the input width after the first
        self.decoder = nn.ModuleList(
            up(channels[i] * (1 if i == depth - 1 else 2), channels[i - 1]) for i in range(depth - 1, 0, -1)
        )
        self.head = nn.Sequential(
            nn.ConvTranspose2d(channels[0] * (2 if depth > 1 else 1), in_channels, 4, 2, 1),
            nn.Tanh(),
        )

    def decode(self, bottleneck: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """skips: this stream's encoder features of levels 0..depth-2 (CS-weighted)."""
        y = bottleneck
        for block, skip in zip(self.decoder, reversed(skips)):
            y = torch.cat([block(y), skip], dim=1)
        return self.head(y)


TEMPORAL_LEVELS = ("all", "bottleneck")


@dataclass
class GeneratorPass:
    """high_hat, low_hat: decoded bands (B*T', C, H, W), None when only features were asked for;
    attention: bottleneck weights or None; features: per encoder level computed, the attention-mixed
    joint features (B, T, 2*C_i, h_i, w_i)."""

    high_hat: torch.Tensor | None
    low_hat: torch.Tensor | None
    attention: torch.Tensor | None
    features: list[torch.Tensor]


class TwoStreamGenerator(nn.Module):
    """``forward(high, low, batch) -> GeneratorPass`` on flattened frames (B*T, C, H, W).

    Args:
        in_channels: image channels C.
        base_channels: width of the first encoder level (``model.base_channels``).
        depth: number of encoder levels; H, W are divided by 2**depth at the bottleneck.
        heads: bottleneck temporal-attention heads (0 = none); must divide ``2 * Cb``.
        clip_len: longest clip (temporal positions of the attention).
        cs_reduction: MLP reduction of the channel-selection modules.
        attn_dropout: dropout inside the attention blocks.
        temporal_levels: ``"all"`` (attention after every encoder level) or ``"bottleneck"``.
        temporal_mixer: ``"attention"`` or ``"conv"`` (a temporal convolution, see ``temporal.py``).
        mask_frame: (C, H, W) of the frames: replace the last slot's bands by a learned mask frame (predict).
    """

    def __init__(
        self,
        in_channels: int,
        base_channels: int,
        depth: int,
        heads: int,
        clip_len: int,
        cs_reduction: int = 4,
        attn_dropout: float = 0.0,
        temporal_levels: str = "all",
        mask_frame: Sequence[int] | None = None,
        temporal_mixer: str = "attention",
    ) -> None:
        super().__init__()
        if depth < 1 or base_channels < 1:
            raise ValueError(f"depth={depth} and base_channels={base_channels} must both be >= 1")
        if temporal_levels not in TEMPORAL_LEVELS:
            raise ValueError(f"temporal_levels={temporal_levels!r} is not one of {', '.join(TEMPORAL_LEVELS)}")
        self.in_channels = in_channels
        self.depth = depth
        channels = level_channels(base_channels, depth)
        self.channels = channels
        self.high = UNetStream(in_channels, channels)
        self.low = UNetStream(in_channels, channels)
        self.selection = nn.ModuleList(ChannelSelection(c, reduction=cs_reduction) for c in channels)
        self.memory_format = torch.contiguous_format  # the model sets channels_last
        attended = range(depth) if temporal_levels == "all" else [depth - 1]
        self.temporal = nn.ModuleList(
            temporal_block(temporal_mixer, 2 * c, heads if i in attended else 0, clip_len, attn_dropout)
            for i, c in enumerate(channels)
        )
        # the hidden slot's input: a learned image per band, initialised as faint noise
        self.mask_frame = nn.Parameter(0.1 * torch.randn(2, *mask_frame)) if mask_frame else None

    @property
    def attention(self) -> nn.Module:
        """The bottleneck attention block (the one whose weights ``return_attention`` gives)."""
        return self.temporal[-1]

    def _check(self, high: torch.Tensor, low: torch.Tensor, batch: int) -> None:
        if high.shape != low.shape or high.ndim != 4:
            raise ValueError(
                f"high and low must both be (B*T, C, H, W), got {tuple(high.shape)} and {tuple(low.shape)}"
            )
        if batch < 1 or high.shape[0] % batch:
            raise ValueError(f"{high.shape[0]} frames cannot be split into batch={batch} clips")
        factor = 2**self.depth
        if any(side % factor or side < 2 * factor for side in high.shape[-2:]):
            raise ValueError(f"frames of {tuple(high.shape[-2:])} do not halve {self.depth} times to at least 2x2")

    def encode(
        self, high: torch.Tensor, low: torch.Tensor, batch: int, levels: int | None = None,
        return_attention: bool = False,
    ) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        """The attention-mixed joint features (B, T, 2*C_i, h_i, w_i) of the first ``levels`` encoder
        levels (all by default), and the bottleneck attention weights when asked for and reached."""
        self._check(high, low, batch)
        h, l = high, low
        if self.mask_frame is not None:
            def masked(t: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
                t = t.view(batch, -1, *t.shape[1:])
                hidden = band.to(t.dtype).expand(batch, 1, *band.shape)
                return torch.cat([t[:, :-1], hidden], dim=1).flatten(0, 1).contiguous(memory_format=self.memory_format)

            h, l = masked(h, self.mask_frame[0]), masked(l, self.mask_frame[1])
        features = []
        attn = None
        levels = self.depth if levels is None else levels
        for level, (enc_h, enc_l, select, temporal) in enumerate(
            zip(self.high.encoder[:levels], self.low.encoder[:levels], self.selection, self.temporal)
        ):
            h, l = select(enc_h(h), enc_l(l))
            joint = torch.cat([h, l], dim=1)
            joint = joint.view(batch, joint.shape[0] // batch, *joint.shape[1:])
            if return_attention and level == self.depth - 1:
                joint, attn = temporal(joint, return_weights=True)
            else:
                joint = temporal(joint)
            features.append(joint)
            h, l = joint.flatten(0, 1).chunk(2, dim=1)
        return features, attn

    def forward(
        self, high: torch.Tensor, low: torch.Tensor, batch: int, return_attention: bool = False,
        last_only: bool = False, levels: int | None = None,
    ) -> GeneratorPass:
        """``last_only``: decode only the last slot of each clip (the one predict judges); the
        decoder is per frame, so the other slots' outputs would be computed for nothing.
        ``levels``: run only the first ``levels`` encoder levels and decode nothing (a score that
        reads features only). One entry point for both, so ``model.compile`` compiles both."""
        if levels is not None:
            features, attn = self.encode(high, low, batch, levels=levels, return_attention=return_attention)
            return GeneratorPass(None, None, attn, features)
        features, attn = self.encode(high, low, batch, return_attention=return_attention)
        streams = [f.flatten(0, 1).chunk(2, dim=1) for f in features]
        if last_only:
            streams = [f[:, -1].chunk(2, dim=1) for f in features]
        skips_h, skips_l = [s[0] for s in streams], [s[1] for s in streams]
        high_hat = self.high.decode(skips_h[-1], skips_h[:-1])
        low_hat = self.low.decode(skips_l[-1], skips_l[:-1])
        return GeneratorPass(high_hat, low_hat, attn, features)
