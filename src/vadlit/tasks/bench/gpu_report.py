"""The GPU check's verdicts and its short Markdown report: the goals (judged and reported, never
asserted), the tables, and what one GPU cannot test."""

from __future__ import annotations

from typing import Any

from vadlit.reporting.tables import md_table
from vadlit.tasks.bench.goals import goal_row

MIXED_SPEEDUP = 1.6
ABLATION_MINUTES = 15.0

UNTESTED = [
    {"what": "2-process DDP over NCCL (trainer=ddp)",
     "why": "needs 2 GPUs: this machine has one, and NCCL refuses two ranks on the same GPU; DDP is tested "
            "on CPU over gloo (tests, make test-all)"},
    {"what": "SyncBatchNorm (trainer=ddp sets sync_batchnorm)",
     "why": "only synchronises between DDP processes, so it needs the 2-GPU DDP run above"},
    {"what": "Ray across GPUs (hydra/launcher=ray_local with GPUs, ray_cluster)",
     "why": "no Ray on the GPU machine and its wheel (~300 MB with its dependencies) is over the 64 MiB "
            "that can be carried there; one GPU cannot show jobs spread over GPUs anyway. Ray's packing "
            "(5 jobs on 1 declared GPU, 10 on 2) is tested on CPU with GPUs declared to Ray"},
    {"what": "SLURM (hydra/launcher=slurm)", "why": "no cluster"},
]


def _case(rows: list[dict], model: str, size: str, precision: str) -> dict | None:
    return next((r for r in rows if r["model"] == model and r["size"] == size and r["precision"] == precision
                 and not r.get("option") and "seconds_per_step" in r), None)


def evaluate(results: dict[str, Any], goal_size: str, models: list[str]) -> list[dict[str, Any]]:
    """The issue's goals: bf16-mixed >= 1.6x 32-true at 128x128x16 (each model), the packed ablation in
    <= 15 minutes, and its AUROCs within the CPU's noise."""
    rows = results.get("throughput", {}).get("cases", [])
    goals = []
    for model in models:
        name = f"bf16-mixed over 32-true, training step, {model} {goal_size}"
        case = _case(rows, model, goal_size, "bf16-mixed")
        if case is None or case.get("speedup_vs_32") is None:
            goals.append(goal_row(name, f">= {MIXED_SPEEDUP:g}x", None, "", None, note="not measured"))
        else:
            speedup = case["speedup_vs_32"]
            goals.append(goal_row(name, f">= {MIXED_SPEEDUP:g}x", speedup, "s/step ratio", speedup >= MIXED_SPEEDUP))
        goals[-1]["shown"] = "—" if goals[-1]["measured"] is None else f"{goals[-1]['measured']:.2f}x"

    ablation = results.get("ablation") or {}
    expected = ablation.get("jobs_expected")
    name = f"packed ablation, {expected or '?'} runs on one GPU, wall time"
    target = f"<= {ABLATION_MINUTES:g} min"
    if "wall_s" not in ablation:
        row = goal_row(name, target, None, "", None, note=ablation.get("skipped") or ablation.get("error") or "not run")
    else:
        minutes = ablation["wall_s"] / 60
        complete = ablation.get("finished") == expected and ablation.get("returncode") == 0
        if complete:
            row = goal_row(name, target, minutes, ablation.get("ended", ""), minutes <= ABLATION_MINUTES)
        elif minutes > ABLATION_MINUTES:
            row = goal_row(name, target, minutes, ablation.get("ended", ""), False)
        else:
            row = goal_row(name, target, minutes, ablation.get("ended", ""), None,
                           note=f"unknown: {ablation.get('finished', 0)}/{expected} finished, {ablation.get('ended')}")
    row["shown"] = "—" if row["measured"] is None else f"{row['measured']:.1f} min"
    goals.append(row)

    agreement = results.get("agreement") or {}
    name = "GPU AUROC vs the CPU's, per variant (mean over seeds within the seed-spread bound)"
    if not agreement.get("variants_judged"):
        row = goal_row(name, "every variant", None, "", None, note=agreement.get("skipped") or "no run to compare")
        row["shown"] = "—"
    else:
        within, judged = agreement["variants_within"], agreement["variants_judged"]
        row = goal_row(name, "every variant", within / judged,
                       f"runs within {100 * agreement['fp_tolerance']:.0f} pp of the same CPU seed: "
                       f"{agreement['runs_within_fp']}/{agreement['runs_compared']}", bool(agreement["matches"]))
        row["shown"] = f"{within}/{judged}"
    goals.append(row)
    return goals


def _num(value: float | None, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    return "—" if value is None else f"{value / scale:{spec}}{suffix}"


def _pp(value: float | None, sign: bool = False) -> str:
    return "—" if value is None else (f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}")


def render_markdown(results: dict[str, Any]) -> str:
    check, machine = results["check"], results.get("machine", {})
    lines = [f"# GPU check: {machine.get('device_name', '?')}", "",
             f"- status: **{check['status']}** after {check.get('elapsed_s', 0):.0f} s of a {check['budget_s']:.0f} s "
             f"budget; torch {machine.get('torch')}, CUDA {machine.get('cuda')}; commit {check.get('git_commit')}",
             f"- started {check.get('started')}; command `{check.get('command')}`"]
    lines += [f"- note: {n}" for n in check.get("notes", [])]
    for rate in (results.get("dense") or {}).values():
        extra = f" (float32 matmul precision: {rate['float32_matmul_precision']})" if "float32_matmul_precision" in rate else ""
        lines.append(f"- dense {rate['dtype']} matmul (n = {', '.join(rate['mm']['by_size'])}): "
                     f"{rate['flops_per_s'] / 1e12:,.1f} TFLOP/s{extra}")

    lines += ["", "## Goals", ""]
    goals = results.get("goals") or []
    lines.append(md_table(["goal", "target", "measured", "status", "where"],
                          [[g["goal"], g["target"], g.get("shown", "—"), g["status"], g["where"]] for g in goals]))

    cases = (results.get("throughput") or {}).get("cases") or []
    if cases:
        lines += ["", "## Training step (G + D update through a Lightning Trainer, random clips in memory)", ""]
        table = []
        for r in cases:
            if "seconds_per_step" not in r:
                table.append([r["case"], "", "", "", "", "", r.get("error") or r.get("skipped", "")])
                continue
            table.append([r["case"], str(r["batch_size"]), _num(r["seconds_per_step"] * 1e3, ",.1f"),
                          _num(r["clips_per_s"], ",.0f"), _num(r.get("speedup_vs_32"), ".2f", suffix="x"),
                          _pp(r.get("mfu")), _num(r.get("peak_memory_bytes"), ",.0f", 1024**2)])
        lines.append(md_table(["case", "batch", "ms/step", "clips/s", "vs 32-true", "MFU (%)", "peak MB"], table,
                              ["l", "r", "r", "r", "r", "r", "r"]))
        lines += ["", "MFU: counted FLOPs per second over the dense bf16 matmul rate above (the same run). "
                  "vs 32-true: 32-true's s/step over this case's, same model and size."]

    ablation = results.get("ablation") or {}
    if ablation:
        lines += ["", "## Packed ablation", ""]
        if "wall_s" in ablation:
            lines.append(f"`{ablation['command']}`: {ablation['wall_s']:.0f} s wall, {ablation.get('finished', 0)}/"
                         f"{ablation['jobs_expected']} finished, at most {ablation.get('max_concurrent_runs', 0)} "
                         f"runs at once ({ablation.get('ended')}).")
            shares = sorted({str((r.get("placement") or {}).get("gpu_share")) for r in ablation.get("runs", [])})
            precisions = sorted({str(r.get("precision")) for r in ablation.get("runs", [])})
            if shares or precisions:
                lines.append(f"Each run's GPU share (run_info.json): {', '.join(shares)}; precision: "
                             f"{', '.join(precisions)}.")
        else:
            lines.append(ablation.get("skipped") or ablation.get("error") or "not run")
    agreement = results.get("agreement") or {}
    if agreement.get("variants"):
        lines += ["", f"AUROC (%) against the CPU reference, same seeds (per-variant bound: "
                  f"max({100 * agreement['floor']:.0f}, {agreement['seed_factor']:g} σ √(2/n)) pp, σ the CPU's std "
                  f"over 5 seeds; per run: ±{100 * agreement['fp_tolerance']:.0f} pp):", ""]
        rows = []
        for v in agreement["variants"]:
            runs = ", ".join(f"s{r['seed']} {_pp(r['delta'], True)}" for r in agreement["runs"]
                             if r["model"] == v["model"] and r["cpu"] is not None)
            rows.append([v["model"], str(v["n"]), _pp(v["cpu_mean"]), _pp(v["gpu_mean"]), _pp(v["delta"], True),
                         _pp(v["bound"]), {True: "yes", False: "no", None: "—"}[v["within"]], runs])
        lines.append(md_table(["model", "seeds", "CPU", "GPU", "Δ", "bound", "within", "Δ per seed (pp)"], rows,
                              ["l", "r", "r", "r", "r", "r", "l", "l"]))

    lines += ["", "## Not tested here", ""]
    lines += [f"- {u['what']}: {u['why']}" for u in results.get("untested", UNTESTED)]
    errors = results.get("errors") or []
    if errors:
        lines += ["", "## Errors", ""] + [f"- {e}" for e in errors]
    return "\n".join(lines) + "\n"
