"""How many sweep jobs to pack on each GPU (`jobs_per_gpu`), from the GPUs present and one job's
measured memory: what `make ablation` passes to the Ray launcher.

A 64x64 job keeps a large GPU a few percent busy: its kernels are small and the GPU waits on
Python between them, so jobs sharing a GPU fill each other's gaps. The limits are memory (each
job's peak, the test phase's too, plus its own CUDA context), the CPU cores (each job's Python and
loader need about one) and a cap: beyond it the jobs' kernels only queue behind each other.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
from omegaconf import DictConfig

log = logging.getLogger(__name__)

CONTEXT_BYTES = 600 * 2**20  # one process's CUDA context and cuDNN/cuBLAS workspaces, as nvidia-smi shows them
PEAK_MARGIN = 2.0            # the test phase (reference fit, playback head, scoring) over a training step's peak
MEMORY_SHARE = 0.9           # of the GPU's memory, the rest left to fragmentation and other users
MAX_JOBS_PER_GPU = 8         # more only lengthens every job: their kernels time-slice one GPU


@dataclass(frozen=True)
class Packing:
    jobs_per_gpu: int
    reason: str


def choose(peak_bytes: int, gpu_bytes: int, cpus: int, gpus: int) -> Packing:
    """The packing that memory, cores and the cap all allow (at least 1)."""
    per_job = PEAK_MARGIN * peak_bytes + CONTEXT_BYTES
    by_memory = int(MEMORY_SHARE * gpu_bytes // per_job)
    by_cpus = max(1, cpus // max(gpus, 1))
    limits = {"memory": by_memory, "CPU cores": by_cpus, "the cap": MAX_JOBS_PER_GPU}
    limit = min(limits, key=limits.get)
    n = max(1, limits[limit])
    return Packing(n, f"{n} jobs per GPU (limited by {limit}): a job needs about {per_job / 2**30:.1f} GiB "
                      f"({peak_bytes / 2**30:.2f} GiB measured training peak x{PEAK_MARGIN:g} + its CUDA context) "
                      f"of {gpu_bytes / 2**30:.0f} GiB; {cpus} cores for {gpus} GPU(s); at most {MAX_JOBS_PER_GPU}")


def measured_packing(cfg: DictConfig, root_dir: str) -> Packing:
    """Train a few steps of the job `cfg` on GPU 0, read its peak memory, and choose."""
    if not torch.cuda.is_available():
        return Packing(1, "no GPU: jobs run one after another")
    from vadlit.tasks.bench.training import measure_training  # the bench's real training step

    torch.cuda.reset_peak_memory_stats()
    record, *_ = measure_training(cfg, root_dir, warmup=1, steps=2, count_flops=False)
    peak = int(record.get("peak_memory_bytes") or torch.cuda.max_memory_allocated())
    total = torch.cuda.get_device_properties(0).total_memory
    return choose(peak, total, os.cpu_count() or 1, torch.cuda.device_count())
