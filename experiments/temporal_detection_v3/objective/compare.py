"""The objective study's per-kind comparison: `reconstruct` (runs of the heads sweep) against `predict`
(the `ablation_objective` sweep) for every variant over the seeds both hold, with paired t-tests.

    .venv/bin/python experiments/temporal_detection_v3/objective/compare.py \
        outputs/ablation_heads/multiruns/<heads sweep> outputs/ablation_objective/multiruns/<predict sweep>

The `reconstruct` runs are not re-trained: training is deterministic on a CPU for a fixed seed, and
the code is the one the heads sweep ran. It reads nothing but the runs' own metrics.json files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "temporal_detection_playback"))
from by_kind import KINDS, ORDER, load, seed_interval, values  # noqa: E402


def main(reconstruct_sweep: Path, predict_sweep: Path) -> None:
    rec, pred = load(reconstruct_sweep), load(predict_sweep)
    variants = [v for v in ORDER if v in rec and v in pred]
    cols = ("overall",) + KINDS
    print("Frame AUROC %, mean ± std over seeds [95% t-interval of the mean]\n")
    print("| variant | objective | seeds | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for v in variants:
        seeds = sorted(set(rec[v]) & set(pred[v]))
        for name, runs in (("reconstruct", rec), ("predict", pred)):
            ms = {s: runs[v][s] for s in seeds}
            cells = [seed_interval(values(ms, None if c == "overall" else c)) for c in cols]
            print(f"| {v} | {name} | {len(seeds)} | " + " | ".join(cells) + " |")
    print("\n`reconstruct` minus `predict`, paired over seeds (pp, two-sided paired t-test):\n")
    print("| variant | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for v in variants:
        seeds = sorted(set(rec[v]) & set(pred[v]))
        cells = []
        for c in cols:
            kind = None if c == "overall" else c
            a = values({s: rec[v][s] for s in seeds}, kind)
            b = values({s: pred[v][s] for s in seeds}, kind)
            p = stats.ttest_rel(a, b).pvalue if len(seeds) > 1 else float("nan")
            cells.append(f"{(a - b).mean():+.1f} (p {'< 0.001' if p < 0.001 else f'{p:.3f}'})")
        print(f"| {v} (n={len(seeds)}) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
