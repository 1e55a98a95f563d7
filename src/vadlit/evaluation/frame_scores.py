"""Map clip-level scores back to one score per video frame.

A model scores clips (windows of frames), but ground truth is per frame, so every frame gets the
mean of the scores of all clips that contain it. This works for overlapping windows (each frame is
covered several times) and for "predict" models that score a single frame per clip alike. This is
the only clip -> frame rule: validation, test and new footage (``vadlit-score``) all go through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vadlit.data.source import NORMAL
from vadlit.errors import DataError, VadlitError


def scoring_rule(last_only: bool) -> str:
    """How a frame got its score, in words (recorded with every result)."""
    if not last_only:
        return "mean over the clips that contain the frame"
    return "the frame's own prediction; the first clip_len-1 frames of a video take its first prediction's score"


@dataclass
class ClipScores:
    """A scored batch of clips, as the model's predict step returns it (on the CPU): ``video`` (B,),
    ``frames`` (B, T) and the scores (B, T') of the judged frames, with the clips' own ground truth
    (``labels``, ``kinds`` (B, T), kinds as indices into the dataset's ``kind_names``) when they have it."""

    video: torch.Tensor
    frames: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor | None = None
    kinds: torch.Tensor | None = None
    maps: torch.Tensor | None = None  # (B, T', H, W) anomaly maps of the judged frames, when asked for
    masks: torch.Tensor | None = None  # (B, T, H, W) pixel masks of the clip's frames, where the data has them
    masked: torch.Tensor | None = None  # (B,) whether each clip's video has masks at all

    @classmethod
    def of(cls, batch: dict[str, torch.Tensor], scores: torch.Tensor, maps: torch.Tensor | None = None) -> "ClipScores":
        def cpu(key: str) -> torch.Tensor | None:
            return None if batch.get(key) is None else batch[key].detach().cpu()

        return cls(cpu("video"), cpu("frames"), scores.detach().cpu(), cpu("labels"), cpu("kinds"),
                   None if maps is None else maps.detach().to("cpu", torch.float16),
                   cpu("masks") if maps is not None else None, cpu("masked") if maps is not None else None)


class FrameScores:
    """Accumulates per-frame score sums and counts (float64, on the CPU) over a whole test set, and
    the frames' ground truth as it arrives with the clips."""

    def __init__(self, video_names: Sequence[str], lengths: Sequence[int]) -> None:
        names = [str(n) for n in video_names]
        lens = [int(n) for n in lengths]
        if len(names) != len(lens):
            raise DataError(
                f"FrameScores got {len(names)} video names but {len(lens)} lengths; expected one length per video"
            )
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise DataError(f"FrameScores got duplicate video names {dup[:5]}; expected unique names")
        for name, n in zip(names, lens):
            if n < 0:  # 0 marks a video that is not scored (too short for one clip)
                raise DataError(f"video {name!r} has length {n}; expected a frame count >= 0")
        self.video_names = names
        self.lengths = lens
        # Frames of all videos live in one flat array; video v starts at offsets[v].
        self._offsets = np.concatenate([[0], np.cumsum(lens, dtype=np.int64)])
        self._lengths = np.asarray(lens, dtype=np.int64)
        self._sum = np.zeros(int(self._offsets[-1]), dtype=np.float64)
        self._count = np.zeros(int(self._offsets[-1]), dtype=np.int64)
        self._labels = np.full(int(self._offsets[-1]), -1, dtype=np.int64)  # -1: no ground truth seen
        self._kinds = np.full(int(self._offsets[-1]), -1, dtype=np.int64)
        self.kind_names: tuple[str, ...] = ()
        # anomaly maps and pixel masks per frame, allocated when the first maps arrive
        self._map_sum: torch.Tensor | None = None
        self._masks: np.ndarray | None = None
        self._masked = np.zeros(int(self._offsets[-1]), dtype=bool)

    @classmethod
    def over(cls, dataset) -> "FrameScores":
        """An accumulator for every video of a `ClipDataset`: videos shorter than one clip get no
        score (length 0 keeps the video indices aligned)."""
        scores = cls([v.name for v in dataset.videos],
                     [len(v) if len(v) >= dataset.clip_len else 0 for v in dataset.videos])
        scores.kind_names = tuple(dataset.kind_names)
        return scores

    def reset(self) -> None:
        """Forget all scores (e.g. between validation epochs)."""
        self._sum.fill(0.0)
        self._count.fill(0)

    def update(self, video: torch.Tensor, frames: torch.Tensor, scores: torch.Tensor) -> None:
        """Add a batch: ``video`` (B,) video indices, ``frames`` (B, T') 0-based frame indices, ``scores`` (B, T').

        1-D ``frames``/``scores`` of shape (B,) are read as one scored frame per clip.
        """
        v, f, s = self._checked(video, frames, scores, "scores")
        if v.size == 0:
            return
        flat = (self._offsets[v][:, None] + f).reshape(-1)
        np.add.at(self._sum, flat, s.reshape(-1))
        np.add.at(self._count, flat, 1)

    def add_truth(self, video: torch.Tensor, frames: torch.Tensor, labels: torch.Tensor,
                  kinds: torch.Tensor | None = None) -> None:
        """Record the ground truth (B, T) that came with the clips of frames (B, T)."""
        v, f, y = self._checked(video, frames, labels, "labels")
        if v.size == 0:
            return
        flat = (self._offsets[v][:, None] + f).reshape(-1)
        self._labels[flat] = y.reshape(-1).astype(np.int64)
        if kinds is not None:
            self._kinds[flat] = self._checked(video, frames, kinds, "kinds")[2].reshape(-1).astype(np.int64)

    def _checked(self, video, frames, values, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Video indices (B,), frame indices and values (B, T') as numpy, checked against the videos."""
        v = torch.as_tensor(video).detach().to("cpu", torch.int64).numpy().reshape(-1)
        f = torch.as_tensor(frames).detach().to("cpu", torch.int64).numpy()
        s = torch.as_tensor(values).detach().to("cpu", torch.float64).numpy()
        if f.ndim == 1:
            f = f[:, None]
        if s.ndim == 1:
            s = s[:, None]
        if f.ndim != 2 or f.shape != s.shape or f.shape[0] != v.shape[0]:
            raise DataError(
                f"FrameScores got video {tuple(v.shape)}, frames {tuple(f.shape)}, {what} {tuple(s.shape)}; "
                f"expected video (B,), frames (B, T') and {what} (B, T') of the same shape"
            )
        if v.size == 0:
            return v, f, s
        if v.min() < 0 or v.max() >= len(self.video_names):
            bad = int(v[(v < 0) | (v >= len(self.video_names))][0])
            raise DataError(f"video index {bad} is out of range; expected 0..{len(self.video_names) - 1}")
        lengths = self._lengths[v][:, None]
        outside = (f < 0) | (f >= lengths)
        if outside.any():
            row, col = np.argwhere(outside)[0]
            name = self.video_names[int(v[row])]
            raise DataError(
                f"video {name!r}: frame index {int(f[row, col])} is out of range; "
                f"expected 0..{int(lengths[row, 0]) - 1} (0-based, video has {int(lengths[row, 0])} frames)"
            )
        return v, f, s

    def add_clips(self, video: torch.Tensor, frames: torch.Tensor, scores: torch.Tensor, last_only: bool) -> None:
        """Add the scores (B, T') of whole clips: ``frames`` (B, T) are the clips' frame indices and
        T' = T (every frame judged) or, with ``last_only`` (``predict``), 1 (the clip's last frame).

        With ``last_only``, the first T-1 frames of a video have no history to be predicted from:
        they take the score of the video's first prediction (a fixed rule, recorded in metrics.json).
        """
        if not last_only:
            self.update(video, frames, scores)
            return
        self.update(video, frames[:, -1:], scores)
        first = frames[:, 0] == 0
        if first.any():
            warmup = frames[first, :-1]
            self.update(video[first], warmup, scores[first].expand_as(warmup))

    def add(self, clips: ClipScores, last_only: bool) -> None:
        """A scored batch (`ClipScores`): its scores (see `add_clips`), maps, and the truth it carries."""
        self.add_clips(clips.video, clips.frames, clips.scores, last_only)
        if clips.labels is not None:
            self.add_truth(clips.video, clips.frames, clips.labels, clips.kinds)
        if clips.maps is not None:
            self._add_maps(clips, last_only)

    def _add_maps(self, clips: ClipScores, last_only: bool) -> None:
        """The maps follow the frames' scores (the same clip -> frame rule); masks are recorded as given.
        Summed with torch's index_add_ (repeated frames of one batch add up; numpy's add.at is slow here)."""
        maps = clips.maps.float()
        if self._map_sum is None:
            self._map_sum = torch.zeros((len(self._sum), *maps.shape[-2:]), dtype=torch.float32)
            self._masks = np.zeros((len(self._sum), *maps.shape[-2:]), dtype=bool)
        v = clips.video.to(torch.int64)
        frames = clips.frames.to(torch.int64)
        offsets = torch.from_numpy(self._offsets)[v][:, None]
        judged = frames[:, -1:] if last_only else frames
        self._map_sum.index_add_(0, (offsets + judged).reshape(-1), maps.reshape(-1, *maps.shape[-2:]))
        if last_only:
            first = frames[:, 0] == 0
            warmup = frames[first, :-1]
            self._map_sum.index_add_(0, (offsets[first] + warmup).reshape(-1),
                                     maps[first].expand(-1, warmup.shape[1], -1, -1).reshape(-1, *maps.shape[-2:]))
        if clips.masks is not None:
            flat = (offsets + frames).reshape(-1).numpy()
            self._masks[flat] = clips.masks.numpy().reshape(-1, *maps.shape[-2:]).astype(bool)
            self._masked[flat] = np.repeat(clips.masked.numpy().astype(bool), frames.shape[1])

    def maps(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
        """(maps, masks): the (N, H, W) mean anomaly map per frame of every scored video, and the bool
        masks of those that have masks; None when no maps were added. Call after `compute` (which
        checks every frame scored)."""
        if self._map_sum is None:
            return None
        mean = self._map_sum.numpy() / np.maximum(self._count, 1)[:, None, None].astype(np.float32)
        maps, masks = {}, {}
        for i, name in enumerate(self.video_names):
            part = slice(self._offsets[i], self._offsets[i + 1])
            if self.lengths[i]:
                maps[name] = mean[part]
                if self._masked[part].all():
                    masks[name] = self._masks[part]
        return maps, masks

    def scored(self) -> np.ndarray:
        """The mean score of every frame that got one, all videos in order (e.g. the held-out part
        of the training videos, whose other frames are never scored)."""
        hit = self._count > 0
        return self._sum[hit] / self._count[hit]

    def compute(self) -> dict[str, np.ndarray]:
        """Video name -> (N,) mean score per frame; raises if any frame was never scored."""
        missing = []
        for i, name in enumerate(self.video_names):
            counts = self._count[self._offsets[i] : self._offsets[i + 1]]
            n_missing = int((counts == 0).sum())
            if n_missing:
                first = int(np.flatnonzero(counts == 0)[0])
                missing.append(f"{name!r} ({n_missing} of {self.lengths[i]} frames, first 0-based index {first})")
        if missing:
            more = f" and {len(missing) - 5} more videos" if len(missing) > 5 else ""
            raise VadlitError(
                "some frames got no score (no clip containing them was scored): "
                + ", ".join(missing[:5])
                + more
                + "; expected every frame to be covered by at least one clip"
            )
        mean = self._sum / self._count
        return {
            name: mean[self._offsets[i] : self._offsets[i + 1]].copy() for i, name in enumerate(self.video_names)
        }

    def truth(self) -> tuple[dict[str, np.ndarray], dict[str, list[str]]] | None:
        """(labels, kinds) per scored video, as they came with the clips; None unless every scored
        frame came with ground truth (a test set only part-labelled is scored, not judged)."""
        seen = self._labels >= 0
        labels, kinds = {}, {}
        for i, name in enumerate(self.video_names):
            part = slice(self._offsets[i], self._offsets[i + 1])
            if not self.lengths[i]:
                continue
            if not seen[part].all():
                return None
            labels[name] = self._labels[part].copy()
            codes = self._kinds[part]
            if (codes >= 0).all() and self.kind_names:
                kinds[name] = [self.kind_names[c] for c in codes.tolist()]
            else:
                kinds[name] = [NORMAL if y == 0 else "anomaly" for y in labels[name].tolist()]
        return (labels, kinds) if labels else None
