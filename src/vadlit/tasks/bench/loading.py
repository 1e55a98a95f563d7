"""Data-loading throughput of the real `ClipDataModule.train_dataloader()` (frame cache, configured
workers and batch size), without any model: if the loader is not well ahead of the training step (goal:
10x), training waits for data and every speed-up of the model is wasted."""

from __future__ import annotations

import time
from typing import Any

from vadlit.tasks.bench.timing import cycle


def measure_loading(datamodule, warmup_batches: int, batches: int) -> dict[str, Any]:
    """clips/s over `batches` batches (epochs restart as needed) after `warmup_batches` (worker start-up,
    first reads of the memory-mapped cache)."""
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    train_clips = len(loader.dataset)
    batches_iter = cycle(loader)
    for _ in range(warmup_batches):
        next(batches_iter)
    clips = 0
    start = time.perf_counter()
    for _ in range(batches):
        clips += int(next(batches_iter)["clip"].shape[0])
    seconds = time.perf_counter() - start
    batches_iter.close()
    del loader
    return {
        "num_workers": int(datamodule.num_workers),
        "batch_size": int(datamodule.batch_size),
        "clip_len": int(datamodule.clip_len),
        "image_size": list(datamodule.image_size),
        "train_clips": train_clips,
        "warmup_batches": warmup_batches,
        "batches": batches,
        "seconds": seconds,
        "clips_per_s": clips / seconds,
        "frames_per_s": clips * datamodule.clip_len / seconds,
    }
