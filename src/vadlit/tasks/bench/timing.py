"""Wall-clock timing that is correct on a GPU: kernels run asynchronously, so the device is
synchronised at the edges of a timed region (and only there, so the region itself runs as in training)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator

import torch

from vadlit.errors import DataError


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Mean seconds of `fn()` over `repeats` calls in one synchronised region, after `warmup` calls."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    synchronize(device)
    return (time.perf_counter() - start) / repeats


def best_seconds(fn: Callable[[], object], device: torch.device, repeats: int, min_region_s: float = 0.05) -> float:
    """Best of `repeats` regions, each long enough (>= min_region_s) for the timer and launch costs
    not to matter: a GPU matmul can take well under a millisecond."""
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    first = max(time.perf_counter() - start, 1e-9)
    inner = max(1, math.ceil(min_region_s / first))
    best = math.inf
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        synchronize(device)
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def cycle(loader: Iterable) -> Iterator:
    """Batches of `loader` without end (a new epoch when one runs out)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise DataError("the data loader yields no batch: too few clips for one batch")
