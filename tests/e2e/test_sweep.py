"""Sweeps: Ray gives each concurrent job its own GPU; a failed job is recorded, reported and resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path


import pytest

from tests.helpers import runs
from tests.helpers.paths import ROOT
from vadlit.config.resolvers import ROOT_ENV, SWEEP_ENV

TINY = [*runs.TINY, "seed=0"]


def _run(tool: str, args: list[str], cwd: Path, timeout: int = 400) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (SWEEP_ENV, ROOT_ENV)}
    env.update(VADLIT_CACHE=str(cwd / "cache"), PYTHONPATH=str(ROOT), RAY_DISABLE_USAGE_STATS="1")
    return subprocess.run([str(Path(sys.executable).parent / tool), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _jobs(log_dir: Path, study: str) -> dict[str, dict]:
    """run_info.json of every job of the one sweep under `log_dir`, keyed by the job's model override."""
    import yaml

    (sweep,) = (log_dir / study / "multiruns").iterdir()
    jobs = {}
    for job in sorted(p for p in sweep.iterdir() if (p / "run_info.json").exists()):
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text())
        model = next(o.split("=", 1)[1] for o in overrides if o.startswith("model="))
        jobs[model] = json.loads((job / "run_info.json").read_text())
    return jobs


def _run_infos(log_dir: Path, study: str) -> list[dict]:
    (sweep,) = (log_dir / study / "multiruns").iterdir()
    return [json.loads(p.read_text()) for p in sorted(sweep.glob("*/run_info.json"))]


def _together(infos: list[dict]) -> bool:
    """Whether every job was running at one moment (the latest start before the earliest end)."""
    starts = [datetime.fromisoformat(i["start"]) for i in infos]
    ends = [datetime.fromisoformat(i["end"]) for i in infos]
    return max(starts) < min(ends)


RAY = ["hydra/launcher=ray_local", "hydra.launcher.ray.init.num_cpus=10"]  # Ray may start 10 at once on 2 cores


@pytest.mark.slow  # needs the sweep extra (Ray), which make test-all installs
def test_ray_packs_five_jobs_on_one_gpu_and_runs_them_at_once(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the sweep extra is not installed")
    # one declared GPU, 5 jobs per GPU: each asks Ray for 0.2 of it, all five run together on it;
    # with DataLoader workers, which Ray jobs start with forkserver (ray#13407: forked ones can hang)
    args = ["-m", *TINY, "model=baseline,ta1,ta2,ta4,ta8", "data.num_workers=1", *RAY,
            "hydra.launcher.ray.init.num_gpus=1", "jobs_per_gpu=5"]
    proc = _run("vadlit-train", args, tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    infos = _run_infos(tmp_path / "outputs", "train")
    assert len(infos) == 5 and all(i["status"] == "finished" for i in infos)
    assert all(i["placement"]["gpu_share"] == pytest.approx(0.2) and i["CUDA_VISIBLE_DEVICES"] == "0"
               and i["placement"]["gpu_ids"] == ["0"] for i in infos), [i.get("placement") for i in infos]
    assert _together(infos), "the five jobs sharing the GPU ran at the same time"


@pytest.mark.slow  # needs the sweep extra (Ray), which make test-all installs
def test_ray_spreads_ten_packed_jobs_over_two_gpus_and_the_sweep_reports(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the sweep extra is not installed")
    # default paths: outputs/ under the directory the command runs in (a Ray worker runs elsewhere)
    args = ["-m", *TINY, "experiment=ablation_heads", "seed=0,1", *RAY, "hydra.launcher.ray.init.num_gpus=2",
            "jobs_per_gpu=5"]
    proc = _run("vadlit-train", args, tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    infos = _run_infos(tmp_path / "outputs", "ablation_heads")
    assert len(infos) == 10 and all(i["status"] == "finished" for i in infos)
    devices = sorted(i["CUDA_VISIBLE_DEVICES"] for i in infos)
    assert devices == ["0"] * 5 + ["1"] * 5, "both GPUs, five jobs each"
    assert all(i["placement"]["gpu_ids"] == [i["CUDA_VISIBLE_DEVICES"]] for i in infos)
    sweep = next((tmp_path / "outputs" / "ablation_heads" / "multiruns").iterdir())
    assert len(list(sweep.glob("*/metrics.json"))) == 10
    # the sweep ends with its report written and its table printed: one command for a study
    assert (sweep / "report.md").is_file() and (sweep / "results.csv").is_file()
    assert "| model | n | AUROC (%)" in proc.stdout and f"wrote {sweep / 'report.md'}" in proc.stdout


@pytest.mark.slow  # about a minute on 2 cores
def test_the_packed_launcher_runs_jobs_at_once_and_records_their_share(tmp_path):
    # joblib, no Ray: what the GPU check uses on a machine without Ray; on this CPU, 2 jobs at once
    args = ["-m", *TINY, "model=baseline,ta1", "hydra/launcher=packed", "jobs_per_gpu=2"]
    proc = _run("vadlit-train", args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    infos = _run_infos(tmp_path / "outputs", "train")
    assert len(infos) == 2 and all(i["status"] == "finished" for i in infos)
    assert all(i["placement"]["launcher"] == "packed" and i["placement"]["jobs_per_gpu"] == 2 for i in infos)
    assert _together(infos)


@pytest.mark.slow  # the longest end-to-end runs: make test-all
def test_a_failed_job_is_reported_and_resume_completes_it(tmp_path):
    marker = tmp_path / "failed-once"
    args = ["-m", *TINY, "experiment=ablation_heads", "model=baseline,ta1,ta2", "trainer.max_epochs=2",
                   f"paths.log_dir={tmp_path / 'out'}",
                   "+callbacks.fault._target_=tests.helpers.callbacks.FailOnce", "+callbacks.fault.variant=ta1",
                   f"+callbacks.fault.marker={marker}"]
    proc = _run("vadlit-train", args, tmp_path)
    assert proc.returncode == 0, "one failed job must not stop the sweep\n" + proc.stderr[-3000:]
    jobs = _jobs(tmp_path / "out", "ablation_heads")
    status = {model: j["status"] for model, j in jobs.items()}
    assert status == {"baseline": "finished", "ta1": "failed", "ta2": "finished"}
    failed = next(j for j in jobs.values() if j["status"] == "failed")
    assert "injected fault in ta1 at epoch 1" in failed["error"]

    sweep = next((tmp_path / "out" / "ablation_heads" / "multiruns").iterdir())
    report = _run("vadlit-report", [str(sweep)], tmp_path)
    assert report.returncode == 0, report.stderr[-2000:]
    text = (sweep / "report.md").read_text()
    assert "| baseline |" in text and "| ta2 |" in text and "injected fault in ta1" in text

    finished_before = {n: j["end"] for n, j in jobs.items() if j["status"] == "finished"}
    proc = _run("vadlit-train", args + ["resume=true"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(tmp_path / "out", "ablation_heads")
    assert all(j["status"] == "finished" for j in jobs.values()), "resume completes the failed job in the same sweep"
    assert {n: jobs[n]["end"] for n in finished_before} == finished_before, "finished runs are skipped, not redone"
    resumed = jobs["ta1"]
    assert resumed["resumed_from"].endswith("checkpoints/last.ckpt"), "restarted from its last checkpoint"
    report = _run("vadlit-report", [str(sweep)], tmp_path)
    assert "| ta1 |" in (sweep / "report.md").read_text()


@pytest.mark.slow  # the longest end-to-end runs: make test-all
def test_ddp_on_cpu_trains_on_two_processes_and_tests_once(tmp_path):
    run_dir = tmp_path / "run"
    args = TINY + ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2", "trainer.sync_batchnorm=false",
                   f"hydra.run.dir={run_dir}"]
    proc = _run("vadlit-train", args, tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((run_dir / "run_info.json").read_text())
    assert info["status"] == "finished" and info["num_devices"] == 2 and info["strategy"] == "DDPStrategy"
    assert json.loads((run_dir / "metrics.json").read_text())["n_frames"] == 96


def test_resume_of_a_sweep_with_another_grid_is_refused_and_the_old_sweep_untouched(tmp_path):
    args = ["-m", *TINY, "trainer.max_epochs=1", "logger=none", "model=baseline", f"paths.log_dir={tmp_path / 'out'}"]
    first = _run("vadlit-train", args + ["seed=1"], tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    (sweep,) = (tmp_path / "out" / "train" / "multiruns").iterdir()
    # the sweep ends with its report written and its table printed: one command for a study
    assert (sweep / "report.md").is_file() and (sweep / "results.csv").is_file()
    assert "| runs | n | AUROC (%)" in first.stdout and f"wrote {sweep / 'report.md'}" in first.stdout
    before = (sweep / "multirun.yaml").read_bytes()
    proc = _run("vadlit-train", args + ["seed=2", "resume=true"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "resume=true: no sweep" in proc.stderr and "seed=2 (was 1)" in proc.stderr
    assert (sweep / "multirun.yaml").read_bytes() == before
    assert [p.name for p in (tmp_path / "out" / "train" / "multiruns").iterdir()] == [sweep.name]
