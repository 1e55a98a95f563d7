"""Does temporal attention change *where* the model looks? The localisation study's numbers.

    python experiments/localization/analyse.py outputs/localization/multiruns/<sweep> [--out DIR]

Reads the finished runs of an `experiment=localization` sweep (their metrics.json and maps.npz) and
writes into DIR (default: this folder) `results.md` (the tables the README quotes), `per_run.csv`,
`per_video.csv` and `overlays.png`. Every number comes from the runs' own files: the sweep-level
numbers from the `localization` blocks, the per-video ones recomputed from maps.npz with the same
`localization_metrics`, against the masks of the test videos in the frame cache.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from hydra.utils import instantiate
from omegaconf import OmegaConf
from scipy import stats

from vadlit.evaluation.localization import localization_metrics
from vadlit.evaluation.map_files import read_maps, to_score_units
from vadlit.reporting.sweep import load_sweep

KEYS = ("pixel_auroc", "aupro", "rbdc", "tbdc")
KIND_KEYS = ("pixel_auroc", "rbdc", "tbdc")
TITLES = {"pixel_auroc": "pixel AUROC", "aupro": "AUPRO", "rbdc": "RBDC", "tbdc": "TBDC", "auroc": "frame AUROC"}
BASELINE = "baseline"


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f}"


def mean_std(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{pct(np.mean(values))} ± {pct(np.std(values, ddof=1))}" if len(values) > 1 else pct(values[0])


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def finished_runs(sweep_dir: Path) -> dict[str, dict[int, dict]]:
    """variant -> seed -> {path, metrics}."""
    out: dict[str, dict[int, dict]] = {}
    for job in load_sweep(sweep_dir).primary():
        if job.status == "finished" and job.metrics:
            out.setdefault(job.metrics["model"]["variant"], {})[int(job.seed)] = {"path": job.path,
                                                                                   "metrics": job.metrics}
    return out


def test_videos(run_dir: Path):
    """The test videos (frames and masks) the run was scored on, from its own resolved config."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    datamodule = instantiate(cfg.data, _convert_="object")
    datamodule.setup("test")
    return {v.name: v for v in datamodule.test_videos}


def paired(a: list[float], b: list[float]) -> str:
    d = np.subtract(a, b)
    p = stats.ttest_rel(a, b).pvalue if len(d) > 1 and np.ptp(d) > 0 else None
    return (f"{100 * d.mean():+.1f} ± {100 * d.std(ddof=1):.1f} ({int((d > 0).sum())}/{int((d < 0).sum())}, "
            f"p {'—' if p is None else ('< 0.001' if p < 0.001 else f'{p:.3f}')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", type=Path)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    runs = finished_runs(args.sweep)
    variants = sorted(runs, key=lambda v: (v != BASELINE, v))
    other = [v for v in variants if v != BASELINE]
    seeds = sorted(set.intersection(*(set(runs[v]) for v in variants)))
    first = runs[variants[0]][seeds[0]]["metrics"]
    trivial = {name: first["trivial_baselines"][name]["localization"] for name in ("foreground", "frame_difference")}
    kinds = sorted(first["localization"]["pixel_auroc_by_kind"])
    md = [f"Sweep `{args.sweep}`: variants {', '.join(variants)}; seeds {seeds}; "
          f"{first['localization']['n_videos_with_masks']} test videos with masks, "
          f"{first['localization']['n_regions']} regions, {first['localization']['n_tracks']} tracks.", ""]

    # 1. overall: mean ± std over seeds, and the mean of the per-seed intervals over videos
    rows = []
    for v in variants:
        blocks = [runs[v][s]["metrics"]["localization"] for s in seeds]
        row = [v, mean_std([runs[v][s]["metrics"]["auroc"] for s in seeds])]
        for k in KEYS:
            ci = np.mean([b[f"{k}_ci"] for b in blocks if b.get(f"{k}_ci")], axis=0)
            row.append(f"{mean_std([b[k] for b in blocks])} [{pct(ci[0])}, {pct(ci[1])}]")
        rows.append(row)
    for name, block in trivial.items():
        rows.append([f"trivial: {name.replace('_', ' ')} map", pct(first["trivial_baselines"][name]["auroc"])]
                    + [f"{pct(block[k])} [{pct(block[f'{k}_ci'][0])}, {pct(block[f'{k}_ci'][1])}]" for k in KEYS])
    md += ["## Overall (%, mean ± std over seeds [mean 95% interval over videos])", "",
           table(["maps", TITLES["auroc"]] + [TITLES[k] for k in KEYS], rows), ""]

    # 2. per kind
    for k in KIND_KEYS:
        rows = [[v] + [mean_std([runs[v][s]["metrics"]["localization"][f"{k}_by_kind"].get(kind) for s in seeds])
                       for kind in kinds] for v in variants]
        rows += [[f"trivial: {n.replace('_', ' ')} map"] + [pct(b[f"{k}_by_kind"].get(kind)) for kind in kinds]
                 for n, b in trivial.items()]
        md += [f"## {TITLES[k]} per kind (%, mean ± std over seeds)", "", table(["maps"] + kinds, rows), ""]

    # 3. paired over seeds against the baseline
    rows = []
    for v in other:
        def values(variant, key, kind=None):
            blocks = [runs[variant][s]["metrics"]["localization"] for s in seeds]
            return [b[key] if kind is None else b[f"{key}_by_kind"][kind] for b in blocks]

        rows.append([v, "all"] + [paired(values(v, k), values(BASELINE, k)) for k in KEYS])
        for kind in kinds:
            cells = {k: paired(values(v, k, kind), values(BASELINE, k, kind)) for k in KIND_KEYS}
            rows.append([v, kind] + [cells.get(k, "—") for k in KEYS])
    md += ["## Against the baseline, paired over seeds (Δ pp, mean ± std (wins/losses, paired t-test p))", "",
           table(["variant", "kind"] + [f"Δ {TITLES[k]}" for k in KEYS], rows), ""]

    # 4. per video, from maps.npz: the same seed's maps of both variants on each test video with regions
    videos = test_videos(runs[variants[0]][seeds[0]]["path"])
    per_video = []  # (video, kind, variant, seed, pixel_auroc, rbdc)
    for v in variants:
        for s in seeds:
            maps, bounds = read_maps(runs[v][s]["path"] / "maps.npz")
            for name, video in videos.items():
                if video.masks is None or not np.asarray(video.masks).any():
                    continue
                masks = np.asarray(video.masks, bool)
                kind = next(k for k, y in zip(video.kinds, video.labels) if y)
                m = localization_metrics({name: maps[name]}, {name: masks}, n_videos=1)
                per_video.append((name, kind, v, s, m["pixel_auroc"], m["rbdc"]))
    with open(args.out / "per_video.csv", "w", newline="") as f:
        csv.writer(f).writerows([("video", "first_kind", "variant", "seed", "pixel_auroc", "rbdc"), *per_video])
    rows = []
    for v in other:
        for col, key in ((4, "pixel_auroc"), (5, "rbdc")):
            mean = {}
            for variant in (v, BASELINE):
                for name in sorted({r[0] for r in per_video}):
                    vals = [r[col] for r in per_video if r[0] == name and r[2] == variant and r[col] is not None]
                    mean[(variant, name)] = np.mean(vals) if vals else None
            names = [n for n in sorted({r[0] for r in per_video}) if None not in (mean[(v, n)], mean[(BASELINE, n)])]
            d = np.array([mean[(v, n)] - mean[(BASELINE, n)] for n in names])
            p = stats.wilcoxon(d).pvalue if np.any(d != 0) else None
            rows.append([v, TITLES[key], len(names), f"{100 * d.mean():+.1f}", int((d > 0).sum()), int((d < 0).sum()),
                         "—" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")])
    md += ["## Per video (each video's metric averaged over seeds), paired against the baseline", "",
           table(["variant", "metric", "videos", "mean Δ (pp)", "better", "worse", "p (Wilcoxon signed-rank)"],
                 rows), ""]

    with open(args.out / "per_run.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["variant", "seed", "auroc", *KEYS, *(f"{k}_{kind}" for k in KIND_KEYS for kind in kinds)])
        for v in variants:
            for s in seeds:
                b = runs[v][s]["metrics"]["localization"]
                writer.writerow([v, s, runs[v][s]["metrics"]["auroc"], *(b[k] for k in KEYS),
                                 *(b[f"{k}_by_kind"].get(kind) for k in KIND_KEYS for kind in kinds)])
    (args.out / "results.md").write_text("\n".join(md))
    overlays(runs, variants, seeds[0], videos, args.out / "overlays.png")
    print("\n".join(md))


def overlays(runs, variants, seed, videos, path: Path) -> None:
    """One row per kind (the middle frame of its first event): the frame, each variant's map, the mask."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    maps = {v: read_maps(runs[v][seed]["path"] / "maps.npz")[0] for v in variants}
    picks = {}
    for name, video in videos.items():
        if video.masks is None or video.kinds is None:
            continue
        for t, (y, kind) in enumerate(zip(video.labels, video.kinds)):
            if y and kind not in picks and np.asarray(video.masks[t]).any():
                end = t
                while end + 1 < len(video.labels) and video.labels[end + 1] and video.kinds[end + 1] == kind:
                    end += 1
                picks[kind] = (name, (t + end) // 2)
    fig = Figure(figsize=(2.0 * (len(variants) + 2), 2.1 * len(picks)), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(picks), len(variants) + 2, squeeze=False)
    for row, (kind, (name, t)) in zip(axes, sorted(picks.items())):
        frame = np.asarray(videos[name].frames[t]).squeeze()
        row[0].imshow(frame, cmap="gray", vmin=0, vmax=255)
        row[0].set_ylabel(f"{kind}\n{name} · frame {t + 1}", fontsize=8)
        for ax, v in zip(row[1:], variants):
            ax.imshow(frame, cmap="gray", vmin=0, vmax=255)
            shown = ax.imshow(np.clip(to_score_units(maps[v][name][t]), 0, None), cmap="inferno", alpha=0.6,
                              vmin=0, vmax=10)
            ax.contour(np.asarray(videos[name].masks[t]), levels=[0.5], colors="cyan", linewidths=0.8)
        row[-1].imshow(np.asarray(videos[name].masks[t]), cmap="gray")
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], ["test frame", *(f"{v} map (seed {seed})" for v in variants), "mask"]):
        ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.5, label="validation std devs (0-10)")
    fig.savefig(path)


if __name__ == "__main__":
    main()
