"""vadlit-report on fake sweep folders (multirun.yaml + job folders as Hydra and vadlit write them)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from vadlit.cli.report import main
from vadlit.errors import VadlitError
from vadlit.reporting.files import write_report
from vadlit.reporting.grid import basic_sweeper_jobs, expand_grid, overrides_parser
from vadlit.reporting.summary import summarize
from vadlit.reporting.sweep import load_sweep
from vadlit.reporting.tables import results_table

from tests.helpers.sweeps import HEADS, fake_metrics, write_job, write_multirun

KINDS = ("object", "running")


def auroc_of(model: str, seed: int, objective: str = "reconstruct") -> float:
    rng = np.random.default_rng([HEADS[model], seed, objective == "predict"])
    return float(0.6 + 0.02 * HEADS[model] ** 0.5 + (0.08 if objective == "predict" else 0) + rng.normal(0, 0.02))


FAILED = ("ta2", 1)
UNFINISHED = ("ta4", 2)
MISSING = ("ta8", 0)
ERROR = "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"


@pytest.fixture
def heads_sweep(tmp_path) -> Path:
    """5 variants x 3 seeds; one failed, one unfinished (killed), one missing; params from the experiment."""
    root = tmp_path / "ablation_heads"
    write_multirun(root, ["experiment=ablation_heads"], {"model": "baseline,ta1,ta2,ta4,ta8", "seed": "0,1,2"})
    num = 0
    for model in HEADS:
        for seed in range(3):
            overrides = ["experiment=ablation_heads", f"model={model}", f"seed={seed}"]
            name = f"{num}-model={model},seed={seed}"
            num += 1
            if (model, seed) == MISSING:
                continue
            if (model, seed) == FAILED:
                write_job(root, name, overrides, "failed", error=ERROR)
            elif (model, seed) == UNFINISHED:
                write_job(root, name, overrides, "running")
            else:
                write_job(root, name, overrides, "finished", fake_metrics(model, seed, auroc_of(model, seed)))
    return root


def finished_seeds(model: str) -> list[int]:
    return [s for s in range(3) if (model, s) not in (FAILED, UNFINISHED, MISSING)]


def table_rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines()[2:]:
        cells = [c.strip().strip("*").strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def test_expand_grid_is_hydras(tmp_path):
    write_multirun(tmp_path, ["model=ta4", "seed=0,1"], {"model": "baseline,ta4", "seed": "0,1,2", "lr": "1e-3,1e-4"})
    grid, source = expand_grid(tmp_path / "multirun.yaml")
    assert "multirun.yaml" in source
    # the command line wins for the same key; keys keep the order of the sweeper's params
    assert grid == [["model=ta4", "seed=0", f"lr={lr}"] for lr in ("0.001", "0.0001")] + [
        ["model=ta4", "seed=1", f"lr={lr}"] for lr in ("0.001", "0.0001")]


@pytest.mark.parametrize("arguments", [
    [],
    ["model=baseline,ta4", "seed=0,1,2"],
    ["model=ta4", "seed=0,1", "model=baseline,ta2", "lr=1e-3,1e-4"],  # a key given twice: the last wins
    ["seed=range(0,6,2)", "+model.objective=reconstruct,predict", "++trainer.max_epochs=3", "~data.root"],
    ["model=choice(baseline,ta4)", "data@data=synthetic", "name='a,b'", "tags=[a,b]", "opt={lr:1,b:2}"],
    ["x=sort(3,1,2)", "y=sort(range(1,4),reverse=true)", "z=1.0,2e-3,null,true"],
    ["lr=interval(0,1)"],  # BasicSweeper cannot enumerate it
    ["model=glob(*)"],  # needs the config tree
])
def test_grid_expansion_is_basic_sweepers(arguments):
    """basic_sweeper_jobs (public API) gives what BasicSweeper.split_arguments (hydra._internal) gives."""
    sweeper = pytest.importorskip("hydra._internal.core_plugins.basic_sweeper").BasicSweeper

    def expand(how):
        try:
            return how(overrides_parser().parse_overrides(arguments))
        except Exception as exc:  # noqa: BLE001 - the same failure is part of the same behaviour
            return f"{type(exc).__name__}: {exc}"

    assert expand(basic_sweeper_jobs) == expand(lambda o: [list(b) for b in sweeper.split_arguments(o, None)[0]])


def test_heads_sweep_table(heads_sweep):
    sweep = load_sweep(heads_sweep)
    assert sweep.factors == ["model"]
    assert sweep.fixed == {"experiment": "ablation_heads"}
    assert sweep.counts() == {"expected": 15, "finished": 12, "failed": 1, "unfinished": 1, "missing": 1,
                              "outside_grid": 0, "superseded": 0}
    summary = summarize(sweep)
    assert [v.label for v in summary.variants] == [f"model={m}" for m in HEADS]
    assert [v.heads for v in summary.variants] == list(HEADS.values())
    rows = table_rows(results_table(summary))
    assert list(rows) == list(HEADS)
    for v in summary.variants:
        model = v.display["model"]
        seeds = finished_seeds(model)
        assert (v.n, v.n_expected) == (len(seeds), 3)
        assert sorted(v.seeds) == seeds
        values = np.array([auroc_of(model, s) for s in seeds])
        assert v.stats["auroc"].mean == pytest.approx(values.mean())
        assert v.stats["auroc"].std == pytest.approx(values.std(ddof=1))
        assert v.stats["eer"].mean == pytest.approx((1 - values - 0.05).mean())
        assert v.by_kind["object"].mean == pytest.approx((values + 0.1).mean())
        row = rows[model]
        assert row[1] == f"{len(seeds)}/3"
        assert row[2] == f"{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f}"
        assert row[3] == f"{100 * (values - 0.02).mean():.1f} ± {100 * (values - 0.02).std(ddof=1):.1f}"


def test_heads_sweep_paired_comparison(heads_sweep):
    summary = summarize(load_sweep(heads_sweep))
    assert summary.has_baseline and not summary.unpaired
    pairs = {p.variant.display["model"]: p for p in summary.pairs}
    assert set(pairs) == {"ta1", "ta2", "ta4", "ta8"}
    for model, pair in pairs.items():
        seeds = finished_seeds(model)  # the baseline finished every seed
        a = np.array([auroc_of(model, s) for s in seeds])
        b = np.array([auroc_of("baseline", s) for s in seeds])
        d = a - b
        assert sorted(pair.seeds) == seeds and pair.n == len(seeds)
        assert pair.mean == pytest.approx(d.mean())
        assert pair.std == pytest.approx(d.std(ddof=1))
        assert (pair.wins, pair.losses) == ((d > 0).sum(), (d < 0).sum())
        assert pair.p_value == pytest.approx(stats.ttest_rel(a, b).pvalue)
    paths = write_report(load_sweep(heads_sweep), heads_sweep / "out")
    text = paths["report.md"].read_text()
    d = np.array([auroc_of("ta1", s) - auroc_of("baseline", s) for s in range(3)])
    p = stats.ttest_rel([auroc_of("ta1", s) for s in range(3)], [auroc_of("baseline", s) for s in range(3)]).pvalue
    line = next(ln for ln in text.splitlines() if ln.startswith("| ta1 | model=baseline |"))
    assert f"| 3 | {100 * d.mean():+.1f} ± {100 * d.std(ddof=1):.1f} |" in line
    assert f"| {(d > 0).sum()}/{(d < 0).sum()} |" in line
    assert line.endswith(f"| {'< 0.001' if p < 0.001 else f'{p:.3f}'} |")


def test_heads_sweep_lists_runs_not_in_the_table(heads_sweep):
    paths = write_report(load_sweep(heads_sweep))
    assert set(paths) == {"report.md", "results.csv", "report.png"}
    assert all(p.parent == heads_sweep for p in paths.values())
    text = paths["report.md"].read_text()
    assert f"# Results: `{heads_sweep}`" in text
    assert "15 expected · 12 finished · 1 failed · 1 unfinished · 1 missing" in text
    failed = text.split("### Failed (1)")[1].split("###")[0]
    assert "`7-model=ta2,seed=1`" in failed and "model=ta2 seed=1" in failed and ERROR in failed
    unfinished = text.split("### Unfinished (1)")[1].split("###")[0]
    assert "`11-model=ta4,seed=2`" in unfinished and "status running" in unfinished
    missing = text.split("### Missing (1)")[1].split("##")[0]
    assert "model=ta8 seed=0 experiment=ablation_heads" in missing
    assert "## AUROC per anomaly kind" in text and "| object (%) | running (%) |" in text
    assert "Test statistics" not in text


def test_results_csv_parses_back(heads_sweep):
    sweep = load_sweep(heads_sweep)
    paths = write_report(sweep, heads_sweep / "out")
    with open(paths["results.csv"]) as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == list(HEADS)
    for row in rows:
        model = row["model"]
        values = np.array([auroc_of(model, s) for s in finished_seeds(model)])
        assert int(row["n"]) == len(values) and int(row["n_expected"]) == 3 and int(row["heads"]) == HEADS[model]
        assert float(row["auroc_mean"]) == pytest.approx(values.mean(), abs=1e-12)
        assert float(row["auroc_std"]) == pytest.approx(values.std(ddof=1), abs=1e-12)
        assert float(row["auroc_running_mean"]) == pytest.approx((values - 0.1).mean(), abs=1e-12)
        assert row["uses_test_statistics"] == "false"
    png = paths["report.png"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_two_factor_study_pairs_within_objective(tmp_path):
    root = tmp_path / "heads_x_objective"
    write_multirun(root, ["model=baseline,ta4", "seed=0,1,2"], {"+model.objective": "reconstruct,predict"})
    num = 0
    for objective in ("reconstruct", "predict"):
        for model in ("baseline", "ta4"):
            for seed in range(3):
                overrides = [f"+model.objective={objective}", f"model={model}", f"seed={seed}"]
                metrics = fake_metrics(model, seed, auroc_of(model, seed, objective), objective)
                write_job(root, str(num), overrides, "finished", metrics)
                num += 1
    sweep = load_sweep(root)
    assert sweep.factors == ["model.objective", "model"]
    assert sweep.counts()["expected"] == 12 and sweep.counts()["missing"] == 0
    summary = summarize(sweep)
    assert summary.heads_factors == ["model"] and summary.other_factors == ["model.objective"]
    assert len(summary.pairs) == 2
    for pair in summary.pairs:
        objective = pair.variant.factors["model.objective"]
        assert pair.baseline.factors == {"model.objective": objective, "model": "baseline"}
        d = [auroc_of("ta4", s, objective) - auroc_of("baseline", s, objective) for s in range(3)]
        assert pair.mean == pytest.approx(np.mean(d))
        assert pair.p_value == pytest.approx(stats.ttest_rel(
            [auroc_of("ta4", s, objective) for s in range(3)],
            [auroc_of("baseline", s, objective) for s in range(3)]).pvalue)
    paths = write_report(sweep, tmp_path / "out")
    text = paths["report.md"].read_text()
    assert "| predict | ta4 | model=baseline | 3 |" in text
    assert "with the same `model.objective`" in text
    assert paths["report.png"].read_bytes()[:4] == b"\x89PNG"


def test_no_baseline_and_test_statistics_are_reported(tmp_path):
    root = tmp_path / "clip_len"
    write_multirun(root, ["model=ta4", "data.clip_len=8,16", "seed=0,1"], None)
    for i, (clip, seed) in enumerate([(8, 0), (8, 1), (16, 0), (16, 1)]):
        metrics = fake_metrics("ta4", seed, 0.6 + 0.01 * clip + 0.01 * seed, clip_len=clip, test_stats=(clip == 16))
        write_job(root, str(i), ["model=ta4", f"data.clip_len={clip}", f"seed={seed}"], "finished", metrics)
    sweep = load_sweep(root)
    assert sweep.factors == ["data.clip_len"]
    summary = summarize(sweep)
    assert not summary.has_baseline
    assert [v.stats["auroc"].mean for v in summary.variants] == pytest.approx([0.685, 0.765])
    paths = write_report(sweep, tmp_path / "out")
    text = paths["report.md"].read_text()
    assert "No baseline" in text and "ΔAUROC" not in text
    assert "Test statistics used" in text and "`per_video_normalization=True`" in text
    assert "| 16 ‡ | 2/2 |" in text
    assert "clip_len (8, 16)" in text  # named as differing between runs
    with open(paths["results.csv"]) as fh:
        assert [r["uses_test_statistics"] for r in csv.DictReader(fh)] == ["false", "true"]


def test_without_multirun_yaml_jobs_found_are_expected_and_duplicates_listed(tmp_path):
    root = tmp_path / "runs"
    write_job(root, "a", ["model=baseline", "seed=0"], "failed", error="ValueError: first try")
    write_job(root, "b", ["model=baseline", "seed=0"], "finished", fake_metrics("baseline", 0, 0.61))
    write_job(root, "c", ["model=ta4", "seed=0"], "finished", fake_metrics("ta4", 0, 0.66))
    sweep = load_sweep(root)
    c = sweep.counts()
    assert (c["expected"], c["finished"], c["failed"], c["superseded"]) == (2, 2, 0, 1)
    text = write_report(sweep)["report.md"].read_text()
    assert "no multirun.yaml" in text
    superseded = text.split("### Superseded (1)")[1]
    assert "`a`" in superseded and "first try" in superseded and "`b`" in superseded
    assert "| 1/1 | 61.0 ± — |" in text
    assert "| ta4 | model=baseline | 1 | +5.0 ± — | 1/0 | — |" in text


def test_load_sweep_errors(tmp_path):
    with pytest.raises(VadlitError, match="no such folder"):
        load_sweep(tmp_path / "nope")
    with pytest.raises(VadlitError, match="no job folder"):
        load_sweep(tmp_path)


def test_cli_prints_table_and_paths(heads_sweep, tmp_path, capsys):
    assert main([str(heads_sweep), "--out", str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "| model | n | AUROC (%) | AUROC macro (%) | AUROC padded macro (%) | AP (%) | EER ↓ (%) |" in out
    assert "| ta2 | 2/3 |" in out
    for name in ("report.md", "results.csv", "report.png"):
        assert f"wrote {tmp_path / 'report' / name}" in out
        assert (tmp_path / "report" / name).is_file()


def test_cli_errors_are_one_line(tmp_path, capsys):
    for bad in (tmp_path / "missing", tmp_path):
        with pytest.raises(SystemExit) as exc:
            main([str(bad)])
        assert exc.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("vadlit-report: error: ") and str(bad) in lines[0]


def test_resumed_sweep_matches_its_jobs(tmp_path):
    """`resume=true` (or another trainer / data.root) on the re-run does not make jobs missing or a factor."""
    root = tmp_path / "resumed"
    write_multirun(root, ["experiment=ablation_heads", "resume=true", "trainer=gpu"],
                   {"model": "baseline,ta4", "seed": "0,1"})
    for i, (model, seed) in enumerate([("baseline", 0), ("baseline", 1), ("ta4", 0), ("ta4", 1)]):
        extra = ["resume=true", "trainer=gpu"] if i % 2 else []
        write_job(root, str(i), [f"model={model}", f"seed={seed}", "experiment=ablation_heads", *extra],
                  "finished", fake_metrics(model, seed, auroc_of(model, seed)))
    sweep = load_sweep(root)
    assert sweep.factors == ["model"]
    c = sweep.counts()
    assert (c["expected"], c["finished"], c["missing"], c["outside_grid"]) == (4, 4, 0, 0)


def test_the_report_localises_each_variant_and_pairs_it_with_the_baseline(heads_sweep, tmp_path):
    from tests.helpers.sweeps import fake_localization

    paths = write_report(load_sweep(heads_sweep), tmp_path / "report")
    md = paths["report.md"].read_text()
    section = md.split("## Where: localisation")[1].split("\n## ")[0]
    rows = table_rows(section.split("\n\n")[1])
    seeds = finished_seeds("ta4")
    rbdc = [fake_localization("ta4", s)["rbdc"] for s in seeds]
    assert rows["model=ta4"][1] == "6"
    assert rows["model=ta4"][4] == f"{100 * np.mean(rbdc):.1f} ± {100 * np.std(rbdc, ddof=1):.1f}"
    pairs = table_rows(section.split("\n\n")[3])
    both = [s for s in seeds if s in finished_seeds("baseline")]
    a = [fake_localization("ta4", s)["tbdc"] for s in both]
    b = [fake_localization("baseline", s)["tbdc"] for s in both]
    p = stats.ttest_rel(a, b).pvalue
    assert pairs["model=ta4"][4].endswith(f"p {p:.3f})") or (p < 0.001 and pairs["model=ta4"][4].endswith("< 0.001)"))
    with open(paths["results.csv"], newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["model"] == "ta4")
    assert float(row["rbdc_mean"]) == pytest.approx(np.mean(rbdc))


def test_the_report_says_which_convention_each_frame_number_uses(heads_sweep, tmp_path):
    md = write_report(load_sweep(heads_sweep), tmp_path / "report")["report.md"].read_text()
    assert "- AUROC: micro: pooled" in md
    assert "- AUROC macro: macro: one-class videos skipped" in md
    assert "- AUROC padded macro: padded macro: one pseudo-frame of each class per video" in md
