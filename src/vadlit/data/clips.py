"""Clips: windows of `clip_len` consecutive frames, the unit the model sees.

Windows start every `stride` frames and the last window of a segment is aligned to its end, so
every frame of a segment lies in at least one clip and can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from vadlit.data.cache import CachedVideo


@dataclass(frozen=True)
class Segment:
    """Frames [start, end) of video number `video` of a split."""

    video: int
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


def scored_stride(stride: int, last_only: bool) -> int:
    """The stride of the clips a test scores. A model that judges only a clip's last frame
    (``predict``) scores a frame only where a clip ends, so every frame must end one: stride 1."""
    return 1 if last_only else stride


def window_starts(length: int, clip_len: int, stride: int) -> list[int]:
    """Start offsets of the windows over `length` frames; [] when the segment is too short."""
    if clip_len < 1 or stride < 1:
        raise ValueError(f"clip_len and stride must be >= 1, got {clip_len} and {stride}")
    if length < clip_len:
        return []
    starts = list(range(0, length - clip_len + 1, stride))
    if starts[-1] != length - clip_len:
        starts.append(length - clip_len)
    return starts


class ClipDataset(Dataset):
    """Clips over segments of cached videos.

    Each item: `clip` uint8 (T, C, H, W), `video` (index in the split), `frames` (T,) 0-based frame
    indices in that video, and, when the split has ground truth, `labels` (T,) and `kinds` (T,): the
    frames' anomaly kinds as indices into `kind_names`, so the truth travels with the clip it judges
    (-1 for the frames of a video without ground truth in a split where others have it: batches collate).
    Where any video has pixel masks, `masks` (T, H, W) and `masked` (whether this video has them).
    """

    def __init__(self, videos: list[CachedVideo], segments: list[Segment], clip_len: int, stride: int):
        self.videos, self.clip_len = videos, clip_len
        self.windows = [
            (seg.video, seg.start + s) for seg in segments for s in window_starts(len(seg), clip_len, stride)
        ]
        self.kind_names: tuple[str, ...] = tuple(sorted({k for v in videos if v.kinds is not None for k in v.kinds}))
        codes = {name: i for i, name in enumerate(self.kind_names)}
        judged = any(v.labels is not None for v in videos)
        self._labels = [_truth(v.labels, len(v), judged) for v in videos]
        self._kind_codes = [_truth(None if v.kinds is None else [codes[k] for k in v.kinds], len(v), judged)
                            for v in videos]
        self.has_masks = any(v.masks is not None for v in videos)  # then every item carries `masks`

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        video, start = self.windows[index]
        v = self.videos[video]
        stop = start + self.clip_len
        frames = np.array(v.frames[start:stop])  # a writable copy: cached frames are read-only memmaps
        clip = torch.from_numpy(frames).permute(0, 3, 1, 2)
        item = {"clip": clip, "video": torch.tensor(video), "frames": torch.arange(start, stop)}
        if self._labels[video] is not None:
            item["labels"] = torch.from_numpy(self._labels[video][start:stop])
            item["kinds"] = torch.from_numpy(self._kind_codes[video][start:stop])
        if self.has_masks:  # (T, H, W) uint8 pixel masks; `masked` False for a video without any
            item["masked"] = torch.tensor(v.masks is not None)
            item["masks"] = (torch.from_numpy(np.asarray(v.masks[start:stop], dtype=np.uint8)) if v.masks is not None
                             else torch.zeros(self.clip_len, *frames.shape[1:3], dtype=torch.uint8))
        return item


def _truth(values, length: int, judged: bool) -> np.ndarray | None:
    """Per-frame int64 ground truth; -1 where a video has none in a split that is judged."""
    if not judged:
        return None
    return np.full(length, -1, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)
