"""OmegaConf resolvers that let configs adapt to the machine and keep sweep folders unique.

Registered when an entry point is imported, before Hydra composes anything.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf

from vadlit.config.resume import run_to_continue, sweep_to_continue

SWEEP_ENV = "VADLIT_SWEEP_DIR"
ROOT_ENV = "VADLIT_ROOT"


def project_root() -> str:
    """Where outputs/ and .cache/ go: VADLIT_ROOT, else the directory the command was started in.

    Kept in VADLIT_ROOT once read, so job processes started elsewhere (Ray workers, DDP children)
    agree; and needs no Hydra runtime, so sweep folders can use it before any job has started.
    """
    return os.environ.setdefault(ROOT_ENV, os.getcwd())


def best_precision() -> str:
    """The fastest precision the hardware runs correctly: bf16 on GPUs that have it, fp16 on older
    GPUs (with loss scaling), full fp32 on CPUs, where mixed precision is rarely faster."""
    import torch

    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def _jobs_per_gpu(value) -> int:
    from vadlit.errors import ConfigError

    if isinstance(value, bool) or not str(value).isdigit() or int(value) < 1:
        raise ConfigError(f"jobs_per_gpu={value!r}: expected a whole number >= 1 (how many sweep jobs share one GPU)")
    return int(value)


def gpu_count(declared=None) -> int:
    """The GPUs a sweep packs its jobs on: `declared` (Ray's ``init.num_gpus``, or the cluster's) when
    given, else the ones torch sees here."""
    if declared not in (None, "", "null", "None"):
        return int(declared)
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def gpu_share(jobs_per_gpu, declared=None) -> float:
    """The fraction of a GPU one sweep job asks Ray for (``num_gpus``): 1/jobs_per_gpu where there are
    GPUs, so that many jobs run on each at once; 0 without GPUs, so the same sweep runs on a CPU."""
    per_gpu = _jobs_per_gpu(jobs_per_gpu)
    return 1.0 / per_gpu if gpu_count(declared) > 0 else 0.0


def packed_jobs(jobs_per_gpu) -> int:
    """How many jobs the packed (joblib) launcher runs at once: jobs_per_gpu on each GPU, or on the
    CPU as one device when there is none."""
    return _jobs_per_gpu(jobs_per_gpu) * max(1, gpu_count())


def has_cuda() -> bool:
    """Pinned host memory only pays where batches are copied to a GPU."""
    import torch

    return torch.cuda.is_available()


def sweep_dir(base: str, resume=False, overrides=None, params=None, choices=None) -> str:
    """A new sweep folder under `base` (time + random suffix: two sweeps started in the same second
    never share one), or with `resume` the newest one of the same grid (`resume.sweep_to_continue`).

    The choice is kept in VADLIT_SWEEP_DIR so that every job process of the sweep (Ray workers,
    DDP children) resolves the same folder.
    """
    if os.environ.get(SWEEP_ENV):
        return os.environ[SWEEP_ENV]
    base_path = Path(base)
    chosen = None
    if str(resume).lower() in ("true", "1", "yes"):
        chosen = sweep_to_continue(base_path, overrides or [], params, choices)
    if chosen is None:
        chosen = base_path / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{secrets.token_hex(2)}"
    os.environ[SWEEP_ENV] = str(chosen)
    return str(chosen)


def run_dir(base: str, ckpt_path=None, overrides=None, choices=None) -> str:
    """A new run folder under `base`; with ``ckpt_path=last`` the newest run of the same command
    (`resume.run_to_continue`), so a killed run continues in its own folder and no other."""
    base_path = Path(base)
    if str(ckpt_path) == "last":
        return str(run_to_continue(base_path, overrides or [], choices))
    return str(base_path / f"{datetime.now():%Y-%m-%d_%H-%M-%S}")


def slug(text: str, limit: int = 80) -> str:
    """A folder-safe name from `key=value,key=value` (no path separators, bounded length)."""
    text = re.sub(r"[^A-Za-z0-9=,._+-]+", "_", str(text)).strip("_")
    return text[:limit] or "default"


def register() -> None:
    for name, fn in {
        "vadlit_root": project_root,
        "vadlit_precision": best_precision,
        "vadlit_gpu_share": gpu_share,
        "vadlit_packed_jobs": packed_jobs,
        "vadlit_cuda": has_cuda,
        "vadlit_sweep_dir": sweep_dir,
        "vadlit_run_dir": run_dir,
        "vadlit_slug": slug,
    }.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn, use_cache=name != "vadlit_slug")
