"""A `Summary` -> report.md: what was run and found, the tables, and every job that is not in them.

The tables themselves come from `tables` and `trivial`; this module adds the header (runs, factors,
replicates, test data, test statistics used), the notes under each table and the lists of failed,
unfinished, missing and superseded jobs.
"""

from __future__ import annotations

from vadlit.reporting.jobs import REPLICATE, Job
from vadlit.reporting.summary import Summary
from vadlit.reporting.localization import localization_section
from vadlit.reporting.tables import METRIC_TITLES, kinds_table, md_table, paired_table, results_table
from vadlit.reporting.text import DASH
from vadlit.reporting.trivial import trivial_section


def _setup_lines(summary: Summary) -> list[str]:
    """What the finished runs were tested on; anything that differs between them is named."""
    finished = [j for v in summary.variants for j in v.finished]
    if not finished:
        return []
    fields: dict[str, list] = {}

    def add(name, value):
        value = "x".join(map(str, value)) if isinstance(value, list) else value
        fields.setdefault(name, [])
        if value not in fields[name]:
            fields[name].append(value)

    for j in finished:
        data = j.metrics.get("data") or {}
        if isinstance(data, dict):
            for k in ("source", "image_size", "channels", "clip_len", "test_stride"):
                if k in data:
                    add(k, data[k])
        for k in ("n_videos", "n_frames"):
            if k in j.metrics:
                add(k, j.metrics[k])
    parts, varies = [], []
    for k, vals in fields.items():
        if len(vals) == 1:
            parts.append(f"{k} {vals[0]}")
        else:
            varies.append(f"{k} ({', '.join(map(str, vals))})")
    lines = []
    if parts:
        lines.append("- Test data: " + ", ".join(parts))
    if varies:
        lines.append("- Differs between runs: " + ", ".join(varies) + " (check that this is a factor of the study)")
    return lines


def _convention_lines(summary: Summary) -> list[str]:
    """One bullet per frame-level AUROC column: the convention recorded in the runs' metrics.json
    (`conventions`), every distinct one when runs disagree, or that it was not recorded."""
    recorded: dict[str, list[str]] = {}
    for j in (j for v in summary.variants for j in v.finished):
        conventions = j.metrics.get("conventions")
        for key in ("auroc", "auroc_macro", "auroc_macro_padded"):
            text = conventions.get(key) if isinstance(conventions, dict) else None
            recorded.setdefault(key, [])
            if text and text not in recorded[key]:
                recorded[key].append(text)
    lines = [f"- {METRIC_TITLES[key]}: " + (" / ".join(texts) or "not recorded by these runs")
             for key, texts in recorded.items()]
    return lines + ["- AP and EER: all test frames of all videos pooled (micro), like AUROC."]


def _runs_table(jobs: list[Job], what: str) -> str:
    rows = [[f"`{j.name}`" if j.path else DASH, f"`{j.overrides_text()}`", j.reason or ""] for j in jobs]
    return md_table(["run folder", "overrides", what], rows)


def render_markdown(summary: Summary) -> str:
    sweep = summary.sweep
    c = sweep.counts()
    lines = [f"# Results: `{sweep.path}`", ""]
    counts = (f"{c['expected']} expected · {c['finished']} finished · {c['failed']} failed · "
              f"{c['unfinished']} unfinished · {c['missing']} missing")
    if c["outside_grid"]:
        counts += f" · {c['outside_grid']} outside the grid"
    if c["superseded"]:
        counts += f" · {c['superseded']} superseded"
    lines.append(f"- Runs: {counts}")
    lines.append(f"- Expected jobs from: {sweep.grid_source}")
    if sweep.factors:
        lines.append("- Factors: " + "; ".join(
            f"`{f}` ({', '.join('(default)' if v is None else str(v) for v in sweep.factor_values[f])})"
            for f in sweep.factors))
    else:
        lines.append("- Factors: none (every run has the same overrides apart from the seed)")
    seeds = sorted({j.seed for j in sweep.primary() if j.seed is not None}, key=str)
    lines.append(f"- Replicates: `{REPLICATE}` ({', '.join(map(str, seeds)) or 'not recorded'})")
    if sweep.fixed:
        lines.append("- Fixed overrides: " + " ".join(f"`{k}={v}`" for k, v in sweep.fixed.items()))
    lines += _setup_lines(summary)
    lines += [f"- Note: {n}" for n in sweep.notes]
    if summary.test_statistics:
        lines += ["", f"> **⚠ Test statistics used** by {len(summary.test_statistics)} finished run(s) "
                      "(marked ‡): their scores were post-processed with statistics of the test videos, "
                      "so they are not comparable with runs that were not."]
        for v in summary.variants:
            if v.test_statistics:
                opts = {}
                for j in v.test_statistics:
                    for k, val in j.test_statistic_options().items():
                        opts.setdefault(k, [])
                        if val not in opts[k]:
                            opts[k].append(val)
                text = (", ".join(f"`{k}={'/'.join(map(str, vals))}`" for k, vals in opts.items())
                        or "(options not recorded)")
                seeds_ts = ", ".join(str(j.seed) for j in v.test_statistics)
                lines.append(f"> - {v.label} (seeds {seeds_ts}): {text}")

    lines += ["", "## Results (mean ± std over seeds, %)", "", results_table(summary), "",
              "n = finished seeds / expected seeds. ± is the sample standard deviation over seeds (ddof=1; "
              "— with one seed). Best mean per column in bold (lowest for EER). Frame-level conventions, as "
              "the runs recorded them:", *_convention_lines(summary)]
    if summary.test_statistics:
        lines.append("‡ used test statistics (see above).")

    lines += ["", "## Attention vs baseline (paired over seeds)", "", paired_table(summary)]
    if summary.has_baseline and summary.pairs:
        same = ", ".join(f"`{f}`" for f in summary.other_factors)
        lines += ["", "ΔAUROC = AUROC(variant) − AUROC(baseline" + (f" with the same {same}" if same else "")
                  + ") on the same seed, in percentage points: mean ± std over the seeds both finished. "
                  "wins/losses count seeds where the variant is better/worse. p: two-sided paired t-test "
                  "(scipy.stats.ttest_rel); — with fewer than 2 pairs or identical differences."]

    lines += ["", "## AUROC per anomaly kind (mean ± std over seeds, %)", "", kinds_table(summary)]

    lines += ["", "## Trivial baselines on the same test frames (%)", "", *trivial_section(summary)]

    lines += ["", "## Where: localisation (mean ± std over seeds, %)", "", *localization_section(summary)]

    lines += ["", "## Runs not in the table", ""]
    failed, unfinished, missing = sweep.by_status("failed"), sweep.by_status("unfinished"), sweep.by_status("missing")
    if not (failed or unfinished or missing or sweep.superseded):
        lines.append("None: every expected job finished.")
    if failed:
        lines += [f"### Failed ({len(failed)})", "", _runs_table(failed, "error"), ""]
    if unfinished:
        lines += [f"### Unfinished ({len(unfinished)})", "", _runs_table(unfinished, "state"), ""]
    if missing:
        lines += [f"### Missing ({len(missing)})", "",
                  "Jobs of the grid with no folder (never launched, or the sweep stopped before them).", "",
                  _runs_table(missing, "state"), ""]
    if sweep.superseded:
        rows = [[f"`{j.name}`", f"`{j.overrides_text()}`", j.status + (f": {j.reason}" if j.reason else ""),
                 f"`{j.superseded_by}`"] for j in sweep.superseded]
        lines += [f"### Superseded ({len(sweep.superseded)})", "",
                  "Folders with the same overrides as another one; the finished (else latest) one is used.", "",
                  md_table(["run folder", "overrides", "state", "used instead"], rows), ""]
    if sweep.outside_grid:
        lines += ["Found outside the grid of multirun.yaml (included above): "
                  + ", ".join(f"`{j.name}`" for j in sweep.outside_grid), ""]
    lines += ["", "## Plot", "", "![AUROC](report.png)", ""]
    text = "\n".join(lines).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
