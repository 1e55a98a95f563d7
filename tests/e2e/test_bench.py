"""vadlit-bench: a tiny run through the real config tree fills every section of bench.json with sane
numbers; FLOP counts double exactly with the batch; a bad value on the command line is one clear line."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
import torch

from tests.helpers.paths import CONF
from tests.helpers.runs import TINY_DATA

# Tiny images, model and data; one warm-up and one timed step per case; CPU so the GPU section is skipped.
TINY = [
    "trainer=cpu",
    "data.image_size=32",
    "data.clip_len=4",
    "data.batch_size=2",
    "data.eval_batch_size=4",
    *TINY_DATA,
    "model.base_channels=8",
    "model.d_base_channels=8",
    "model.nz=16",
    "bench.warmup_steps=1",
    "bench.steps=1",
    "bench.sizes=[{name:tiny,overrides:[]},{name:double,overrides:['data.batch_size=4']}]",
    "bench.loading.warmup_batches=1",
    "bench.loading.batches=3",
    "bench.scoring.warmup_batches=0",
    "bench.scoring.batches=1",
    "bench.matmul.sizes=[128]",
    "bench.matmul.conv_channels=16",
    "bench.matmul.repeats=1",
    "bench.attention.frames=[4,8]",
    "bench.attention.warmup=0",
    "bench.attention.repeats=1",
    "bench.profile.top=3",
]


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from vadlit.tasks.bench import run_bench
    from vadlit.tasks.bench.cases import Composer

    tmp = tmp_path_factory.mktemp("bench")
    overrides = TINY + [f"paths.output_dir={tmp / 'run'}", f"paths.cache_dir={tmp / 'cache'}"]
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose(config_name="bench", overrides=overrides)
    # One thread: on a busy shared machine two OpenMP threads wait on each other at every tiny op
    # (seconds per step instead of milliseconds); this test checks the bench, not the machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        returned = run_bench(cfg, Composer("bench", overrides, CONF))
    finally:
        torch.set_num_threads(threads)
    written = json.loads((tmp / "run" / "bench.json").read_text())
    return returned, written


@pytest.mark.slow  # one whole tiny vadlit-bench run (~60 s on 2 cores); `make test-all`
def test_bench_json_has_every_section_with_positive_finite_numbers(bench):
    _, results = bench
    assert {"run", "machine", "settings", "matmul", "training", "loading", "scoring", "attention", "gpu",
            "goals", "profile"} <= set(results)
    dense = results["matmul"]["float32"]
    assert _positive(dense["mm"]["flops_per_s"]) and _positive(dense["conv3x3"]["flops_per_s"])
    assert dense["flops_per_s"] == max(dense["mm"]["flops_per_s"], dense["conv3x3"]["flops_per_s"])

    training = results["training"]
    assert [r["case"] for r in training] == [f"{m}/{o}/{s}" for s in ("tiny", "double")
                                            for m in ("baseline", "ta4") for o in ("reconstruct", "predict")]
    for r in training:
        for key in ("seconds_per_step", "clips_per_s", "frames_per_s", "flops_per_step", "flops_per_s", "mfu"):
            assert _positive(r[key]), (r["case"], key, r[key])
        assert r["steps"] == 1 and r["clip_len"] == 4 and r["image_size"] == [32, 32]
        assert r["batch_size"] == (2 if r["size"] == "tiny" else 4)
        assert r["heads"] == (0 if r["model"] == "baseline" else 4)
    assert results["profile"]["case"] == "ta4/reconstruct/tiny" and len(results["profile"]["ops"]) == 3

    assert [r["size"] for r in results["loading"]] == ["tiny", "double"]
    for r in results["loading"]:
        for key in ("clips_per_s", "frames_per_s", "ratio_to_training", "fastest_training_clips_per_s"):
            assert _positive(r[key]), (r["size"], key)
    assert len(results["scoring"]) == len(training)
    for r in results["scoring"]:
        for key in ("clips_per_s", "scored_frames_per_s", "test_frames_per_s"):
            assert _positive(r[key]), (r["case"], key)
        assert r["test_stride"] == (1 if "predict" in r["case"] else 4)

    assert [r["frames"] for r in results["attention"]] == [4, 8]
    for r in results["attention"]:
        assert r["width"] == 2 * 32 and r["sequences"] == 2 * 4 * 4  # bottleneck: 2 * (8 * 4) wide, 32 / 2**3 = 4
        for path in ("fused", "naive"):
            assert _positive(r[path]["ms"]) and _positive(r[path]["peak_tensor_bytes"])
        assert max(r["max_abs_diff"].values()) < 1e-4
    if not torch.cuda.is_available():
        assert results["gpu"] == {"skipped": "no GPU"}
    statuses = {g["goal"]: g["status"] for g in results["goals"]}
    assert statuses["GPU mixed precision speed-up over 32-true"] == "skipped: no GPU"
    assert statuses["loader / training at size 'tiny'"] in ("met", "not met")


@pytest.mark.slow  # one whole tiny vadlit-bench run (~60 s on 2 cores); `make test-all`
def test_bench_returns_what_it_writes(bench):
    returned, written = bench
    assert json.loads(json.dumps(returned)) == written


@pytest.mark.slow  # one whole tiny vadlit-bench run (~60 s on 2 cores); `make test-all`
def test_flops_per_step_double_with_the_batch(bench):
    _, results = bench
    by_case = {(r["model"], r["objective"], r["size"]): r["flops_per_step"] for r in results["training"]}
    for model in ("baseline", "ta4"):
        for objective in ("reconstruct", "predict"):
            assert by_case[model, objective, "double"] == 2 * by_case[model, objective, "tiny"]
        # attention adds work; its parameters are the same for every head count
        assert by_case["ta4", "reconstruct", "tiny"] > by_case["baseline", "reconstruct", "tiny"]


@pytest.mark.parametrize(
    "override,message",
    [
        ("bench.steps=0", "vadlit: error: bench.steps=0"),
        # a bad value in any case fails before anything is measured
        ("bench.sizes=[{name:odd,overrides:['data.image_size=36']}]", "vadlit: error: data.image_size=(36, 36)"),
    ],
)
def test_cli_bad_value_is_one_clear_line(tmp_path, override, message):
    env = {**os.environ, "VADLIT_CACHE": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "vadlit.cli.bench", override, f"hydra.run.dir={tmp_path / 'run'}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run" / "bench.json").exists()
