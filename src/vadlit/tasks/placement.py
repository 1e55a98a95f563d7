"""Where a sweep job runs and what share of a GPU it has: recorded in `run_info.json`, so a packed
sweep can be checked (which device, how many jobs shared it) and its timings read honestly.

Ray (hydra/launcher=ray_local or ray_cluster) hands each job 1/jobs_per_gpu of a GPU and sets its
CUDA_VISIBLE_DEVICES, so the job's `cuda:0` is its own GPU. The packed launcher (joblib) starts
jobs in plain processes that see every GPU, so the job picks GPU ``job number mod GPUs`` itself:
consecutive jobs, which run at the same time, land on different GPUs.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from omegaconf import DictConfig, open_dict

from vadlit.ray_runtime import ray_resources


def _launcher() -> tuple[str | None, int | None]:
    """(the hydra/launcher choice, this job's number in its sweep); (None, None) outside Hydra."""
    try:
        from hydra.core.hydra_config import HydraConfig

        hydra = HydraConfig.get()
    except (ImportError, ValueError):
        return None, None
    num = hydra.job.get("num") if hydra.job else None
    return hydra.runtime.choices.get("hydra/launcher"), (int(num) if num is not None else None)


def place(cfg: DictConfig) -> dict[str, Any]:
    """Choose this job's GPU where the launcher does not (packed, several GPUs), and say where it runs.

    Returns the `placement` record of run_info.json: the launcher, jobs_per_gpu, the GPU share the job
    had and the GPU ids it was given. Changes ``cfg.trainer.devices`` only for the packed launcher
    with several GPUs visible.
    """
    launcher, num = _launcher()
    per_gpu = int(cfg.get("jobs_per_gpu") or 1)
    cuda = torch.cuda.is_available()
    record: dict[str, Any] = {"launcher": launcher, "jobs_per_gpu": per_gpu, "job_num": num,
                              "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES")}
    ray = ray_resources()
    if ray is not None:
        record.update(gpu_share=float(ray["assigned"].get("GPU", 0.0)), gpu_ids=ray["gpu_ids"],
                      cpus=float(ray["assigned"].get("CPU", 0.0)))
        return record
    gpus = torch.cuda.device_count() if cuda else 0
    one_device = str(cfg.trainer.get("devices", 1)) in ("1", "auto")
    if (launcher == "packed" and gpus > 1 and num is not None and one_device
            and cfg.trainer.get("accelerator") in ("auto", "gpu", "cuda")):
        index = num % gpus
        with open_dict(cfg):
            cfg.trainer.devices = [index]
        record.update(gpu_ids=[str(index)], gpu_share=1.0 / per_gpu)
    elif launcher == "packed" and gpus:
        record.update(gpu_ids=["0"], gpu_share=1.0 / per_gpu)
    else:  # one job per process on the GPU (or CPU) it was started on
        record.update(gpu_ids=["0"] if gpus else [], gpu_share=1.0 if gpus else 0.0)
    if launcher == "packed" and not gpus and per_gpu > 1:
        # jobs sharing the CPU: each takes its part of the cores, not all of them (oversubscribed
        # threads make every job slower than running them one after another)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // per_gpu))
        record["torch_threads"] = torch.get_num_threads()
    return record
