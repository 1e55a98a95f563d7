"""The prepared GPU check (issue 15): one command, at most a few minutes on one H100/H200, that
measures what the project claims about GPUs and writes `gpu_check.json` + `gpu_check.md`.

It runs where nothing can be installed: a GPU machine with its own python (torch, Lightning, ...)
and a few carried wheels (Hydra, OmegaConf, the joblib launcher; experiments/bench_gpu/wheels.sh),
so it is a plain script (experiments/bench_gpu/check.py), not a `make` target that installs torch.
Its one try has a fixed time limit, hence: a `Deadline` every part asks before it starts (gpu_plan
says the order), both files rewritten atomically after every measurement (a kill leaves the last
complete state), a hard stop shortly after the budget, and progress lines as it goes.

Exit status: 0 the check ran to its end (goals met or not: they are reported, not asserted), 1 it
ended on an unexpected error, 2 refused (no CUDA, a missing package, a bad argument: one line, nothing
written), 3 stopped at the hard deadline. `VADLIT_GPU_CHECK_REHEARSAL=1` runs the same pipeline on a
CPU with tiny sizes, for the test of its plumbing only.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
from pathlib import Path
from typing import Any

from vadlit.tasks.bench.deadline import Deadline

REHEARSAL_ENV = "VADLIT_GPU_CHECK_REHEARSAL"
ERROR = "vadlit: error: gpu-check: "
PARTS = ("throughput", "ablation")
LAUNCHERS = ("packed", "basic")
FINAL_RESERVE_S = 10.0   # left at the end: goals, the last writes
HARD_GRACE_S = 20.0      # past the budget, a part still running is cut off and the process exits 3
MIN_ABLATION_S = 30.0


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def parse_args(argv: list[str], default_reference: Path | None) -> argparse.Namespace:
    p = _Parser(prog="check.py", description="The prepared GPU check (experiments/bench_gpu/README.md).")
    p.add_argument("--output", default="outputs/gpu_check", help="folder of gpu_check.json/.md (default %(default)s)")
    p.add_argument("--work", default="outputs/gpu_check_work", help="the ablation's sweep and frame cache")
    p.add_argument("--budget-s", type=float, default=420.0, help="time budget in seconds (default %(default)s)")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ",".join(PARTS))
    p.add_argument("--jobs-per-gpu", type=int, default=15, help="ablation jobs at once on the GPU (default 15: all)")
    p.add_argument("--launcher", default="packed", choices=LAUNCHERS, help="hydra/launcher of the ablation")
    p.add_argument("--ablation-cap-s", type=float, default=300.0, help="the longest the ablation may run")
    p.add_argument("--reference", default=str(default_reference) if default_reference else None,
                   help="the CPU reference AUROCs (default: cpu_reference.json beside check.py)")
    p.add_argument("--probe", action="store_true",
                   help="only say why this machine would be refused (stdout; exit 2), or nothing (exit 0)")
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    if not parts or any(s not in PARTS for s in parts):
        raise UsageError(f"--parts {args.parts!r}: expected a comma-separated subset of {','.join(PARTS)}")
    args.parts = parts
    if not args.budget_s > 0 or not args.ablation_cap_s > 0:
        raise UsageError("--budget-s and --ablation-cap-s must be positive numbers of seconds")
    if args.jobs_per_gpu < 1:
        raise UsageError(f"--jobs-per-gpu {args.jobs_per_gpu}: expected a whole number >= 1")
    if "ablation" in parts and not args.reference:
        raise UsageError("--reference: the CPU reference AUROCs are needed for the ablation part")
    return args


def refusal(rehearsal: bool) -> str | None:
    """Why this machine cannot run the check (no torch, no CUDA), or None."""
    try:
        import torch
    except ImportError as exc:
        return f"this python ({sys.executable}) has no torch ({exc}); run the check with the GPU machine's own python3"

    if rehearsal or torch.cuda.is_available():
        return None
    return (f"this machine has no CUDA GPU (torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
            "the check measures a GPU: run it on one (experiments/bench_gpu/README.md)")


def missing_packages(launcher: str) -> list[str]:
    wanted = {"hydra": "hydra-core", "omegaconf": "omegaconf", "antlr4": "antlr4-python3-runtime"}
    if launcher == "packed":
        wanted["hydra_plugins.hydra_joblib_launcher"] = "hydra-joblib-launcher"
    missing = []
    for module, package in wanted.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(package)
    return missing


class Check:
    """One run of the check: its results, written after every step, and the parts in plan order."""

    def __init__(self, plan, args: argparse.Namespace, reference: dict | None, rehearsal: bool, argv: list[str]):
        from vadlit.tasks.run_folder import git_commit, now

        self.plan, self.args, self.reference, self.rehearsal = plan, args, reference, rehearsal
        self.out, self.work = Path(args.output), Path(args.work).resolve()
        self.deadline = Deadline(args.budget_s)
        self.lock = threading.RLock()
        self.child = None
        self.results: dict[str, Any] = {
            "check": {"status": "running", "started": now(), "budget_s": args.budget_s, "parts": args.parts,
                      "rehearsal": rehearsal, "command": " ".join(["check.py", *argv]), "git_commit": git_commit(),
                      "notes": list(plan.notes)},
            "plan": plan.record(), "untested": None, "errors": [],
        }
        if reference is not None:
            self.results["reference"] = {"path": str(args.reference), "what": reference.get("what")}

    def say(self, text: str) -> None:
        print(f"gpu-check [{self.deadline.elapsed:4.0f} s] {text}", flush=True)

    def save(self) -> None:
        from vadlit.evaluation.outputs import write_json
        from vadlit.files import save_text
        from vadlit.tasks.bench.gpu_report import UNTESTED, evaluate, render_markdown

        with self.lock:
            self.results["check"]["elapsed_s"] = self.deadline.elapsed
            self.results["untested"] = UNTESTED
            self.results["goals"] = evaluate(self.results, self.plan.goal_size, list(self.plan.models))
            write_json(self.out / "gpu_check.json", self.results)
            save_text(self.out / "gpu_check.md", render_markdown(self.results))

    def _hard_stop(self) -> None:
        """Past the budget and its grace: record where it stopped, end the ablation, exit 3."""
        with self.lock:
            self.results["check"]["status"] = "stopped at the hard deadline"
            self.results["errors"].append(f"still running {self.args.budget_s + HARD_GRACE_S:.0f} s after the start")
            try:
                self.save()
            finally:
                if self.child is not None and self.child.poll() is None:
                    import signal

                    try:
                        os.killpg(self.child.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                print(f"{ERROR}stopped at the hard deadline ({self.args.budget_s + HARD_GRACE_S:.0f} s); "
                      f"partial results in {self.out}", file=sys.stderr, flush=True)
                os._exit(3)

    def run(self) -> int:
        from vadlit.errors import terminate_on_sigterm
        from vadlit.tasks.run_folder import now

        terminate_on_sigterm()
        timer = threading.Timer(self.args.budget_s + HARD_GRACE_S, self._hard_stop)
        timer.daemon = True
        timer.start()
        status, code = "finished", 0
        try:
            self._parts()
        except KeyboardInterrupt as exc:
            status, code = f"interrupted ({exc or 'Ctrl-C'})", 1
        except Exception as exc:  # noqa: BLE001 - recorded, and the partial results are kept
            from vadlit.errors import one_line

            status, code = "failed", 1
            with self.lock:
                self.results["errors"].append(f"{type(exc).__name__}: {one_line(exc)[:500]}")
        finally:
            timer.cancel()
            with self.lock:
                self.results["check"].update(status=status, ended=now())
                self.save()
        self.say(f"{status}; written: {self.out / 'gpu_check.json'}, {self.out / 'gpu_check.md'}")
        return code

    def _parts(self) -> None:
        import torch

        from vadlit.config.tree import config_dir
        from vadlit.tasks.bench.cases import Composer
        from vadlit.tasks.bench.gpu_throughput import dense_rates, measure_case, with_derived
        from vadlit.tasks.bench.machine import machine_record
        from vadlit.tasks.bench.runner import quiet

        quiet()
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else torch.device("cpu")
        machine = machine_record(device)
        if device.type == "cuda":
            props = torch.cuda.get_device_properties(device)
            machine.update(gpu_memory_bytes=int(props.total_memory), multiprocessors=int(props.multi_processor_count),
                           cudnn=torch.backends.cudnn.version(), compute_capability=f"{props.major}.{props.minor}")
        with self.lock:
            self.results["machine"] = machine
        self.say(f"on {machine['device_name']} ({device}), torch {torch.__version__}; budget {self.args.budget_s:.0f} s")
        self.save()

        compose = Composer("bench", [f"paths.output_dir={self.work / 'bench'}", f"paths.cache_dir={self.work / 'cache'}"],
                           config_dir())
        cases = self.plan.throughput_cases() if "throughput" in self.args.parts else []
        rows: list[dict[str, Any]] = []

        if cases:
            rates = dense_rates(device, self.plan)
            with self.lock:
                self.results["dense"] = rates
                self.results["throughput"] = {"cases": rows}
            for rate in rates.values():
                self.say(f"dense {rate['dtype']} matmul: {rate['flops_per_s'] / 1e12:,.1f} TFLOP/s")
            self.save()

        def measure(case) -> None:
            if not self.deadline.allows(self.plan.estimate(case), FINAL_RESERVE_S):
                row = {"case": case.name, "model": case.model, "size": case.size.name, "precision": case.precision,
                       "option": case.option, "skipped": f"out of time ({self.deadline.remaining:.0f} s left, "
                                                         f"needs ~{self.plan.estimate(case):.0f} s)"}
                self.say(f"{case.name}: skipped, {row['skipped']}")
            else:
                row = measure_case(case, self.plan, compose, str(self.work / "bench"), device)
                if "error" in row:
                    self.say(f"{case.name}: failed: {row['error']}")
            with self.lock:
                rows.append(row)
                with_derived(rows, self.results.get("dense", {}))
            if "seconds_per_step" in row:
                speedup = row.get("speedup_vs_32")
                self.say(f"{case.name}: {1e3 * row['seconds_per_step']:,.1f} ms/step, {row['clips_per_s']:,.0f} clips/s"
                         + (f", {speedup:.2f}x 32-true" if speedup else "")
                         + (f", MFU {100 * row['mfu']:.1f}%" if row.get("mfu") is not None else ""))
            self.save()

        for case in (c for c in cases if c.early):
            measure(case)
        if "ablation" in self.args.parts:
            self._ablation(device)
        for case in (c for c in cases if not c.early):
            measure(case)

    def _ablation(self, device) -> None:
        import gc

        import torch

        from vadlit.tasks.bench.agreement import compare
        from vadlit.tasks.bench.packed_ablation import expected_jobs, keep_report, run_ablation

        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()  # the training cases' cached memory is the sweep's to use
        slice_s = self.deadline.slice(self.plan.ablation_cap_s, FINAL_RESERVE_S)
        if slice_s < MIN_ABLATION_S:
            with self.lock:
                self.results["ablation"] = {"jobs_expected": expected_jobs(self.plan),
                                            "skipped": f"out of time ({self.deadline.remaining:.0f} s left)"}
            self.say("ablation: skipped, out of time")
            self.save()
            return
        self.say(f"ablation: {expected_jobs(self.plan)} runs, {self.plan.launcher} launcher, "
                 f"jobs_per_gpu={self.plan.jobs_per_gpu}, at most {slice_s:.0f} s")

        def started(process) -> None:
            self.child = process

        try:
            record = run_ablation(self.plan, self.work, slice_s, self.say, on_start=started)
        except Exception as exc:  # noqa: BLE001 - e.g. an unwritable work folder: the other parts still run
            from vadlit.errors import one_line

            record = {"jobs_expected": expected_jobs(self.plan), "runs": [], "finished": 0,
                      "error": f"{type(exc).__name__}: {one_line(exc)[:500]}", "ended": "failed to run"}
            self.say(f"ablation: failed: {record['error']}")
        finally:
            self.child = None
        agreement = compare(record["runs"], self.reference)
        if record.get("finished"):
            record["kept"] = keep_report(Path(record["sweep_dir"]), self.out)
        with self.lock:
            self.results["ablation"] = record
            self.results["agreement"] = agreement
        self.say(f"ablation: {record['finished']}/{record['jobs_expected']} finished in {record.get('wall_s', 0):.0f} s "
                 f"({record['ended']}); {agreement['variants_within']}/{agreement['variants_judged']} variants and "
                 f"{agreement['runs_within_fp']}/{agreement['runs_compared']} runs within the CPU's noise")
        self.save()


def main(argv: list[str] | None = None, default_reference: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parse_args(argv, default_reference)
    except UsageError as exc:  # under --probe on stdout, where `make gpu-check` reads the reason
        print(f"{ERROR}{exc}", file=sys.stdout if "--probe" in argv else sys.stderr)
        return 2
    rehearsal = os.environ.get(REHEARSAL_ENV) == "1"
    reason = refusal(rehearsal)
    missing = missing_packages(args.launcher) if reason is None else []
    if missing:
        reason = f"{', '.join(missing)} not installed: install the carried wheels (experiments/bench_gpu/README.md)"
    if args.probe:  # for `make gpu-check`, which refuses in one line of its own
        if reason is not None:
            print(f"{ERROR}{reason}")
        return 2 if reason is not None else 0
    reference = None
    if reason is None and "ablation" in args.parts:
        from vadlit.errors import ConfigError
        from vadlit.tasks.bench.agreement import load_reference

        try:
            reference = load_reference(args.reference)
        except ConfigError as exc:
            reason = str(exc)
    if reason is not None:
        print(f"{ERROR}{reason}", file=sys.stderr)
        return 2

    from vadlit.allocator import keep_freed_memory
    from vadlit.config.resolvers import register
    from vadlit.tasks.bench.gpu_plan import gpu_plan, rehearsal_plan

    register()
    keep_freed_memory()
    plan = rehearsal_plan(args.launcher) if rehearsal else gpu_plan(args.jobs_per_gpu, args.launcher, args.ablation_cap_s)
    return Check(plan, args, reference, rehearsal, argv).run()
