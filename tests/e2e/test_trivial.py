"""Trivial scores in a real run: a smoke run writes the trivial baselines into metrics.json beside the model's."""

from __future__ import annotations

import json


def test_a_smoke_run_writes_trivial_baselines_into_metrics_json(smoke_run):
    metrics = json.loads((smoke_run / "metrics.json").read_text())
    block = metrics["trivial_baselines"]
    assert block["background"].startswith("per-pixel median of ")
    for name in ("foreground", "frame_difference"):
        assert block[name]["n_frames"] == metrics["n_frames"], "the model's own test frames"
        assert set(block[name]["auroc_by_kind"]) == set(metrics["auroc_by_kind"])
        assert set(block[name]["auroc_by_kind_ci"]) == set(metrics["auroc_by_kind"])
    assert set(metrics["n_events_by_kind"]) == set(metrics["auroc_by_kind"])
