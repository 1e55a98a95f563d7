"""The run folder: `run_info.json` (where, when and on what a run ran, so any result can be traced to
its run, and how it ended), the resolved `config.yaml` DDP children start from, and the skip of a
finished run on resume."""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import subprocess
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

import torch
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig, OmegaConf

import vadlit
from vadlit.errors import interruption, one_line, root_cause
from vadlit.evaluation.outputs import write_json

log = logging.getLogger(__name__)

T = TypeVar("T")


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


def start_record(seed, task: str) -> dict:
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


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-GPU (DDP) job, which must not write the run's files."""
    return rank_zero_only.rank == 0


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def already_finished(cfg: DictConfig, out_dir: Path) -> bool:
    """A resumed run (``resume=true`` or ``ckpt_path=last``) whose folder holds a finished run is skipped."""
    resuming = bool(cfg.get("resume")) or cfg.get("ckpt_path") == "last"
    previous = read_json(out_dir / "run_info.json") if resuming else None
    if previous and previous.get("status") == "finished" and (out_dir / "metrics.json").is_file():
        log.info("resume: %s already finished; skipped", out_dir)
        return True
    return False


def start_run_folder(cfg: DictConfig, out_dir: Path) -> dict[str, Any]:
    """The folder with a `running` run_info.json and the resolved config; returns the run_info record."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = start_record(cfg.get("seed"), str(cfg.task_name))
    if is_rank_zero():
        write_json(out_dir / "run_info.json", info)
        # The resolved config of this run (Hydra's own copy under .hydra/ keeps the interpolations);
        # DDP children start from it.
        OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), out_dir / "config.yaml", resolve=True)
    return info


def finish_run_folder(out_dir: Path, info: dict[str, Any]) -> None:
    info.update(end=now(), status="finished")
    write_json(out_dir / "run_info.json", info)


def failures_recorded(task: Callable[[DictConfig], T], cfg: DictConfig, multirun: bool = False) -> T | None:
    """`task(cfg)` for an entry point: a failure is recorded in run_info.json (status, error) and, inside a
    sweep, does not stop the other jobs; a single run re-raises it."""
    out_dir = Path(cfg.paths.output_dir)
    try:
        return task(cfg)
    except (KeyboardInterrupt, SystemExit) as exc:  # stopped, not failed: recorded, then it stops everything
        why = interruption(exc)
        info = read_json(out_dir / "run_info.json")
        if why and info and info.get("status") == "running" and is_rank_zero():
            info.update(end=now(), status="interrupted", error=why)
            write_json(out_dir / "run_info.json", info)
        raise
    except Exception as exc:
        if not is_rank_zero():
            raise
        info = read_json(out_dir / "run_info.json") or start_record(cfg.get("seed"), str(cfg.task_name))
        cause = root_cause(exc)  # the user's error or the innermost one, not Hydra's wrapper around it
        info.update(end=now(), status="failed", error=f"{type(cause).__name__}: {one_line(cause)}"[:2000])
        write_json(out_dir / "run_info.json", info)
        (out_dir / "error.txt").write_text(traceback.format_exc())
        if not multirun:
            raise
        log.error("run failed (the sweep goes on; see %s): %s", out_dir / "error.txt", info["error"])
        return None
