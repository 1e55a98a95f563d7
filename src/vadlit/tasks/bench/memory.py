"""Peak memory of a region of torch code, on any device.

`torch.cuda.max_memory_allocated` exists only on GPUs, and Python's `tracemalloc` does not see
torch's allocations. `PeakTensorMemory` watches every tensor that the ops of a region create (a torch
dispatch mode) and frees it from the count when its storage dies, so it gives the peak bytes of live
tensors created in the region: activations, saved-for-backward tensors, gradients. Not included:
tensors that existed before the region, allocator caching and a kernel's internal scratch buffers.
"""

from __future__ import annotations

import weakref

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def _storages(tree) -> list:
    found = []
    for leaf in tree_flatten(tree)[0]:
        if isinstance(leaf, torch.Tensor):
            try:
                found.append(leaf.untyped_storage())
            except (RuntimeError, NotImplementedError):  # sparse and other storage-less tensors
                pass
    return found


class PeakTensorMemory(TorchDispatchMode):
    """`with PeakTensorMemory() as m: ...` -> `m.peak` bytes (and `m.current` still alive at the end)."""

    def __init__(self) -> None:
        super().__init__()
        self.current = 0
        self.peak = 0
        self._live: dict[int, tuple[weakref.ref, int]] = {}

    def _free(self, key: int, nbytes: int, _ref) -> None:
        if self._live.pop(key, None) is not None:
            self.current -= nbytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {st._cdata for st in _storages((args, kwargs))}  # views and in-place results: not new
        for storage in _storages(out):
            key = storage._cdata
            if key in inputs or key in self._live:
                continue
            nbytes = storage.nbytes()
            self._live[key] = (weakref.ref(storage, lambda ref, k=key, n=nbytes: self._free(k, n, ref)), nbytes)
            self.current += nbytes
            self.peak = max(self.peak, self.current)
        return out


class CudaPeak:
    """`with CudaPeak(device) as m: ...` -> `m.peak`: the CUDA allocator's peak over the region, above
    what was allocated when it started (None on other devices)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak: int | None = None

    def __enter__(self) -> "CudaPeak":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.peak = int(torch.cuda.max_memory_allocated(self.device) - self._base)
