"""`run_info.json`: where, when and on what a run ran, so any result can be traced to its run."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import torch

import vadlit


def git_commit(cwd: Path | None = None) -> str | None:
    """The source tree's commit (with `+dirty` when it has uncommitted changes), or None outside git."""
    cwd = cwd or Path(vadlit.__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5)
        if sha.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=5)
        return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def start_record(seed: int, task: str) -> dict:
    return {
        "task": task,
        "start": now(),
        "end": None,
        "status": "running",
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "vadlit": vadlit.__version__,
        "git_commit": git_commit(),
        "seed": seed,
        "pid": os.getpid(),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def trainer_record(trainer) -> dict:
    """What the Lightning trainer actually used (after `auto` was resolved)."""
    accel = type(trainer.accelerator).__name__.replace("Accelerator", "").lower()
    devices = [str(d) for d in trainer.strategy.parallel_devices] if hasattr(trainer.strategy, "parallel_devices") and trainer.strategy.parallel_devices else [str(trainer.strategy.root_device)]
    record = {
        "accelerator": accel,
        "devices": devices,
        "num_devices": trainer.num_devices,
        "num_nodes": trainer.num_nodes,
        "strategy": type(trainer.strategy).__name__,
        "precision": str(trainer.precision),
    }
    if torch.cuda.is_available():
        record["gpu_names"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return record
