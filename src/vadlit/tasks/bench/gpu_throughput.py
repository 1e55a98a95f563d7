"""Training throughput of the GPU check's cases: the real training step (`measure_training`, the same
Lightning Trainer and G + D update as `vadlit-train`), with model FLOP utilisation against the GPU's
dense bf16 matmul rate measured in the same run, and the speed-up over 32-true of the same model and
size. One failed case (out of memory, a compile error) is recorded and the others go on.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig

from vadlit.errors import one_line
from vadlit.tasks.bench.flops import compute_dtype, dense_rate, dtype_name
from vadlit.tasks.bench.gpu_plan import CheckPlan, ThroughputCase
from vadlit.tasks.bench.training import measure_training

log = logging.getLogger(__name__)

MFU_DTYPE = "bfloat16"
"""The MFU reference of every case: the dense bf16 rate, the fastest a Hopper GPU multiplies (the
issue's choice). `mfu_own_dtype` divides by the case's own compute dtype's rate instead."""


def dense_rates(device: torch.device, plan: CheckPlan) -> dict[str, Any]:
    """Dense n x n x n `torch.mm` rate in bf16, fp16 and fp32 (fp32 with the matmul precision that
    32-true training gets, recorded)."""
    rates = {}
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        rates[dtype_name(dtype)] = dense_rate(device, dtype, list(plan.dense_sizes), 0, plan.dense_repeats)
    return rates


def _free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def measure_case(case: ThroughputCase, plan: CheckPlan, compose: Callable[[list[str]], DictConfig], root_dir: str,
                 device: torch.device) -> dict[str, Any]:
    """One case's record: its numbers, or `error` (one line) when it failed."""
    row: dict[str, Any] = {"case": case.name, "model": case.model, "size": case.size.name,
                           "precision": case.precision, "option": case.option}
    compiled = case.option == "compile"
    warmup = plan.compile_warmup_steps if compiled else plan.warmup_steps
    try:
        cfg = compose([*plan.base_overrides, *case.overrides])
        record, model, trainer, _ = measure_training(cfg, root_dir, warmup, plan.steps)
        del model, trainer
        row.update({k: record[k] for k in ("batch_size", "clip_len", "image_size", "device", "seconds_per_step",
                                          "clips_per_s", "frames_per_s", "flops_per_step", "peak_memory_bytes",
                                          "warmup_steps", "steps", "params")})
        row["precision_used"] = record["precision"]
    except Exception as exc:  # noqa: BLE001 - one case's failure is a result, not the end of the check
        row["error"] = f"{type(exc).__name__}: {one_line(exc)[:300]}"
        log.warning("gpu-check: %s failed: %s", case.name, row["error"])
    finally:
        if compiled:
            torch._dynamo.reset()  # a compiled model's caches are not the next case's
        _free(device)
    return row


def with_derived(rows: list[dict[str, Any]], rates: dict[str, Any]) -> list[dict[str, Any]]:
    """Fill in what needs other rows: a compiled case's FLOPs (not counted while compiling; the same
    math as the uncompiled case of its model and size), FLOP/s, MFU, and the speed-up over 32-true."""
    reference = rates.get(MFU_DTYPE, {}).get("flops_per_s")
    for row in rows:
        if "seconds_per_step" not in row:
            continue
        flops = row.get("flops_per_step")
        if flops is None:
            flops = next((r.get("flops_per_step") for r in rows if r.get("flops_per_step")
                          and r["model"] == row["model"] and r["size"] == row["size"]), None)
            row["flops_per_step"], row["flops_from"] = flops, "an uncompiled case of the same model and size"
        row["flops_per_s"] = None if flops is None else flops / row["seconds_per_step"]
        own = rates.get(dtype_name(compute_dtype(row["precision"])), {}).get("flops_per_s")
        row["mfu"] = row["flops_per_s"] / reference if row["flops_per_s"] and reference else None
        row["mfu_own_dtype"] = row["flops_per_s"] / own if row["flops_per_s"] and own else None
        full = next((r for r in rows if r["model"] == row["model"] and r["size"] == row["size"]
                     and r["precision"] == "32-true" and not r.get("option") and "seconds_per_step" in r), None)
        row["speedup_vs_32"] = full["seconds_per_step"] / row["seconds_per_step"] if full else None
    return rows
