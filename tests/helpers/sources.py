"""Sources for tests that need no files: videos given as in-memory arrays."""

from __future__ import annotations

import functools

import numpy as np

from vadlit.data.source import NORMAL, Source, VideoData, VideoRecord
from vadlit.data.sources.synthetic import SyntheticSource


class ArraySource(Source):
    """Videos given as arrays: lengths per split, frames of a chosen size, labels on test videos."""

    name = "arrays"

    def __init__(self, train_lengths=(12, 10, 9), test_lengths=(11, 7), size=(24, 20), channels=3, seed=0):
        self.train_lengths, self.test_lengths = list(train_lengths), list(test_lengths)
        self.size, self.channels, self.seed = tuple(size), channels, seed
        self.loads = 0

    def _video(self, split: str, i: int, n: int) -> VideoData:
        self.loads += 1
        rng = np.random.default_rng([self.seed, split == "test", i])
        frames = rng.integers(0, 256, size=(n, *self.size, self.channels), dtype=np.uint8)
        if split == "train":
            return VideoData(frames)
        labels = (np.arange(n) >= n // 2).astype(np.uint8)
        kinds = [NORMAL if l == 0 else "object" for l in labels]
        masks = np.zeros((n, *self.size), dtype=bool)
        masks[labels == 1, 2:6, 3:9] = True
        return VideoData(frames, labels, kinds, masks)

    def videos(self, split: str) -> list[VideoRecord]:
        lengths = self.train_lengths if split == "train" else self.test_lengths
        return [
            VideoRecord(f"{split}{i:02d}", lambda transform=None, i=i, n=n: self._video(split, i, n)) for i, n in enumerate(lengths)
        ]

    def cache_key(self) -> dict:
        return {"train": self.train_lengths, "test": self.test_lengths, "size": self.size,
                "channels": self.channels, "seed": self.seed}


class RelabelledSynthetic(SyntheticSource):
    """The synthetic benchmark with every test video's frame labels (and kinds) reversed in time:
    the same pixels and training videos, other ground truth; for checking what never sees the labels."""

    name = "synthetic_relabelled"

    def videos(self, split: str) -> list[VideoRecord]:
        records = super().videos(split)
        if split != "test":
            return records

        def relabelled(load, transform=None) -> VideoData:
            video = load(transform)
            kinds = None if video.kinds is None else list(video.kinds[::-1])
            return VideoData(video.frames, video.labels[::-1].copy(), kinds, video.masks)

        return [VideoRecord(r.name, functools.partial(relabelled, r.load)) for r in records]
