"""The prepared GPU check as it is run: without CUDA, the script and `make gpu-check` refuse in one
line with exit status 2 and write nothing; the synthetic-data path needs no PyAV (the GPU machine has
none); and a CPU rehearsal of the whole pipeline, run like the device command (carried packages on
PYTHONPATH, PyAV blocked), writes the JSON and the Markdown and reads the packed ablation's AUROCs back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

SCRIPT = ROOT / "experiments" / "bench_gpu" / "check.py"


def _env(tmp_path: Path, **extra) -> dict[str, str]:
    """As on the GPU machine: `src` and a folder that makes `import av` fail on PYTHONPATH."""
    blocker = tmp_path / "no_pyav" / "av"
    blocker.mkdir(parents=True, exist_ok=True)
    (blocker / "__init__.py").write_text('raise ImportError("PyAV is not installed (blocked by the test)")\n')
    env = {k: v for k, v in os.environ.items() if k not in ("VADLIT_GPU_CHECK_REHEARSAL", "VADLIT_ROOT",
                                                            "VADLIT_SWEEP_DIR")}
    env.update(PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(blocker.parent)]), PYTHONUNBUFFERED="1", **extra)
    return env


def test_without_cuda_the_script_refuses_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, env=_env(tmp_path, CUDA_VISIBLE_DEVICES=""),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "no CUDA GPU" in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no_pyav"]  # nothing written


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_without_cuda_make_gpu_check_refuses_in_one_line(tmp_path):
    out = tmp_path / "out"
    # -o: the installed venv counts as up to date (no install here); BIN: the python running the tests
    # --no-print-directory: run from make test, a nested make would print "Entering directory"
    result = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "gpu-check", f"BIN={Path(sys.executable).parent}",
                             f"ARGS=--output {out} --work {tmp_path / 'work'}"], cwd=ROOT,
                            env=_env(tmp_path, CUDA_VISIBLE_DEVICES=""), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and "Error 2" not in lines[0]
    assert result.stdout == ""
    assert not out.exists() and not (tmp_path / "work").exists()


def test_the_synthetic_data_path_needs_no_pyav(tmp_path):
    code = f"""
import sys
from hydra.utils import instantiate
sys.path.insert(0, {str(ROOT)!r})
from tests.helpers.runs import TINY, compose_run
import vadlit.cli.train, vadlit.tasks.train, vadlit.tasks.bench.gpu_check
from vadlit.config.resolvers import register
register()
from pathlib import Path
cfg = compose_run(Path({str(tmp_path)!r}) / "job", TINY)
data = instantiate(cfg.data, _convert_="object")
data.prepare_data(); data.setup("fit")
batch = next(iter(data.train_dataloader()))
assert "av" not in sys.modules or sys.modules["av"] is None
print("clips", tuple(batch["clip"].shape))
"""
    env = _env(tmp_path)
    env.pop("CUDA_VISIBLE_DEVICES", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "clips (" in result.stdout


@pytest.mark.slow
def test_a_cpu_rehearsal_runs_the_whole_check(tmp_path):
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps({
        "what": "test reference", "runs": [{"model": "baseline", "seed": 0, "auroc": 0.6},
                                           {"model": "ta4", "seed": 0, "auroc": 0.6}],
        "seed_spread": {"baseline": {"std": 0.02, "n": 5}, "ta4": {"std": 0.016, "n": 5}}}))
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(out), "--work", str(tmp_path / "work"),
         "--reference", str(reference), "--budget-s", "400"],
        cwd=tmp_path, env=_env(tmp_path, VADLIT_GPU_CHECK_REHEARSAL="1"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "gpu-check [" in result.stdout and "ablation: 2/2 finished" in result.stdout

    results = json.loads((out / "gpu_check.json").read_text())
    assert results["check"]["status"] == "finished" and not results["errors"]
    cases = results["throughput"]["cases"]
    assert cases and all("seconds_per_step" in c for c in cases), [c.get("error") for c in cases]
    assert all(c["speedup_vs_32"] is not None and c["mfu"] is not None for c in cases)
    ablation = results["ablation"]
    assert ablation["finished"] == 2 and ablation["returncode"] == 0 and ablation["wall_s"] > 0
    assert {(r["model"], r["seed"]) for r in ablation["runs"]} == {("baseline", 0), ("ta4", 0)}
    assert all(0 <= r["auroc"] <= 1 and r["placement"]["launcher"] == "packed" for r in ablation["runs"])
    assert results["agreement"]["runs_compared"] == 2 and results["agreement"]["variants_judged"] == 2
    assert [g["met"] is not None for g in results["goals"]] == [True, True, True, True]
    assert {u["what"].split()[0] for u in results["untested"]} >= {"2-process", "SyncBatchNorm", "Ray"}
    assert sorted(p.name for p in out.iterdir()) == ["ablation_report.md", "ablation_results.csv",
                                                     "gpu_check.json", "gpu_check.md"]
    text = (out / "gpu_check.md").read_text()
    assert "## Packed ablation" in text and "| ta4 | 1 |" in text
