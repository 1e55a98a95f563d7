"""GPU-only speed options: full 32-bit precision against mixed precision (bf16 where the GPU has it,
else fp16 with loss scaling), then `model.channels_last` and `model.compile` on top of mixed precision.
Each is a real training case; on a CPU the section says "skipped: no GPU" (mixed precision rarely
helps there and is not the default)."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

import torch
from omegaconf import DictConfig

from vadlit.tasks.bench.training import measure_training
from vadlit.config.resolvers import best_precision

log = logging.getLogger(__name__)


def option_override(cfg: DictConfig, option: str) -> str | None:
    """`model.<option>=true` (`+model...` if the model config lacks the key), or None when
    VideoAnomalyModule has no such option in this version."""
    from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

    if option not in inspect.signature(VideoAnomalyModule.__init__).parameters:
        return None
    return f"{'' if option in cfg.model else '+'}model.{option}=true"


def measure_gpu(device: torch.device, compose: Callable[[list[str]], DictConfig], base: list[str], options: list[str],
                root_dir: str, warmup: int, steps: int, compile_warmup: int,
                with_mfu: Callable[[dict], dict]) -> dict[str, Any]:
    if device.type != "cuda":
        return {"skipped": "no GPU"}
    mixed = best_precision()
    rows: list[dict[str, Any]] = []

    def run(label: str, extra: list[str], warm: int) -> dict[str, Any]:
        log.info("bench gpu: %s", label)
        record, *_ = measure_training(compose(base + extra), root_dir, warm, steps)
        record = with_mfu(record)
        record["case"] = label
        rows.append(record)
        return record

    full = run("32-true", ["trainer.precision=32-true"], warmup)
    half = run(mixed, [f"trainer.precision={mixed}"], warmup)
    for option in options:
        override = option_override(compose(base), option)
        if override is None:
            rows.append({"case": f"{mixed} + {option}",
                         "skipped": f"VideoAnomalyModule has no `{option}` option in this version"})
            continue
        run(f"{mixed} + {option}", [f"trainer.precision={mixed}", override],
            compile_warmup if option == "compile" else warmup)
    return {
        "device_name": torch.cuda.get_device_name(device),
        "mixed_precision": mixed,
        "cases": rows,
        "mixed_speedup": full["seconds_per_step"] / half["seconds_per_step"],
        "mixed_memory_ratio": (half["peak_memory_bytes"] / full["peak_memory_bytes"]
                               if half.get("peak_memory_bytes") and full.get("peak_memory_bytes") else None),
    }
