"""DataLoader worker processes that are safe inside a Ray job, and cached arrays that reach them as
files, not copies.

A Ray worker process runs Ray's own threads (its gRPC client, its event loop); forking it for
DataLoader workers can deadlock them (ray#13407, and Ray's data-loading guide recommends
`forkserver`). Inside a Ray job the workers are therefore started with `forkserver`, elsewhere with
the platform's default. A started (not forked) worker receives the dataset pickled, and numpy
pickles a memory-mapped array as a full copy of its data; `MappedArray` (frames, packed masks) pickles as its file
instead, so each worker maps the same cache file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadlit.ray_runtime import in_ray_worker


def worker_start_method(num_workers: int) -> str | None:
    """`forkserver` for DataLoader workers of a Ray job; None (the default, fork on Linux) elsewhere."""
    return "forkserver" if num_workers > 0 and in_ray_worker() else None


def _reopen(path: str) -> np.memmap:
    return np.load(path, mmap_mode="r")


class MappedArray(np.memmap):
    """A read-only memory-mapped ``.npy`` array that pickles as its path (whole arrays only)."""

    @classmethod
    def open(cls, path: Path) -> "MappedArray":
        return np.load(path, mmap_mode="r").view(cls)

    def __reduce__(self):
        path = getattr(self, "filename", None)
        if path is not None and self.shape == np.load(path, mmap_mode="r").shape:
            return _reopen, (str(path),)
        return np.asarray(self).__reduce__()  # a slice: its values, like any array
