"""Shared fixtures: a tiny in-memory source and Hydra configs composed from the real conf/ tree."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from vadlit.data.source import NORMAL, Source, VideoData, VideoRecord
from vadlit.resolvers import register

register()  # the configs use vadlit's resolvers; entry points register them on import

torch.set_num_threads(min(2, os.cpu_count() or 1))

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


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


@pytest.fixture
def array_source() -> ArraySource:
    return ArraySource()


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """One tiny ta2 training run (seconds), shared by the tests that only read its checkpoint and outputs."""
    from tests.runs import TINY, compose_run
    from vadlit.tasks.train import run

    tmp = tmp_path_factory.mktemp("smoke")
    cfg = compose_run(tmp, TINY + ["model=ta2", "logger=none"])
    run(cfg)
    return Path(cfg.paths.output_dir)
