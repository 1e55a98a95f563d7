"""Does the packed GPU sweep give the CPU's results? Each run's AUROC against the CPU run of the same
variant and seed, and each variant's mean against the CPU's spread over seeds.

Why two tolerances. A seed fixes the data order and the initial weights, but a GAN's training
amplifies every floating-point difference: the same command gave 91.5% and 92.2% AUROC (ta4 seed 0)
on two CPUs, and ta2 seed 0 92.7% and 92.0% on one CPU run two ways (experiments/localization), so
fp noise alone moves one run by about 1 point. A GPU in bf16-mixed rounds far more than a change of
CPU kernels, so:

- per run, `fp_tolerance` = 2 pp: twice the largest same-seed difference seen between two fp32 CPU
  runs. A run outside it is not wrong; it is a new replicate rather than the same run;
- per variant, the mean over the seeds against the CPU's mean of the same seeds, within
  ``max(floor, 2 * sigma * sqrt(2 / n))``: sigma is the variant's std over 5 CPU seeds, and
  2 * sigma * sqrt(2/n) is the 95% bound of the difference of two means of n independent seeds. This
  is the verdict: if the GPU changed the model's behaviour (not just its rounding), a variant's mean
  moves out of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from vadlit.errors import ConfigError

FP_TOLERANCE = 0.02
SEED_FACTOR = 2.0
FLOOR = 0.01


def load_reference(path: str | Path) -> dict[str, Any]:
    """A CPU reference (experiments/bench_gpu/cpu_reference.json): `runs` [{model, seed, auroc}] and
    `seed_spread` {model: {std, n}}; one clear line when it is missing or malformed."""
    path = Path(path)
    try:
        reference = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no CPU reference at {path}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the CPU reference {path} is unreadable: {exc}") from None
    runs = reference.get("runs") if isinstance(reference, dict) else None
    if not isinstance(runs, list) or not all(isinstance(r, dict) and {"model", "seed", "auroc"} <= r.keys()
                                             for r in runs):
        raise ConfigError(f"the CPU reference {path} needs `runs`: a list of {{model, seed, auroc}}")
    if not isinstance(reference.get("seed_spread", {}), dict):
        raise ConfigError(f"the CPU reference {path}: `seed_spread` must map a model to {{std, n}}")
    return reference


def variant_bound(std: float | None, n: int) -> float | None:
    if std is None or n < 1:
        return None
    return max(FLOOR, SEED_FACTOR * std * math.sqrt(2.0 / n))


def compare(runs: list[dict[str, Any]], reference: dict[str, Any]) -> dict[str, Any]:
    """Per run and per variant, GPU minus CPU AUROC (fractions), each with its tolerance and verdict."""
    cpu = {(str(r["model"]), int(r["seed"])): float(r["auroc"]) for r in reference["runs"] if r.get("auroc") is not None}
    spread = reference.get("seed_spread", {})
    per_run, by_model = [], {}
    for run in runs:
        if run.get("status") != "finished" or run.get("auroc") is None or run.get("model") is None:
            continue
        key = (str(run["model"]), int(run["seed"]))
        ref = cpu.get(key)
        row = {"model": key[0], "seed": key[1], "gpu": run["auroc"], "cpu": ref,
               "delta": None if ref is None else run["auroc"] - ref}
        row["within_fp"] = None if ref is None else abs(row["delta"]) <= FP_TOLERANCE
        per_run.append(row)
        if ref is not None:
            by_model.setdefault(key[0], []).append(row)
    variants = []
    for model, rows in by_model.items():
        n = len(rows)
        delta = sum(r["delta"] for r in rows) / n
        std = (spread.get(model) or {}).get("std")
        bound = variant_bound(std, n)
        variants.append({"model": model, "n": n, "gpu_mean": sum(r["gpu"] for r in rows) / n,
                         "cpu_mean": sum(r["cpu"] for r in rows) / n, "delta": delta, "cpu_seed_std": std,
                         "bound": bound, "within": None if bound is None else abs(delta) <= bound})
    compared = [r for r in per_run if r["cpu"] is not None]
    judged = [v for v in variants if v["within"] is not None]
    return {
        "fp_tolerance": FP_TOLERANCE, "seed_factor": SEED_FACTOR, "floor": FLOOR,
        "runs": per_run, "variants": variants,
        "runs_compared": len(compared), "runs_within_fp": sum(bool(r["within_fp"]) for r in compared),
        "runs_without_reference": len(per_run) - len(compared),
        "variants_within": sum(bool(v["within"]) for v in judged), "variants_judged": len(judged),
        "matches": (all(v["within"] for v in judged) if judged else None),
    }
