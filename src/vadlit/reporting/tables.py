"""Numbers as the report shows them (percent, `mean ± std`, p-values) and its Markdown tables.

The results table (also printed by `vadlit-report`), the paired comparison with the baseline and the
per-kind AUROC, each built from a `Summary`; `md_table` and the formatters serve report.md's other
tables too.
"""

from __future__ import annotations

from typing import Any

from vadlit.reporting.summary import METRICS, Stat, Summary, VariantSummary
from vadlit.reporting.sweep import Sweep
from vadlit.reporting.text import DASH

METRIC_TITLES = {"auroc": "AUROC", "auroc_macro": "AUROC macro", "auroc_macro_padded": "AUROC padded macro",
                 "ap": "AP", "eer": "EER ↓"}
LOWER_IS_BETTER = {"eer"}


def pct(value: float | None, sign: bool = False) -> str:
    """A fraction in percent with one decimal (`+0.5` with `sign`), `—` for None."""
    if value is None:
        return DASH
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def format_stat(stat: Stat | None, n_finished: int | None = None) -> str:
    """`67.0 ± 1.2` in %, `67.0 ± —` with one value, `—` with none; `(k values)` when some were null."""
    if stat is None or not stat.count:
        return DASH
    text = f"{pct(stat.mean)} ± {pct(stat.std)}"
    if n_finished is not None and stat.count < n_finished:
        text += f" ({stat.count} value{'s' if stat.count != 1 else ''})"
    return text


def format_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    """A Markdown table; `align` is `l` or `r` per column (default: all left); `|` in a cell is escaped."""
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _factor_header(sweep: Sweep) -> list[str]:
    return list(sweep.factors) or ["runs"]


def _factor_cells(summary: Summary, v: VariantSummary, mark: bool = True) -> list[str]:
    cells = [v.display[f] for f in summary.sweep.factors] or ["(all)"]
    if mark and v.test_statistics:
        cells[0] += " ‡"
    return cells


def results_table(summary: Summary) -> str:
    """The main table (Markdown): one row per variant, mean ± std over seeds in %, best mean in bold."""
    best = {}
    for m in METRICS:
        means = [v.stats[m].mean for v in summary.variants if v.stats[m].mean is not None]
        if len(means) >= 2:
            best[m] = min(means) if m in LOWER_IS_BETTER else max(means)
    rows = []
    for v in summary.variants:
        row = _factor_cells(summary, v) + [f"{v.n}/{v.n_expected}"]
        for m in METRICS:
            text = format_stat(v.stats[m], v.n)
            if m in best and v.stats[m].mean == best[m]:
                text = f"**{text}**"
            row.append(text)
        rows.append(row)
    header = _factor_header(summary.sweep) + ["n"] + [f"{METRIC_TITLES[m]} (%)" for m in METRICS]
    return md_table(header, rows, ["l"] * len(_factor_header(summary.sweep)) + ["r"] * (1 + len(METRICS)))


def paired_table(summary: Summary) -> str:
    """Attention variants against the baseline of the same other factors (Markdown), or why there is none."""
    if not summary.has_baseline:
        return ("No baseline (a variant with `model.heads` = 0) in this study: no paired comparison.")
    if not summary.pairs and not summary.unpaired:
        return "No attention variant (`model.heads` > 0) with finished runs: no paired comparison."
    sweep = summary.sweep
    rows = []
    for p in summary.pairs:
        row = [p.variant.display[f] for f in sweep.factors]
        row.append(" ".join(f"{f}={p.baseline.display[f]}" for f in summary.heads_factors) or p.baseline.label)
        diff = DASH if p.mean is None else f"{pct(p.mean, sign=True)} ± {pct(p.std)}"
        wl = f"{p.wins}/{p.losses}" + (f" ({p.ties} ties)" if p.ties else "")
        row += [p.n, diff, wl if p.n else DASH, format_p(p.p_value)]
        rows.append(row)
    for v in summary.unpaired:
        row = [v.display[f] for f in sweep.factors]
        row += ["no baseline with the same " + (", ".join(summary.other_factors) or "factors"), 0, DASH, DASH, DASH]
        rows.append(row)
    header = list(sweep.factors) + ["vs", "pairs", "ΔAUROC (pp)", "wins/losses", "p (paired t)"]
    return md_table(header, rows, ["l"] * (len(sweep.factors) + 1) + ["r"] * 4)


def kinds_table(summary: Summary) -> str:
    if not summary.kinds:
        return "No `auroc_by_kind` in the finished runs."
    rows = []
    for v in summary.variants:
        rows.append(_factor_cells(summary, v, mark=False)
                    + [format_stat(v.by_kind.get(k), v.n) for k in summary.kinds])
    header = _factor_header(summary.sweep) + [f"{k} (%)" for k in summary.kinds]
    return md_table(header, rows, ["l"] * len(_factor_header(summary.sweep)) + ["r"] * len(summary.kinds))
