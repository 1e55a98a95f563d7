"""What the numbers were measured on, and whether anything else was running: on a shared machine other
processes take cores away (and with OpenMP's busy-waiting threads, small ops suffer far more than their
share), so a bench on a busy machine says so instead of passing off its numbers as the machine's."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import torch

from vadlit.allocator import keep_freed_memory


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_times() -> tuple[int, int] | None:
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return values[3] + values[4], sum(values)  # idle + iowait, total


def busy_fraction(seconds: float = 0.5) -> float | None:
    """Share of all CPUs busy over `seconds` while this process sleeps: the load of everything else
    (Linux only; None elsewhere)."""
    before = _cpu_times()
    time.sleep(seconds)
    after = _cpu_times()
    if before is None or after is None or after[1] <= before[1]:
        return None
    return max(0.0, 1.0 - (after[0] - before[0]) / (after[1] - before[1]))


def machine_record(device: torch.device) -> dict[str, Any]:
    return {
        "device": str(device),
        "device_type": device.type,
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "other_load_at_start": busy_fraction(),
        "freed_memory_kept": keep_freed_memory(),  # vadlit.allocator (VADLIT_MALLOC_TUNING=0 turns it off)
    }
