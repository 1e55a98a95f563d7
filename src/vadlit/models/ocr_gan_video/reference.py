"""The normal reference a frame's score is measured against, fitted on normal data only.

A frame has three terms, each reduced to one number per frame by a *maximum over positions* (an
anomalous actor covers ~1-2% of a frame, so a mean over the frame would drown it):

- **error**: the error map (see ``OCRGANVideo.evidence``) averaged over ``patch`` x ``patch``
  windows, then its largest window;
- **memory**: at every position of the attention-mixed generator features (the bottleneck by
  default), the distance to the nearest of ``memory_size`` feature vectors drawn from the *normal
  training clips* (a one-class nearest-neighbour model, PatchCore-style), then the mean of the
  ``top`` largest positions: what nothing in the normal clips looks like (a vehicle);
- **motion**: the surprise ``-log p(normal playback)`` of a playback head, fitted on replayed
  normal training clips (``playback.py``), at every position of the level-1 features, then the mean
  of the ``playback_top`` largest positions: someone who stands still looks like a clip that froze,
  someone who runs like one played too fast.

Each term is standardised with its mean and standard deviation over the frames of the *held-out
normal validation videos*, and the score is the largest of the chosen ones (``terms``, default
memory and motion): a frame is as anomalous as its most unusual term (a sum let the noise of one
term dilute another's evidence). The error is computed and standardised but left out by default:
the U-Net skips rebuild a runner as well as a walker, and on the development benchmark (and again on
a held-out one) adding it lowered the AUROC, most on running (experiments/temporal_detection_v3).
The test set is never used: a term whose validation spread is zero takes no part.

The kNN search is written here rather than taken from a library because it is one ``torch.cdist``
over a few thousand vectors; faiss and friends would add a dependency for no gain at this size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.playback import PlaybackHead, fit_head

TERMS = ("error", "memory", "motion")


class NormalReference(nn.Module):
    """Buffers only (saved in checkpoints): the memory bank and each term's validation statistics.

    Args:
        feature_dim: channels of the features the memory holds.
        memory_size: how many normal feature vectors the memory keeps (0 disables the memory term).
        patch: side of the windows the error map is averaged over, in pixels.
        top: how many of a frame's most distant positions the memory term averages.
        playback_steps: optimisation steps of the playback head's fit (0: no motion term).
        playback_top: how many of a frame's most surprising positions the motion term averages (more
            than the memory's: a moving actor smears over more positions of the mixed features).
        playback_dim: channels of the features the playback head reads (default: ``feature_dim``).
        terms: the terms the score takes the largest of (``model.score_terms``); all are computed
            and standardised, so the others stay inspectable.
    """

    def __init__(self, feature_dim: int, memory_size: int = 2048, patch: int = 4, top: int = 4,
                 playback_steps: int = 3200, playback_top: int = 16, playback_dim: int | None = None,
                 terms: Sequence[str] = TERMS) -> None:
        super().__init__()
        if isinstance(terms, str) or not terms or any(t not in TERMS for t in terms):
            raise ValueError(f"terms={terms!r}: expected a non-empty list of {', '.join(TERMS)}")
        self.patch, self.top, self.playback_steps, self.playback_top = patch, top, playback_steps, playback_top
        self.used = torch.tensor([t in terms for t in TERMS])
        self.playback = PlaybackHead(playback_dim or feature_dim)
        self.playback.requires_grad_(False)  # fitted, never trained with the networks: no optimizer or DDP sees it
        self.register_buffer("memory", torch.zeros(memory_size, feature_dim))
        self.register_buffer("stats", torch.zeros(len(TERMS), 2))  # (mean, std) per term
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted)

    # -- raw terms -----------------------------------------------------------------------------
    def _error_windows(self, error: torch.Tensor) -> torch.Tensor:
        """(B, T', H, W) -> (B, T', h, w): the ``patch``-window means of the error map."""
        b, t = error.shape[:2]
        flat = error.reshape(b * t, 1, *error.shape[2:])
        k = min(self.patch, *flat.shape[-2:])
        pooled = F.avg_pool2d(flat, k, stride=max(1, k // 2))
        return pooled.view(b, t, *pooled.shape[-2:])

    def error_term(self, error: torch.Tensor) -> torch.Tensor:
        """(B, T', H, W) -> (B, T'): the largest ``patch``-window mean of the error map."""
        return self._error_windows(error).amax(dim=(2, 3))

    def _nearest(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', C, h, w) -> (B, T', h*w): each position's distance to its nearest normal vector."""
        b, t = features.shape[:2]
        queries = positions(features)
        return torch.cdist(queries, self.memory.to(queries.dtype)).amin(dim=1).view(b, t, -1)

    def memory_term(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', C, h, w) -> (B, T'): the mean distance to its nearest normal vector of the ``top``
        positions farthest from theirs."""
        if len(self.memory) == 0:
            return features.new_zeros(features.shape[:2])
        return self._top(self._nearest(features))

    def _surprise(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', C, h, w) -> (B, T', h, w): the playback head's surprise at each position."""
        return self.playback.surprise(features.to(next(self.playback.parameters()).dtype))

    def motion_term(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', C, h, w) -> (B, T'): the playback head's surprise, mean of the ``playback_top`` most
        surprising positions."""
        if self.playback_steps == 0:
            return features.new_zeros(features.shape[:2])
        return self._top(self._surprise(features).flatten(2), self.playback_top)

    def _top(self, values: torch.Tensor, top: int | None = None) -> torch.Tensor:
        """(B, T', N) -> (B, T'): the mean of the ``top`` (default: the memory's) largest of N values."""
        return values.topk(min(top or self.top, values.shape[-1]), dim=-1).values.mean(dim=-1)

    def anomaly_map(self, raw: list[torch.Tensor | None], evidence) -> torch.Tensor:
        """(B, T', H, W) at frame resolution: where the score comes from. Each active term's value at
        every position (`raw_maps`) in the validation standard deviations the score uses, bilinearly
        upsampled to the frame, the largest per pixel. The frame score takes the same standardised
        terms over a frame's top positions instead."""
        if not self.is_fitted:
            raise RuntimeError("NormalReference.anomaly_map before fit_stats")
        b, t, *size = evidence.shape
        shapes = [None, None if evidence.features is None else evidence.features.shape[-2:], None]
        mean, std = self.stats[:, 0].float(), self.stats[:, 1].float()
        out = None
        for i, active in enumerate(self.active().tolist()):
            if not active or raw[i] is None:
                continue
            values = raw[i].view(b, t, *shapes[i]) if shapes[i] is not None else raw[i]
            z = (F.interpolate(values.float(), size=size, mode="bilinear", align_corners=False) - mean[i]) / std[i]
            out = z if out is None else torch.maximum(out, z)
        return out if out is not None else self.stats.new_zeros(b, t, *size, dtype=torch.float32)

    def terms(self, evidence) -> torch.Tensor:
        """(B, T', 3) raw terms of an ``ocr_gan.Evidence``, in the order of ``TERMS``."""
        return self.terms_of(self.raw_maps(evidence), evidence)

    def raw_maps(self, evidence) -> list[torch.Tensor | None]:
        """Each term's value at every position, computed once for the score and the anomaly map:
        error windows (B, T', h, w), memory distances (B, T', h*w), playback surprise (B, T', h, w)
        (None for a term that is off, or whose evidence was not computed).

        float32 with autocast off: under mixed precision the networks run in bf16/fp16, but the
        score's own arithmetic (the kNN distances, the playback head) is cheap and is what the
        validation statistics standardise, so it keeps float32's resolution."""
        error, f, motion = evidence.error, evidence.features, evidence.motion_features
        with torch.autocast(self.stats.device.type, enabled=False):
            return [None if error is None else self._error_windows(error.float()),
                    self._nearest(f.float()) if f is not None and len(self.memory) else None,
                    self._surprise(motion.float()) if motion is not None and self.playback_steps else None]

    def terms_of(self, raw: list[torch.Tensor | None], evidence) -> torch.Tensor:
        """The terms (as `error_term`, `memory_term`, `motion_term`) from `raw_maps`, which the
        anomaly map reads too: the positions are computed once. A term not computed is 0 (the
        score does not take it)."""
        zeros = self.stats.new_zeros(evidence.shape[:2], dtype=torch.float32)
        return torch.stack([zeros if raw[0] is None else raw[0].amax(dim=(2, 3)),
                            zeros if raw[1] is None else self._top(raw[1]),
                            zeros if raw[2] is None else self._top(raw[2].flatten(2), self.playback_top)], dim=-1)

    # -- fitting (normal data only) --------------------------------------------------------------
    def fit_memory(self, normal_features: torch.Tensor, generator: torch.Generator) -> None:
        """Fill the memory with vectors drawn at random from normal training positions (N, C).

        With fewer than ``memory_size`` vectors, all are kept and repeated to fill the buffer:
        duplicates change no nearest-neighbour distance.
        """
        size = len(self.memory)
        if size == 0:
            return
        if len(normal_features) == 0:
            raise ConfigError("the training clips gave no feature vectors to fit the score's memory")
        pick = torch.randperm(len(normal_features), generator=generator)[:size]
        pick = pick.repeat(-(-size // len(pick)))[:size]
        self.memory.copy_(normal_features[pick].to(self.memory))

    def fit_playback(self, features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                     generator: torch.Generator) -> list[float]:
        """Fit the playback head afresh (seeded by ``generator``) on features (N, C, h, w) of replayed
        normal clips; returns the loss per step."""
        if self.playback_steps == 0:
            return []
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.no_grad():
            torch.manual_seed(seed)
            for layer in self.playback.modules():
                if isinstance(layer, nn.Conv2d):
                    layer.reset_parameters()
        self.playback.requires_grad_(True)
        try:  # float32 like its use in `raw_maps`, whatever autocast the fit is called under
            with torch.autocast(features.device.type, enabled=False):
                return fit_head(self.playback, features, labels, weights, self.playback_steps, generator)
        finally:
            self.playback.requires_grad_(False)

    def fit_stats(self, val_terms: torch.Tensor) -> None:
        """Mean and std of each raw term over the validation frames (N, 3)."""
        if val_terms.shape[0] < 2:
            raise ConfigError(
                f"the held-out normal validation videos give {val_terms.shape[0]} scored frame(s); at least 2 "
                "are needed to standardise the score (more training videos, or a larger data.val_fraction)"
            )
        self.stats.copy_(torch.stack([val_terms.mean(0), val_terms.std(0)], dim=1).to(self.stats))
        self.fitted.fill_(True)

    # -- the score -----------------------------------------------------------------------------
    def active(self) -> torch.Tensor:
        """(3,) bool: the terms the score takes. The chosen ones that vary on the validation frames;
        when none does (the baseline under predict, whose features of the hidden frame cannot see the
        other frames, with the default memory and motion), every term that varies: its error."""
        mean, std = self.stats[:, 0], self.stats[:, 1]
        varies = std > 1e-12 * mean.abs().clamp_min(1.0)
        chosen = varies & self.used.to(varies.device)
        return chosen if chosen.any() else varies

    def record(self) -> dict:
        """What ``metrics.json`` says of the score: the terms it took and every term's validation statistics."""
        active = self.active().tolist()
        return {"terms": [t for t, a in zip(TERMS, active) if a],
                "validation": {t: {"mean": float(m), "std": float(s)} for t, (m, s) in zip(TERMS, self.stats.tolist())}}

    def standardise(self, terms: torch.Tensor) -> torch.Tensor:
        """(..., 3) raw terms -> (...) score: the largest active term in validation standard deviations."""
        if not self.is_fitted:
            raise RuntimeError("NormalReference.standardise before fit_stats")
        mean, std = self.stats[:, 0].to(terms), self.stats[:, 1].to(terms)
        informative = self.active().to(terms.device)
        if not informative.any():
            return terms.new_zeros(terms.shape[:-1])
        z = (terms - mean) / torch.where(informative, std, torch.ones_like(std))
        return z[..., informative].amax(dim=-1)


def positions(features: torch.Tensor) -> torch.Tensor:
    """(B, T', C, h, w) -> (B*T'*h*w, C): one vector per frame position."""
    return features.movedim(2, -1).reshape(-1, features.shape[2])
