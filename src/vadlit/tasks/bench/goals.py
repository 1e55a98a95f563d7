"""The speed goals the project holds itself to, and where this machine stands on each:

- CPU model FLOP utilisation >= 50% at the default size (the model keeps a CPU's matmul units busy);
- the train loader >= 10x faster than the training step (training never waits for data);
- on a GPU, mixed precision >= 1.6x faster than 32-bit (the default precision earns its place).
"""

from __future__ import annotations

from typing import Any

from vadlit.tasks.bench.settings import Goals


def goal_row(goal: str, target: str, measured: float | None, where: str, met: bool | None, note: str = "") -> dict:
    """One goal's verdict: met (True), not met (False) or not judged (None, with `note` saying why)."""
    status = note or ("met" if met else "not met")
    return {"goal": goal, "target": target, "measured": measured, "where": where, "met": met, "status": status}


def evaluate_goals(results: dict[str, Any], goals: Goals, default_size: str) -> list[dict[str, Any]]:
    device = results["machine"]["device_type"]
    rows = []

    default = [r for r in results["training"] if r["size"] == default_size and r.get("mfu") is not None]
    name = f"CPU MFU at size '{default_size}'"
    if device != "cpu":
        rows.append(goal_row(name, f">= {goals.cpu_mfu:.0%}", None, "", None, note="n/a: this run is on a GPU"))
    elif not default:
        rows.append(goal_row(name, f">= {goals.cpu_mfu:.0%}", None, "", None, note="n/a: no FLOP count"))
    else:
        worst = min(default, key=lambda r: r["mfu"])
        rows.append(goal_row(name, f">= {goals.cpu_mfu:.0%}", worst["mfu"], f"lowest: {worst['case']}",
                         worst["mfu"] >= goals.cpu_mfu))

    for load in results["loading"]:
        ratio = load.get("ratio_to_training")
        met = None if ratio is None else ratio >= goals.loading_ratio
        rows.append(goal_row(f"loader / training at size '{load['size']}'", f">= {goals.loading_ratio:g}x", ratio,
                         f"vs fastest: {load.get('fastest_case')}", met,
                         note="" if ratio is not None else "n/a: no training case"))

    gpu = results["gpu"]
    name = "GPU mixed precision speed-up over 32-true"
    if "skipped" in gpu:
        rows.append(goal_row(name, f">= {goals.mixed_speedup:g}x", None, "", None, note=f"skipped: {gpu['skipped']}"))
    else:
        speedup = gpu["mixed_speedup"]
        rows.append(goal_row(name, f">= {goals.mixed_speedup:g}x", speedup, gpu["mixed_precision"],
                         speedup >= goals.mixed_speedup))
    return rows
