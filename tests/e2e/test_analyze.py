"""`vadlit-analyze` on a trained checkpoint: statistics per layer, head and clip group, and the figures."""

from __future__ import annotations

import csv
import json

import pytest

from tests.helpers.runs import TINY, TINY_DATA, cli, compose_run


def test_analyze_writes_statistics_and_figures_for_every_layer_head_and_group(tmp_path, smoke_run):
    out = tmp_path / "analysis"
    proc = cli("vadlit-analyze", TINY_DATA + [f"ckpt_path={smoke_run / 'checkpoints' / 'last.ckpt'}",
                                            f"hydra.run.dir={out}", f"paths.cache_dir={smoke_run.parent.parent / 'cache'}",
                                            "n_boot=200"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((out / "attention_stats.json").read_text())
    assert record["model"]["heads"] == 2 and set(record["layers"]) == {"generator", "discriminator"}
    # the numbers, not only the paths: one row per layer and head (and their mean), with intervals
    table = [line for line in proc.stdout.splitlines() if line.startswith("| generator |")]
    assert [line.split("|")[2].strip() for line in table] == ["0", "1", "all"], proc.stdout
    assert "entropy normal − anomalous" in proc.stdout and f"wrote {out / 'attention_stats.json'}" in proc.stdout

    # every test clip is counted once, in exactly one of normal / anomalous, and anomalous ones by kind
    cfg = compose_run(tmp_path, TINY + ["data.clip_len=4", "data.image_size=32"])
    from hydra.utils import instantiate

    dm = instantiate(cfg.data, _convert_="object")
    dm.cache_dir = smoke_run.parent.parent / "cache"
    dm.setup("test")
    if record["model"]["objective"] == "predict":
        dm.test_stride = 1  # as vadlit-analyze does: every frame ends a clip
    clips = record["clips"]
    assert clips["normal"] + clips["anomalous"] == len(dm.test_dataloader().dataset)
    assert clips["anomalous"] == sum(v for k, v in clips.items() if k.startswith("anomalous:")) > 0

    rows = record["rows"]
    groups = {r["group"] for r in rows}
    assert {"normal", "anomalous", "normal - anomalous"} <= groups
    for layer in ("generator", "discriminator"):
        for stat in ("self", "local", "long_range", "entropy", "consistency"):
            heads = {r["head"] for r in rows if r["layer"] == layer and r["statistic"] == stat and r["group"] == "normal"}
            assert heads == {0, 1, "all"}, (layer, stat)
    normal = {(r["layer"], r["statistic"], r["head"]): r for r in rows if r["group"] == "normal"}
    anomalous = {(r["layer"], r["statistic"], r["head"]): r for r in rows if r["group"] == "anomalous"}
    for r in rows:
        if r["group"] == "normal - anomalous":
            key = (r["layer"], r["statistic"], r["head"])
            assert r["mean"] == pytest.approx(normal[key]["mean"] - anomalous[key]["mean"])
            assert r["ci_low"] <= r["mean"] <= r["ci_high"]
    entropy = normal[("generator", "entropy", "all")]
    assert 0 <= entropy["mean"] <= 1.3863 and entropy["n"] == clips["normal"]  # within [0, log 4]

    with open(out / "attention_stats.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(rows) and table[0]["layer"] == rows[0]["layer"]
    for figure in record["figures"].values():
        assert (out / figure).stat().st_size > 10_000


@pytest.mark.parametrize("max_batches, expected", [(0, "max_batches=0: expected a positive number"),
                                                   (1, "hold no anomalous clip")])
def test_an_analysis_of_too_few_clips_writes_no_statistics(tmp_path, smoke_run, max_batches, expected):
    out = tmp_path / "analysis"
    proc = cli("vadlit-analyze", TINY_DATA + [f"ckpt_path={smoke_run / 'checkpoints' / 'last.ckpt'}",
                                            f"hydra.run.dir={out}", f"paths.cache_dir={smoke_run.parent.parent / 'cache'}",
                                            f"max_batches={max_batches}", "data.eval_batch_size=2"], tmp_path)
    assert proc.returncode == 2 and expected in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not (out / "attention_stats.json").exists() and not (out / "attention_stats.csv").exists()
