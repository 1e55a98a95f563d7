"""Write cpu_reference.json: the CPU AUROC of every (variant, seed) the GPU check's ablation runs, and
each variant's spread over seeds, with where each number came from.

    .venv/bin/python experiments/bench_gpu/make_reference.py SWEEP_DIR [SWEEP_DIR ...] \
        [--localization experiments/localization/per_run.csv] [--seeds 0,1,2]

SWEEP_DIRs are CPU sweeps of the heads recipe (`vadlit-train -m experiment=ablation_heads ...`), read
like vadlit-report reads them; a (variant, seed) they lack is taken from the localisation study's
per_run.csv (the same recipe and scoring, baseline and ta2). The spread over seeds is the 5-seed std
of experiments/temporal_detection_v3/results.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "src"))

MODELS = ("baseline", "ta1", "ta2", "ta4", "ta8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweeps", nargs="*", type=Path)
    p.add_argument("--localization", type=Path, default=ROOT / "experiments/localization/per_run.csv")
    p.add_argument("--spread", type=Path, default=ROOT / "experiments/temporal_detection_v3/results.csv")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--machine", default=None, help="what the sweeps ran on (default: this CPU)")
    p.add_argument("--commit", default=None, help="the commit the sweeps ran at")
    p.add_argument("--output", type=Path, default=HERE / "cpu_reference.json")
    args = p.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]

    from vadlit.files import save_text
    from vadlit.tasks.bench.machine import cpu_name
    from vadlit.tasks.bench.packed_ablation import read_runs

    runs: dict[tuple[str, int], dict] = {}
    for sweep in args.sweeps:
        for run in read_runs(sweep)["runs"]:
            if run["status"] == "finished" and run["auroc"] is not None and run["seed"] in seeds:
                runs[(run["model"], run["seed"])] = {"model": run["model"], "seed": run["seed"], "auroc": run["auroc"],
                                                     "source": f"CPU sweep {sweep.name}"}
    if args.localization.is_file():
        with open(args.localization) as f:
            for row in csv.DictReader(f):
                key = (row["variant"], int(row["seed"]))
                if key[1] in seeds and key not in runs:
                    runs[key] = {"model": key[0], "seed": key[1], "auroc": float(row["auroc"]),
                                 "source": "experiments/localization/per_run.csv (2026-12-02, 2 CPU cores)"}
    with open(args.spread) as f:
        spread = {row["model"]: {"std": float(row["auroc_std"]), "mean": float(row["auroc_mean"]), "n": int(row["n"]),
                                 "source": "experiments/temporal_detection_v3/results.csv (seeds 0-4)"}
                  for row in csv.DictReader(f)}
    missing = [(m, s) for m in MODELS for s in seeds if (m, s) not in runs]
    reference = {
        "what": "CPU frame AUROC (micro, fraction) of the make train recipe (12 epochs, reconstruct, data=synthetic) "
                "per variant and seed, 32-true, as vadlit-train -m experiment=ablation_heads writes it",
        "machine": args.machine or f"{cpu_name()}, 2 cores ({platform.machine()})",
        "commit": args.commit, "written": date.today().isoformat(),
        "fp_noise_seen": [
            "ta4 seed 0, make train: 91.5% on one CPU machine, 92.2% on another (README)",
            "ta2 seed 0: 92.7% as a sweep job, 92.0% run alone on the same machine (experiments/localization)",
        ],
        "runs": [runs[k] for k in sorted(runs, key=lambda k: (MODELS.index(k[0]) if k[0] in MODELS else 99, k[1]))],
        "seed_spread": {m: spread[m] for m in MODELS if m in spread},
        "missing": [f"{m} seed {s}" for m, s in missing],
    }
    save_text(args.output, json.dumps(reference, indent=2) + "\n")
    print(f"{args.output}: {len(runs)} runs" + (f"; missing: {', '.join(reference['missing'])}" if missing else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
