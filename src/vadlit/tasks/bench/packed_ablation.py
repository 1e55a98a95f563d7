"""The heads ablation packed on one GPU, as a user runs it: `python -m vadlit.cli.train -m
experiment=ablation_heads seed=... hydra/launcher=packed jobs_per_gpu=N` in its own process group,
timed from start to exit, stopped when its slice of the check's time runs out, then read back from its
folder like `vadlit-report` reads it (run_info.json, metrics.json).

The child gets its own VADLIT_ROOT (outputs and frame cache) and VADLIT_SWEEP_DIR (the sweep folder
the resolvers use), so the check knows where the sweep is without parsing its output and never mixes
it with the user's outputs. Its console output goes to `sweep.log`; progress lines come from the job
folders' run_info.json.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from vadlit.files import atomic_write
from vadlit.reporting.jobs import as_number
from vadlit.tasks.bench.gpu_plan import CheckPlan

POLL_S = 2.0
PROGRESS_S = 30.0
KILL_GRACE_S = 15.0


def ablation_command(plan: CheckPlan, python: str = sys.executable) -> list[str]:
    """The `make train` recipe for every variant and seed, packed: the heads experiment, the plan's seeds."""
    command = [python, "-m", "vadlit.cli.train", "-m", "experiment=ablation_heads",
               "seed=" + ",".join(str(s) for s in plan.seeds), f"hydra/launcher={plan.launcher}",
               f"jobs_per_gpu={plan.jobs_per_gpu}"]
    if plan.ablation_models:
        command.append("model=" + ",".join(plan.ablation_models))
    return command + list(plan.ablation_overrides)


def _source_root() -> str:
    """The folder this vadlit is imported from, so the sweep's processes import the same one."""
    import vadlit

    return str(Path(vadlit.__file__).resolve().parents[1])


def expected_jobs(plan: CheckPlan, experiment_models: int = 5) -> int:
    return len(plan.seeds) * (len(plan.ablation_models) if plan.ablation_models else experiment_models)


def _statuses(sweep_dir: Path) -> dict[str, int]:
    """How many job folders are finished, failed or still running (read from their run_info.json)."""
    import json

    counts = {"finished": 0, "failed": 0, "running": 0}
    for info in sweep_dir.glob("*/run_info.json"):
        try:
            status = json.loads(info.read_text()).get("status")
        except (OSError, ValueError):
            continue
        key = status if status in counts else "running"
        counts[key] += 1
    return counts


def _stop(process: subprocess.Popen) -> str:
    """SIGTERM to the sweep's whole process group (the jobs record the interruption), SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, KILL_GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return "ended"
        try:
            process.wait(timeout=wait)
            return "terminated" if sig == signal.SIGTERM else "killed"
        except subprocess.TimeoutExpired:
            continue
    return "killed"


def _tail(path: Path, lines: int = 8) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def run_ablation(plan: CheckPlan, work: Path, slice_s: float, progress: Callable[[str], None],
                 on_start: Callable[[subprocess.Popen], None] | None = None) -> dict[str, Any]:
    """Run the packed sweep for at most `slice_s` seconds; its record: command, wall time, how it ended,
    the runs read back (`runs`), and the log's last lines when it did not end cleanly."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    sweep_dir = work / f"sweep_{stamp}"
    log_path = work / f"sweep_{stamp}.log"
    work.mkdir(parents=True, exist_ok=True)
    command = ablation_command(plan)
    env = {**os.environ, "VADLIT_ROOT": str(work), "VADLIT_SWEEP_DIR": str(sweep_dir), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [_source_root(), os.environ.get("PYTHONPATH")]))}
    expected = expected_jobs(plan)
    record: dict[str, Any] = {"command": " ".join(["python", *command[1:]]), "python": command[0], "jobs_expected": expected,
                              "jobs_per_gpu": plan.jobs_per_gpu, "launcher": plan.launcher, "slice_s": slice_s,
                              "sweep_dir": str(sweep_dir), "log": str(log_path)}
    start = time.monotonic()
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd(),
                                   start_new_session=True)
        if on_start is not None:
            on_start(process)
        last = start
        try:
            while process.poll() is None:
                now = time.monotonic()
                if now - start >= slice_s:
                    record["ended"] = f"stopped at its slice ({slice_s:.0f} s): {_stop(process)}"
                    break
                if now - last >= PROGRESS_S:
                    last = now
                    c = _statuses(sweep_dir)
                    progress(f"ablation {now - start:4.0f} s: {c['finished']}/{expected} finished, "
                             f"{c['running']} running, {c['failed']} failed")
                try:
                    process.wait(timeout=POLL_S)
                except subprocess.TimeoutExpired:
                    pass
        except BaseException:  # the check itself is stopping: leave no sweep behind
            _stop(process)
            raise
    record["wall_s"] = time.monotonic() - start
    record["returncode"] = process.returncode
    record.setdefault("ended", "exited" if process.returncode == 0 else f"exited with status {process.returncode}")
    record.update(read_runs(sweep_dir))
    if process.returncode != 0 or record.get("finished", 0) < expected:
        record["log_tail"] = _tail(log_path)
    return record


def _seconds(info: dict) -> tuple[float, float] | None:
    try:
        return (datetime.fromisoformat(info["start"]).timestamp(), datetime.fromisoformat(info["end"]).timestamp())
    except (KeyError, TypeError, ValueError):
        return None


def max_concurrency(intervals: list[tuple[float, float]]) -> int:
    """The most runs alive at the same moment (run_info start..end, seconds): > 1 means packed."""
    events = sorted([(a, 1) for a, _ in intervals] + [(b, -1) for _, b in intervals], key=lambda e: (e[0], e[1]))
    alive = best = 0
    for _, step in events:
        alive += step
        best = max(best, alive)
    return best


def read_runs(sweep_dir: Path) -> dict[str, Any]:
    """Every job of the sweep folder: variant, seed, status, AUROC, seconds, precision and placement."""
    from vadlit.errors import VadlitError
    from vadlit.reporting.sweep import load_sweep

    try:
        sweep = load_sweep(sweep_dir)
    except VadlitError as exc:
        return {"runs": [], "finished": 0, "read_error": str(exc)}
    runs, intervals = [], []
    for job in sweep.primary():
        info = job.run_info or {}
        span = _seconds(info)
        if span:
            intervals.append(span)
        runs.append({
            "model": job.model_name or job.overrides.get("model"), "seed": job.seed, "status": job.status,
            "auroc": as_number((job.metrics or {}).get("auroc")), "reason": job.reason,
            "seconds": span[1] - span[0] if span else None, "precision": info.get("precision"),
            "devices": info.get("devices"), "placement": info.get("placement"), "folder": job.name,
        })
    return {"runs": runs, "finished": sum(r["status"] == "finished" for r in runs),
            "max_concurrent_runs": max_concurrency(intervals) if intervals else 0}


def keep_report(sweep_dir: Path, out_dir: Path) -> list[str]:
    """The sweep's own report.md and results.csv beside the check's files (two files, not the sweep)."""
    kept = []
    for name in ("report.md", "results.csv"):
        source = sweep_dir / name
        if source.is_file():
            atomic_write(out_dir / f"ablation_{name}", lambda f, s=source: f.write(s.read_bytes()))
            kept.append(f"ablation_{name}")
    return kept

