"""Per-kind tables of a heads sweep: mean ± std and a 95% interval over seeds, the median 95% interval
over events of single runs, the trivial scores, and per-kind paired t-tests against the baseline.

    .venv/bin/python experiments/temporal_detection_playback/by_kind.py outputs/ablation_heads/multiruns/<sweep>

`vadlit-report` pairs the overall AUROC only; this adds the per-kind view the study needs. It reads
nothing but the runs' own metrics.json files.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats

KINDS = ("object", "running", "loitering", "crossing")
ORDER = ("baseline", "ta1", "ta2", "ta4", "ta8", "tconv")


def load(sweep: Path) -> dict[str, dict[int, dict]]:
    runs: dict[str, dict[int, dict]] = defaultdict(dict)
    for path in sorted(sweep.glob("*/metrics.json")):
        m = json.loads(path.read_text())
        runs[m["model"]["variant"]][int(m["seed"])] = m
    return runs


def values(ms: dict[int, dict], kind: str | None) -> np.ndarray:
    return np.array([100 * (m["auroc"] if kind is None else m["auroc_by_kind"][kind]) for _, m in sorted(ms.items())])


def seed_interval(v: np.ndarray) -> str:
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return f"{v.mean():.1f} ± {v.std(ddof=1):.1f} [{v.mean() - half:.1f}, {v.mean() + half:.1f}]"


def main(sweep: Path) -> None:
    runs = load(sweep)
    variants = [v for v in ORDER if v in runs] + sorted(set(runs) - set(ORDER))
    cols = ("overall",) + KINDS
    print(f"Frame AUROC %, mean ± std over seeds [95% t-interval of the mean]; sweep {sweep.name}\n")
    print("| scores | seeds | " + " | ".join(cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    any_run = next(iter(next(iter(runs.values())).values()))
    for name in ("foreground", "frame_difference"):
        t = any_run["trivial_baselines"][name]
        cells = [f"{100 * t['auroc']:.1f}"] + [f"{100 * t['auroc_by_kind'][k]:.1f}" for k in KINDS]
        print(f"| trivial: {name.replace('_', ' ')} | - | " + " | ".join(cells) + " |")
    for v in variants:
        cells = [seed_interval(values(runs[v], None if c == "overall" else c)) for c in cols]
        print(f"| {v} | {len(runs[v])} | " + " | ".join(cells) + " |")

    print("\nMedian over seeds of the single runs' 95% intervals over events (events and normal videos resampled):\n")
    print("| variant | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * len(KINDS))
    for v in variants:
        cells = []
        for k in KINDS:
            lo = np.median([100 * m["auroc_by_kind_ci"][k][0] for m in runs[v].values()])
            hi = np.median([100 * m["auroc_by_kind_ci"][k][1] for m in runs[v].values()])
            cells.append(f"[{lo:.1f}, {hi:.1f}]")
        print(f"| {v} | " + " | ".join(cells) + " |")

    if "baseline" not in runs:
        return
    print("\nPaired against the baseline over the shared seeds (pp, two-sided paired t-test):\n")
    print("| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for v in variants:
        if v == "baseline":
            continue
        seeds = sorted(set(runs[v]) & set(runs["baseline"]))
        cells = []
        for c in cols:
            kind = None if c == "overall" else c
            a = values({s: runs[v][s] for s in seeds}, kind)
            b = values({s: runs["baseline"][s] for s in seeds}, kind)
            p = stats.ttest_rel(a, b).pvalue if len(seeds) > 1 else float("nan")
            cells.append(f"{(a - b).mean():+.1f} (p {'< 0.001' if p < 0.001 else f'{p:.3f}'})")
        print(f"| {v} (n={len(seeds)}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
