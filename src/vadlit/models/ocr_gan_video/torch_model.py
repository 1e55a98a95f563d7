"""OCR-GAN Video: omni-frequency, channel-selection GAN with temporal attention, for whole clips.

The model reconstructs (``objective="reconstruct"``) every frame of a clip, or predicts
(``objective="predict"``) its last frame from the others. A frame it cannot rebuild well, or whose
rebuilt version the discriminator embeds far from the real one, is scored as anomalous. This module
is plain torch: the training loop (losses, optimisers) lives elsewhere and only uses the methods here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from vadlit.image_size import as_size
from vadlit.models.ocr_gan_video.discriminator import Discriminator
from vadlit.models.components.frequency import OmniFrequency
from vadlit.models.ocr_gan_video.generator import TwoStreamGenerator

OBJECTIVES = ("reconstruct", "predict")


@dataclass
class GeneratorOutput:
    """Everything ``generate`` computes.

    x_hat, high_hat, low_hat: (B, T', C, H, W), the target frames only (T' = T for reconstruct, 1
    for predict). high/low: (B, T, C, H, W), the frequency bands of the generator *input* (for
    predict, the clip with its last frame blanked). attention: bottleneck weights (B, hb*wb, heads,
    T, T), or None. features: the generator's attention-mixed features per encoder level.
    """

    x_hat: torch.Tensor
    high: torch.Tensor
    low: torch.Tensor
    high_hat: torch.Tensor
    low_hat: torch.Tensor
    attention: torch.Tensor | None = None
    features: list[torch.Tensor] = field(default_factory=list)


@dataclass
class Evidence:
    """What the score of each target frame is made of: an error map (B, T', H, W), the
    attention-mixed features (B, T', C, h, w) that the one-class memory judges, and those the
    playback head reads; each None when the score does not take its term (``scored_evidence``).
    shape: (B, T', H, W) of the judged frames, whatever was computed."""

    error: torch.Tensor | None
    features: torch.Tensor | None
    motion_features: torch.Tensor | None
    shape: torch.Size


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation (N(0, 0.02) convs, N(1, 0.02) BatchNorm scales) for the conv/BN layers only."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class OCRGANVideo(nn.Module):
    """The whole model: ``decompose`` (OmniFrequency), ``generator`` and ``discriminator``.

    Plain torch: it knows nothing of configs (`hparams.py` checks them before it is built).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        image_size: int | Sequence[int],
        clip_len: int,
        heads: int,
        objective: str,
        base_channels: int,
        depth: int,
        nz: int,
        d_base_channels: int,
        cs_reduction: int,
        attn_dropout: float,
        channels_last: bool,
        temporal_levels: str,
        temporal_mixer: str,
    ) -> None:
        """The arguments and their defaults are `hparams.HParams` (``OCRGANVideo(**hp.network())``),
        which checks them against each other with messages naming the config keys."""
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"objective={objective!r} is not one of {', '.join(OBJECTIVES)}")
        self.in_channels = in_channels
        self.image_size = as_size(image_size)
        self.clip_len = clip_len
        self.heads = heads
        self.objective = objective
        self.decompose = OmniFrequency()
        self.generator = TwoStreamGenerator(
            in_channels, base_channels, depth, heads, clip_len, cs_reduction=cs_reduction, attn_dropout=attn_dropout,
            temporal_levels=temporal_levels,
            mask_frame=(in_channels, *self.image_size) if objective == "predict" else None,
            temporal_mixer=temporal_mixer,
        )
        self.discriminator = Discriminator(
            in_channels, self.image_size, d_base_channels, nz, heads, clip_len, attn_dropout=attn_dropout,
            temporal_mixer=temporal_mixer,
        )
        self.apply(dcgan_init)
        # channels_last: convolutions in NHWC layout (faster on tensor-core GPUs); results are unchanged
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.discriminator.memory_format = self.generator.memory_format = self.memory_format
        if channels_last:
            self.to(memory_format=torch.channels_last)

    # --- which frames are judged ---------------------------------------------------------------

    @property
    def target_frames(self) -> slice:
        """The frames the model is scored on: all T for reconstruct, only the last for predict."""
        return slice(None) if self.objective == "reconstruct" else slice(-1, None)

    def targets(self, t: torch.Tensor) -> torch.Tensor:
        """``t[:, target_frames]`` for any (B, T, ...) tensor."""
        return t[:, self.target_frames]

    def generator_input(self, x: torch.Tensor) -> torch.Tensor:
        """The clip the generator sees: x itself, or for predict x with slot T-1 blanked (the generator
        replaces that slot's bands by its mask frame anyway, so nothing of the frame can leak)."""
        if self.objective == "reconstruct":
            return x
        return torch.cat([x[:, :-1], torch.zeros_like(x[:, -1:])], dim=1)

    def fake_clip(self, x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """The clip the discriminator judges as fake: x_hat, or real history + the generated last frame."""
        if self.objective == "reconstruct":
            return x_hat
        return torch.cat([x[:, :-1], x_hat[:, -1:]], dim=1)

    def fake_encoding(self, real: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
        """``discriminator.encode(fake_clip(x, x_hat))`` reusing ``real = discriminator.encode(x)``:
        for predict only the generated frame is encoded (the encoder is per frame)."""
        if self.objective == "reconstruct":
            return self.discriminator.encode(x_hat)
        return torch.cat([real[:, :-1], self.discriminator.encode(x_hat[:, -1:])], dim=1)

    # --- forward passes ------------------------------------------------------------------------

    def _check_clip(self, x: torch.Tensor) -> None:
        expected = (self.in_channels, *self.image_size)
        if x.ndim != 5 or tuple(x.shape[2:]) != expected:
            raise ValueError(f"expected clips (B, T, {expected[0]}, {expected[1]}, {expected[2]}), got {tuple(x.shape)}")
        frames = x.shape[1]
        if frames > self.clip_len or (self.objective == "predict" and frames < 2):
            raise ValueError(f"a clip of {frames} frames does not fit clip_len={self.clip_len} "
                             f"with objective={self.objective!r}")

    def _bands(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frequency bands (B*T, C, H, W) of the generator's input clip."""
        self._check_clip(x)
        flat = self.generator_input(x).flatten(0, 1).contiguous(memory_format=self.memory_format)
        return self.decompose(flat)

    def generate(self, x: torch.Tensor, return_attention: bool = False) -> GeneratorOutput:
        """x: (B, T, C, H, W) in [-1, 1] -> GeneratorOutput; only the target frames are decoded."""
        high, low = self._bands(x)
        batch = x.shape[0]
        g = self.generator(high, low, batch, return_attention=return_attention,
                           last_only=self.objective == "predict")

        def clips(t: torch.Tensor) -> torch.Tensor:
            return rearrange(t, "(b t) c h w -> b t c h w", b=batch)

        return GeneratorOutput(
            x_hat=clips(g.high_hat + g.low_hat),
            high=clips(high),
            low=clips(low),
            high_hat=clips(g.high_hat),
            low_hat=clips(g.low_hat),
            attention=g.attention,
            features=g.features,
        )

    def target_features(self, clips: torch.Tensor, level: int) -> torch.Tensor:
        """The attention-mixed generator features (B, T', C, h, w) of level ``level`` of the target
        frames, as ``generate(clips).features[level]`` gives them, running only the encoder levels
        up to ``level`` (no decoder): what the score's reference is fitted on."""
        return self.targets(self._encoded(clips, level % self.generator.depth + 1)[-1])

    def _encoded(self, clips: torch.Tensor, levels: int) -> list[torch.Tensor]:
        """The generator features of the first ``levels`` encoder levels, all T slots (attention
        mixes them, so every slot is encoded even where one is judged)."""
        high, low = self._bands(clips)
        return self.generator(high, low, clips.shape[0], levels=levels).features

    def discriminate(
        self, clip: torch.Tensor, return_attention: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(logits (B, T), features (B, T, nz, h, w), attention (B, h*w, heads, T, T) | None)."""
        return self.discriminator(clip, return_attention=return_attention)

    def forward(self, x: torch.Tensor) -> GeneratorOutput:
        return self.generate(x)

    # --- what a frame's anomaly score is made of ------------------------------------------------

    def evidence(self, x: torch.Tensor, out: GeneratorOutput, lam: float, memory_level: int,
                 motion_level: int | None = None) -> Evidence:
        """The per-position quantities a target frame's score is made of (float32, autocast off).

        error (B, T', H, W): ``lam * mean_c (x - x_hat)^2 + (1 - lam) * mean_nz (f(x) - f(x_hat))^2``,
        the second term (the discriminator's attention-mixed features of the real vs the fake clip)
        upsampled to the frame. features (B, T', C, h, w): the generator's attention-mixed features
        of level ``memory_level`` for the one-class memory; for predict they come from the other
        frames only, so how normal they are says how normal the clip's motion is. motion_features:
        the same of level ``motion_level`` (default: ``memory_level``), for the playback head.
        """
        self._check_lam(lam)
        dtype = next(self.discriminator.parameters()).dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            real = self.discriminator.encode(x.to(dtype))
            _, f_real, _ = self.discriminator.judge(real)
            _, f_fake, _ = self.discriminator.judge(self.fake_encoding(real, out.x_hat.to(dtype)))
            rec = (self.targets(x).float() - out.x_hat.float()).pow(2).mean(dim=2)
            feat = (self.targets(f_real).float() - self.targets(f_fake).float()).pow(2).mean(dim=2)
            feat = F.interpolate(feat, size=rec.shape[-2:], mode="bilinear", align_corners=False)
            features = self.targets(out.features[memory_level]).float()
            motion = features if motion_level is None else self.targets(out.features[motion_level]).float()
        return Evidence(lam * rec + (1.0 - lam) * feat, features, motion, rec.shape)

    def scored_evidence(self, x: torch.Tensor, lam: float, memory_level: int, motion_level: int | None,
                        needed: Sequence[bool]) -> Evidence:
        """``evidence(x, generate(x), ...)`` for the terms the score takes only (``needed``: error,
        memory, motion, as ``NormalReference.active``); the others are None. The error term alone
        needs the decoder and the discriminator: without it the score reads encoder features, so
        only the encoder runs, up to the deepest level read. The values are those of ``evidence``."""
        error, memory, motion = (bool(n) for n in needed)
        self._check_lam(lam)
        motion_level = memory_level if motion_level is None else motion_level
        if error:
            ev = self.evidence(x, self.generate(x), lam, memory_level, motion_level)
            return Evidence(ev.error, ev.features if memory else None, ev.motion_features if motion else None,
                            ev.shape)
        self._check_clip(x)
        shape = torch.Size((x.shape[0], len(range(x.shape[1])[self.target_frames]), *x.shape[-2:]))
        depth = self.generator.depth
        read = [level % depth for level, need in ((memory_level, memory), (motion_level, motion)) if need]
        if not read:
            return Evidence(None, None, None, shape)
        encoded = self._encoded(x, max(read) + 1)

        def judged(level: int, need: bool) -> torch.Tensor | None:
            return self.targets(encoded[level % depth]).float() if need else None  # float32 as in ``evidence``

        return Evidence(None, judged(memory_level, memory), judged(motion_level, motion), shape)

    @staticmethod
    def _check_lam(lam: float) -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam={lam}: expected a weight in [0, 1]")

    def score(self, x: torch.Tensor, out: GeneratorOutput, lam: float) -> torch.Tensor:
        """(B, T') the plain, uncalibrated score: the mean of the error map (see ``evidence``)."""
        return self.evidence(x, out, lam, -1).error.mean(dim=(2, 3))

    def parameter_counts(self) -> dict[str, int]:
        """Parameter counts: generator, discriminator and total (the fixed decomposition has none)."""
        gen = sum(p.numel() for p in self.generator.parameters())
        dis = sum(p.numel() for p in self.discriminator.parameters())
        return {"generator": gen, "discriminator": dis, "total": gen + dis}
