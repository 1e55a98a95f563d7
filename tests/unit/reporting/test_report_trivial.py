"""vadlit-report's trivial-baselines table: beside the variants, and runs on different data named."""

from __future__ import annotations

from vadlit.reporting.markdown import render_markdown
from vadlit.reporting.summary import summarize
from vadlit.reporting.sweep import load_sweep
from tests.helpers.sweeps import fake_metrics, write_job, write_multirun


def _trivial(foreground: float) -> dict:
    def score(auroc):
        return {"auroc": auroc, "auroc_ci": [auroc - 0.1, auroc + 0.1], "auroc_macro": auroc - 0.05,
                "auroc_by_kind": {"object": 0.9, "running": auroc - 0.2},
                "auroc_by_kind_ci": {"object": [0.85, 0.95], "running": None}}

    return {"foreground": score(foreground), "frame_difference": score(0.5),
            "background": "per-pixel median of 960 normal training frames"}


def _sweep(tmp_path, foregrounds: dict[tuple[str, int], float | None]):
    root = tmp_path / "sweep"
    write_multirun(root, [], {"model": "baseline,ta2", "seed": "0,1"})
    for i, ((model, seed), fg) in enumerate(foregrounds.items()):
        metrics = fake_metrics(model, seed, 0.7 + 0.01 * seed)
        if fg is not None:
            metrics["trivial_baselines"] = _trivial(fg)
        write_job(root, f"{i}-model={model},seed={seed}", [f"model={model}", f"seed={seed}"], "finished", metrics)
    return render_markdown(summarize(load_sweep(root)))


def _section(text: str) -> str:
    return text.split("## Trivial baselines")[1].split("\n## ")[0]


def test_trivial_rows_sit_beside_each_variants_mean(tmp_path):
    text = _section(_sweep(tmp_path, {(m, s): 0.6 for m in ("baseline", "ta2") for s in (0, 1)}))
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| scores | AUROC (%) | AUROC macro (%) | object (%) | running (%) |")
    assert rows[2] == "| trivial: foreground | 60.0 [50.0, 70.0] | 55.0 | 90.0 [85.0, 95.0] | 40.0 |"
    assert rows[3].startswith("| trivial: frame difference | 50.0 [40.0, 60.0] |")
    assert rows[4].startswith("| model=baseline | 70.5 ± 0.7 |") and rows[5].startswith("| model=ta2 |")
    assert "disagree" not in text and "per-pixel median of 960 normal training frames" in text


def test_runs_on_different_data_are_named(tmp_path):
    runs = {("baseline", 0): 0.6, ("baseline", 1): 0.6, ("ta2", 0): 0.65, ("ta2", 1): None}
    text = _section(_sweep(tmp_path, runs))
    assert "trivial: foreground (set 1) | 60.0" in text and "trivial: foreground (set 2) | 65.0" in text
    assert "disagree" in text and "set 2: `2-model=ta2,seed=0`" in text
    assert "1 finished run(s) recorded no trivial baselines: `3-model=ta2,seed=1`" in text


def test_older_runs_without_trivial_baselines_say_so(tmp_path):
    text = _section(_sweep(tmp_path, {("baseline", 0): None, ("ta2", 0): None}))
    assert "No finished run recorded `trivial_baselines`" in text
