"""The report's localisation section: *where* each variant finds the anomaly, beside the trivial maps.

Per variant, mean ± std over seeds of the `localization` block of metrics.json (pixel AUROC, AUPRO,
RBDC, TBDC); the trivial per-pixel maps (foreground, frame difference) scored on the same pixels,
taken from the runs' `trivial_baselines` (they depend on the data only); and every attention variant
against the baseline, seed by seed, on each of the four numbers.
"""

from __future__ import annotations

from vadlit.reporting.jobs import as_number
from vadlit.reporting.summary import LOCALIZATION, Summary, localization_value, paired
from vadlit.reporting.tables import format_p, format_stat, md_table, pct
from vadlit.reporting.text import DASH

TITLES = {"pixel_auroc": "pixel AUROC", "aupro": "AUPRO", "rbdc": "RBDC", "tbdc": "TBDC"}
TRIVIAL = {"foreground": "trivial: foreground map", "frame_difference": "trivial: frame-difference map"}


def _blocks(summary: Summary) -> list[dict]:
    return [j.metrics["localization"] for v in summary.variants for j in v.finished
            if isinstance(j.metrics.get("localization"), dict)]


def _trivial_rows(summary: Summary) -> list[list[str]]:
    """The trivial maps' numbers of the first finished run that has them (the same data, the same numbers)."""
    for v in summary.variants:
        for j in v.finished:
            trivial = j.metrics.get("trivial_baselines")
            if not isinstance(trivial, dict):
                continue
            rows = []
            for name, title in TRIVIAL.items():
                block = (trivial.get(name) or {}).get("localization") if isinstance(trivial.get(name), dict) else None
                if isinstance(block, dict) and block.get("n_videos_with_masks"):
                    rows.append([title, DASH] + [pct(as_number(block.get(k))) for k in LOCALIZATION])
            if rows:
                return rows
    return []


def localization_section(summary: Summary) -> list[str]:
    """Markdown lines of the section, or one line saying why there is nothing to show."""
    blocks = _blocks(summary)
    masked = [b for b in blocks if b.get("n_videos_with_masks")]
    if not blocks:
        return ["No finished run recorded a `localization` block (`eval.localization=false`, or runs written "
                "before vadlit made anomaly maps)."]
    if not masked:
        return ["No test video has pixel masks: nothing to localise (" + str(blocks[0].get("note", "")) + ")."]
    rows = []
    for v in summary.variants:
        if v.n:
            counts = {localization_value(j, "n_videos_with_masks") for j in v.finished} - {None}
            rows.append([v.label, "/".join(str(int(c)) for c in sorted(counts)) or DASH]
                        + [format_stat(v.localization[k], v.n) for k in LOCALIZATION])
    rows += _trivial_rows(summary)
    header = ["maps", "videos with masks"] + [f"{TITLES[k]} (%)" for k in LOCALIZATION]
    params = masked[0]
    lines = [md_table(header, rows, ["l"] + ["r"] * (len(header) - 1)), "",
             f"Over every pixel of the test videos with masks. AUPRO up to a false-positive rate of "
             f"{params.get('aupro_fpr_limit')}; RBDC/TBDC (Ramachandra & Jones, WACV 2020) with region overlap "
             f"β = {params.get('beta')}, track overlap α = {params.get('alpha')}, integrated over 0 to "
             f"{params.get('fp_limit')} false positives per frame (README, \"Localisation metrics\"). "
             "Variant rows: mean ± std over seeds. Trivial rows: the per-pixel |frame − background| and "
             "|frame − previous frame| on the same pixels; a variant below them localises no better than a "
             "map that needs no model."]
    if summary.has_baseline and summary.pairs:
        pair_rows = []
        for p in summary.pairs:
            row = [p.variant.label]
            for key in LOCALIZATION:
                q = paired(p.variant, p.baseline, lambda job, key=key: localization_value(job, key))
                row.append(DASH if q.mean is None else
                           f"{pct(q.mean, sign=True)} ± {pct(q.std)} ({q.wins}/{q.losses}, p {format_p(q.p_value)})")
            pair_rows.append(row)
        lines += ["", md_table(["vs baseline"] + [f"Δ{TITLES[k]} (pp)" for k in LOCALIZATION], pair_rows,
                               ["l"] + ["r"] * len(LOCALIZATION)), "",
                  "Δ = variant − baseline on the same seed, mean ± std over the seeds both finished, "
                  "(wins/losses), p: two-sided paired t-test over seeds."]
    return lines
