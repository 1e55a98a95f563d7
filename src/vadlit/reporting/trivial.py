"""The report's trivial-baselines table: what needs no model, beside every variant's mean.

The trivial scores (foreground, frame difference; see vadlit.evaluation.trivial) depend on the
test data only, so every run on the same data records the same numbers: they are taken from the
finished runs' metrics.json, and runs that disagree (they ran on different data) are named. A module
of its own because it reads its own block of metrics.json (`trivial_baselines`), not the per-variant
statistics the other tables show.
"""

from __future__ import annotations

import json
from typing import Any

from vadlit.reporting.jobs import as_number
from vadlit.reporting.summary import Summary
from vadlit.reporting.tables import format_stat, md_table, pct
from vadlit.reporting.text import DASH

NAMES = {"foreground": "foreground", "frame_difference": "frame difference"}
COLUMNS = (("auroc", "auroc_ci"), ("auroc_macro", None))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _signature(block: dict) -> str:
    keep = ("auroc", "auroc_ci", "auroc_macro", "auroc_by_kind", "auroc_by_kind_ci")
    scores = {name: {k: (block.get(name) or {}).get(k) for k in keep} for name in NAMES}
    return json.dumps(_rounded({**scores, "background": block.get("background")}), sort_keys=True)


def _with_ci(value: Any, ci: Any) -> str:
    text = pct(as_number(value))
    if isinstance(ci, list) and len(ci) == 2 and all(as_number(c) is not None for c in ci):
        text += f" [{pct(ci[0])}, {pct(ci[1])}]"
    return text


def trivial_section(summary: Summary) -> list[str]:
    """Markdown lines: one row per trivial score (per distinct set when runs disagree), then one row per
    variant (mean over seeds), with overall and per-kind AUROC."""
    finished = [j for v in summary.variants for j in v.finished]
    sets: dict[str, tuple[dict, list[str]]] = {}
    without = []
    for job in finished:
        block = job.metrics.get("trivial_baselines")
        if not isinstance(block, dict):
            without.append(job.name)
            continue
        sets.setdefault(_signature(block), (block, []))[1].append(job.name)
    if not sets:
        return ["No finished run recorded `trivial_baselines` (runs written before vadlit measured them)."]
    kinds = list(summary.kinds)
    for block, _ in sets.values():
        for name in NAMES:
            kinds += [k for k in ((block.get(name) or {}).get("auroc_by_kind") or {}) if k not in kinds]
    rows = []
    for i, (block, _) in enumerate(sets.values(), 1):
        tag = f" (set {i})" if len(sets) > 1 else ""
        for name, title in NAMES.items():
            m = block.get(name)
            if not isinstance(m, dict):
                rows.append([f"trivial: {title}{tag}"] + [DASH] * (len(COLUMNS) + len(kinds)))
                continue
            ci = m.get("auroc_by_kind_ci") or {}
            rows.append([f"trivial: {title}{tag}"] + [_with_ci(m.get(k), m.get(c)) for k, c in COLUMNS]
                        + [_with_ci((m.get("auroc_by_kind") or {}).get(k), ci.get(k)) for k in kinds])
    for v in summary.variants:
        if v.n:
            rows.append([v.label] + [format_stat(v.stats[k], v.n) for k, _ in COLUMNS]
                        + [format_stat(v.by_kind.get(k), v.n) for k in kinds])
    header = ["scores", "AUROC (%)", "AUROC macro (%)"] + [f"{k} (%)" for k in kinds]
    lines = [md_table(header, rows, ["l"] + ["r"] * (len(header) - 1)), "",
             "Trivial rows: the same test frames scored by the mean |frame − background| (foreground; background = "
             + "; ".join(sorted({str(b.get('background')) for b, _ in sets.values()}))
             + ") and by the mean |frame − previous frame| (frame difference), with 95% bootstrap intervals over "
             "events. Variant rows: mean ± std over seeds. On a kind where a variant does not beat these rows, it "
             "is no better than a score that needs no model."]
    if len(sets) > 1:
        lines += ["", f"> **⚠ The runs disagree on the trivial baselines**: {len(sets)} different sets, so they "
                      "were tested on different data (or with different post-processing)."]
        lines += [f"> - set {i}: " + ", ".join(f"`{n}`" for n in names) for i, (_, names) in enumerate(sets.values(), 1)]
    if without:
        lines += ["", f"{len(without)} finished run(s) recorded no trivial baselines: "
                  + ", ".join(f"`{n}`" for n in without)]
    return lines
