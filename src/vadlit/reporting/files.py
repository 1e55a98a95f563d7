"""The report's files: results.csv (one row per variant), report.png (AUROC plot) and `write_report`.

`write_report` is the one entry point that writes: it summarises the sweep and writes report.md (from
`markdown`), results.csv and report.png into one folder, turning an unwritable folder into a VadlitError.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from vadlit.errors import VadlitError
from vadlit.files import FileSet, all_or_none, save_figure, save_text
from vadlit.reporting.markdown import render_markdown
from vadlit.reporting.summary import LOCALIZATION, METRICS, Summary, VariantSummary, summarize
from vadlit.reporting.sweep import Sweep


MIN_RANGE = 20.0  # points of AUROC the plot's y-axis spans at least


def write_csv(summary: Summary, path: Path, files: FileSet | None = None) -> Path:
    """One row per variant: factor values, heads, n, and mean / std of every metric as fractions."""
    header = [*summary.sweep.factors, "variant", "heads", "n", "n_expected", "uses_test_statistics"]
    for m in METRICS:
        header += [f"{m}_mean", f"{m}_std"]
    for k in summary.kinds:
        header += [f"auroc_{k}_mean", f"auroc_{k}_std"]
    for k in LOCALIZATION:
        header += [f"{k}_mean", f"{k}_std"]

    def num(x):
        return "" if x is None else repr(float(x))

    fh = io.StringIO()
    writer = csv.writer(fh)
    writer.writerow(header)
    for v in summary.variants:
        row = ["" if v.factors[f] is None else v.factors[f] for f in summary.sweep.factors]
        ts = len(v.test_statistics)
        row += [v.label, "" if v.heads is None else v.heads, v.n, v.n_expected,
                "" if not v.n else ("true" if ts == v.n else "false" if ts == 0 else "mixed")]
        for m in METRICS:
            row += [num(v.stats[m].mean), num(v.stats[m].std)]
        for k in summary.kinds:
            s = v.by_kind.get(k)
            row += [num(s.mean if s else None), num(s.std if s else None)]
        for k in LOCALIZATION:
            row += [num(v.localization[k].mean), num(v.localization[k].std)]
        writer.writerow(row)
    save_text(path, fh.getvalue(), files)
    return path


def write_plot(summary: Summary, path: Path, files: FileSet | None = None) -> Path:
    """AUROC (micro) against the number of heads (categorical), one line per combination of the other
    factors, error bars = std over seeds, faint dots = single seeds. Without varying heads: against the
    first factor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sweep = summary.sweep
    fig = Figure(figsize=(6.4, 4.2), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    plotted = [v for v in summary.variants if v.stats["auroc"].count]
    heads_vary = len({v.heads for v in plotted if v.heads is not None}) > 1
    if heads_vary:
        plotted = [v for v in plotted if v.heads is not None]
        xs = sorted({v.heads for v in plotted})
        xlabels = ["baseline" if h == 0 else str(h) for h in xs]
        xpos = lambda v: xs.index(v.heads)  # noqa: E731
        line_factors = summary.other_factors
        xlabel = "temporal-attention heads"
    elif sweep.factors:
        first = sweep.factors[0]
        vals = [val for val in sweep.factor_values[first] if any(v.factors[first] == val for v in plotted)]
        xlabels = []
        for val in vals:
            shown = [v.display[first] for v in plotted if v.factors[first] == val]
            xlabels.append(shown[0] if shown else str(val))
        xpos = lambda v: vals.index(v.factors[first])  # noqa: E731
        line_factors = sweep.factors[1:]
        xlabel = first
    else:
        xlabels = ["all runs"]
        xpos = lambda v: 0  # noqa: E731
        line_factors = []
        xlabel = ""

    lines: dict[tuple, list[VariantSummary]] = {}
    for v in plotted:
        lines.setdefault(tuple(v.factors[f] for f in line_factors), []).append(v)
    colors = [f"C{i}" for i in range(10)]
    for i, (key, members) in enumerate(lines.items()):
        members = sorted(members, key=xpos)
        color = colors[i % len(colors)]
        x = np.array([xpos(v) for v in members], dtype=float)
        offset = (i - (len(lines) - 1) / 2) * 0.06
        y = np.array([100 * v.stats["auroc"].mean for v in members])
        err = np.array([100 * (v.stats["auroc"].std or 0.0) for v in members])
        label = ", ".join(f"{f}={members[0].display[f]}" for f in line_factors) or None
        ax.errorbar(x + offset, y, yerr=err, marker="o", capsize=4, color=color, label=label, linewidth=1.6)
        for v, xv in zip(members, x):
            vals = 100 * np.array(v.stats["auroc"].values)
            ax.scatter(np.full(len(vals), xv + offset + 0.08), vals, s=10, color=color, alpha=0.35, linewidths=0)
            if v.n < v.n_expected:
                low = 100 * (v.stats["auroc"].mean - (v.stats["auroc"].std or 0.0))
                ax.annotate(f"n={v.n}/{v.n_expected}", (xv + offset, low), textcoords="offset points",
                            xytext=(0, -10), ha="center", fontsize=7, color=color)
    if not plotted:
        ax.text(0.5, 0.5, "no finished run with an AUROC", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
    else:
        ax.set_xticks(range(len(xlabels)))
        ax.set_xticklabels(xlabels)
        ax.set_xlim(-0.5, len(xlabels) - 0.5)
    # a chance line and at least MIN_RANGE points of y-axis: a 0.07-point spread must not fill the plot
    ax.axhline(50, color="grey", linestyle="--", linewidth=0.8, label="chance (50)")
    low, high = ax.get_ylim()
    if high - low < MIN_RANGE:
        middle = (low + high) / 2
        low, high = middle - MIN_RANGE / 2, middle + MIN_RANGE / 2
    ax.set_ylim(max(0.0, min(low, 48.0)), min(100.0, max(high, low + MIN_RANGE)))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("frame-level AUROC (%)")
    where = sweep.path.resolve()
    name = f"{where.parent.parent.name} / {where.name}" if where.parent.name == "multiruns" else where.name
    ax.set_title(f"AUROC (mean ± std over seeds): {name}", fontsize=10)
    ax.grid(True, alpha=0.3)
    if any(k for k in lines) and len(lines) > 1 or (len(lines) == 1 and line_factors):
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    save_figure(fig, path, files)
    return path


def write_report(sweep: Sweep, out_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write report.md, results.csv and report.png into `out_dir` (default: the sweep folder)."""
    out = Path(out_dir) if out_dir is not None else sweep.path
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VadlitError(f"cannot create the output folder {out}: {exc.strerror or exc}") from exc
    summary = summarize(sweep)
    paths = {"report.md": out / "report.md", "results.csv": out / "results.csv", "report.png": out / "report.png"}
    try:
        with all_or_none() as files:  # the three files of one report, never a mix of two reports
            save_text(paths["report.md"], render_markdown(summary), files)
            write_csv(summary, paths["results.csv"], files)
            write_plot(summary, paths["report.png"], files)
    except OSError as exc:
        raise VadlitError(f"cannot write the report into {out}: {exc.strerror or exc}") from exc
    return paths
