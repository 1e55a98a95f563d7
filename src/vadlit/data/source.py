"""A source lists the videos of a data set; the frame cache decodes each one once.

Every data set format (synthetic, UCSD, Avenue, ShanghaiTech, a folder) is a `Source`: it knows its
videos per split and how to load one, and describes itself with a `cache_key` so the cache can tell
when its content would change.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

NORMAL = "normal"
SPLITS = ("train", "test")


@dataclass
class VideoData:
    """One decoded video.

    frames: (N, H, W, C) uint8, any size and channel count (the cache resizes and converts).
    labels: (N,) uint8 0/1 per frame, or None when the video has no ground truth (training videos).
    kinds:  per-frame anomaly kind (``"normal"`` where the label is 0), or None.
    masks:  (N, H, W) bool/uint8 pixel masks of anomalous regions, or None.
    """

    frames: np.ndarray
    labels: np.ndarray | None = None
    kinds: list[str] | None = None
    masks: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.frames.shape[0])


@dataclass(frozen=True)
class VideoRecord:
    """A video of a split: its own name in the data set (folder name or file stem) and a loader.

    `load(transform=None)` returns the video's `VideoData`; a source that decodes files passes its
    frames through `transform` ((n, H, W, C) uint8 -> (n, h, w, c) uint8) chunk by chunk while
    decoding, so frames are never held at full size. `path` is what the video was read from.
    """

    name: str
    load: Callable[..., VideoData]
    path: str | None = None


class Source(ABC):
    """A data set: its videos per split and what identifies its content."""

    name: str = "source"

    @abstractmethod
    def videos(self, split: str) -> list[VideoRecord]:
        """The videos of `split` ("train" or "test"), in a stable order."""

    @abstractmethod
    def cache_key(self) -> dict[str, Any]:
        """Everything that determines the decoded frames (paths, seeds, generator settings)."""


def fingerprint(paths: Iterable[Path], root: Path) -> str:
    """A short hash of the files' relative paths, sizes and modification times.

    Part of a file-based source's `cache_key`, so the cache is rebuilt when the data set changes.
    """
    digest = hashlib.sha1()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path.relative_to(root)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
