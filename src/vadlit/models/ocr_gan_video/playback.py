"""Playback: a self-supervised probe that reads how things move out of the temporal features.

A one-class memory of the attention-mixed features sees motion only as "a vector unlike the normal
ones", and on the embedded benchmark it stayed below chance on running. So the score's reference
also fits a small head on normal training clips only (the *motion-irregularity* and *arrow-of-time*
tasks of Georgescu et al., "Anomaly detection in video via self-supervised and multi-task
learning", CVPR 2021, are the published relatives): at every position of the target slot's
attention-mixed features, tell how the clip was played back:

- ``normal``: consecutive frames;
- ``stopped``: the clip plays, then holds one frame for at least ``MIN_STOP`` frames (everything that
  moved stands still: what loitering looks like);
- ``fast``: every 2nd, 3rd or 4th frame (everything moves 2-4x faster: what running looks like).

The background looks the same in every class, so a position can only tell them apart where
something moves: the head learns motion, not scenes. It reads the features of one slot, so motion
reaches it only through the temporal blocks: the baseline's slot features do not depend on the other
frames, its head can learn no more than the class priors, and its motion term is constant. The head
is fitted with the networks frozen, like the memory, for the weights being tested; at test time
``-log p(normal)`` per position is the score's motion term (``reference.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


CLASSES = ("normal", "stopped", "fast")
MIN_STOP = 4
"""Frames a ``stopped`` clip holds before its target slot (the benchmark labels a stop as loitering
from its LOITER_ONSET = 4th frame; a shorter pause is normal)."""

NOISE = 0.03
"""Std of fresh noise added to every frame of every replayed clip (images in [-1, 1]). A held frame
repeats its sensor noise too, which a head could read at every position, background included, and
which a real stop never shows; fresh noise in every class (here 1.9x the benchmark's sensor noise)
leaves the motion of what is in the frame as the cue."""


class PlaybackHead(nn.Module):
    """Per-position playback classifier: (N, C, h, w) features -> (N, 3, h, w) logits.

    A 1x1 reduction, two 3x3 convolutions (a 5x5 neighbourhood: how far a feature is smeared along
    the path says how fast its content moved) and a 1x1 classifier. On frozen ta4 features of the
    benchmark, a per-position (1x1) head barely left the class priors in 300 steps, the 3x3 one learnt.
    """

    def __init__(self, dim: int, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(dim, width, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, len(CLASSES), 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)

    def surprise(self, features: torch.Tensor) -> torch.Tensor:
        """(B, T', C, h, w) -> (B, T', h, w): ``-log p(normal)`` per position."""
        logits = self(features.flatten(0, 1)).float()
        nll = -torch.log_softmax(logits, dim=1)[:, CLASSES.index("normal")]
        return nll.view(*features.shape[:2], *nll.shape[-2:])


def span(clip_len: int, speeds: Sequence[int]) -> int:
    """Frames a training window needs so that the fastest playback still fills a clip."""
    return (clip_len - 1) * max(speeds) + 1


def playback_clips(
    window: torch.Tensor, clip_len: int, speeds: Sequence[int], generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pairs of clips of ``clip_len`` frames replayed from training windows (B, L, C, H, W): for each
    window its normal playback and one replay of another class, drawn at random.

    Returns clips (2B, clip_len, C, H, W) (the B normal ones first), labels (2B,) indices into
    ``CLASSES``, and weights (2B, H, W): where the pair's frames differ, i.e. where something moves.
    Only there can a position tell the classes apart; elsewhere both clips show the same still
    background, and a loss over the whole frame would be a loss over the background. The weights
    train the head; they never enter a score. Every clip ends on the window's last frame; speeds
    that do not fit in L frames are not drawn (with L = clip_len only ``stopped`` is).
    """
    batch, length = window.shape[:2]
    if length < clip_len:
        raise ValueError(f"training windows of {length} frames are shorter than a clip ({clip_len})")
    fits = [s for s in speeds if span(clip_len, [s]) <= length]
    stop_options = clip_len - 1 - MIN_STOP  # last slot a stop may start at, so MIN_STOP slots hold
    classes = ([1] if stop_options >= 0 else []) + ([2] if fits else [])
    if not classes:
        raise ValueError(f"clips of {clip_len} frames are too short to stop for {MIN_STOP} frames, and "
                         f"windows of {length} frames too short to play faster")
    slots = torch.arange(clip_len)
    normal = length - clip_len + slots
    labels = torch.tensor(classes)[torch.randint(len(classes), (batch,), generator=generator)]
    index = torch.empty(batch, clip_len, dtype=torch.long)
    for i, label in enumerate(labels.tolist()):
        if label == 1:  # play up to slot k, then hold it
            k = int(torch.randint(stop_options + 1, (1,), generator=generator))
            index[i] = normal.clamp(max=normal[k])
        else:
            speed = fits[int(torch.randint(len(fits), (1,), generator=generator))]
            index[i] = length - 1 - (clip_len - 1 - slots) * speed
    rows = torch.arange(batch).unsqueeze(1)
    plain, replayed = window[:, normal], window[rows, index.to(window.device)]
    weights = (replayed - plain).abs().mean(dim=(1, 2))
    clips = torch.cat([plain, replayed])
    noise = torch.randn_like(clips) if generator is None else torch.randn(clips.shape, generator=generator).to(clips)
    labels = torch.cat([torch.zeros(batch, dtype=torch.long), labels]).to(window.device)
    return clips + NOISE * noise, labels, torch.cat([weights, weights])


def fit_head(
    head: PlaybackHead, features: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, steps: int,
    generator: torch.Generator, batch_size: int = 32, lr: float = 2e-3,
) -> list[float]:
    """Fit ``head`` on fixed features (N, C, h, w) of replayed clips: weighted cross-entropy at every
    position (weights (N, h, w)), Adam, ``steps`` minibatches. Returns the loss of every step.

    A plain loop rather than a Lightning Trainer: it runs inside the reference fit of a trained
    model, on a few hundred cached feature maps, for seconds.
    """
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    losses = []
    # a reference is fitted inside Lightning's test loop, which runs under inference mode
    with torch.inference_mode(False), torch.enable_grad():
        for _ in range(steps):
            pick = torch.randint(len(features), (min(batch_size, len(features)),), generator=generator)
            f, y, w = features[pick].float().clone(), labels[pick].clone(), weights[pick].clone()
            logits = head(f)
            loss = F.cross_entropy(logits, y.view(-1, 1, 1).expand(-1, *logits.shape[-2:]), reduction="none")
            loss = (loss * w).sum() / w.sum().clamp_min(1e-8)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.detach().item())
    return losses
