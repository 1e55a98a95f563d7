"""The results as tables on stdout (rich; plain box text when piped) and as bench.json, one section per
measurement, each saying what its numbers are."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vadlit.evaluation.outputs import write_json

_MB = 1024**2
BUSY = 0.25
"""Share of the CPUs used by other processes above which the results are flagged as disturbed."""


def write_results(path: str | Path, results: dict[str, Any]) -> None:
    write_json(path, results)


def _f(value: float | None, spec: str = ",.1f", scale: float = 1.0, suffix: str = "") -> str:
    return "-" if value is None else f"{value / scale:{spec}}{suffix}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _table(title: str, columns: list[str], caption: str | None = None) -> Table:
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right", no_wrap=i == 0)
    return table


def render(results: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 160)
    m = results["machine"]
    console.print(f"[bold]vadlit-bench[/bold] on {m['device_name']} ({m['device']}, {m['threads']} threads, "
                  f"torch {m['torch']})")
    for dtype, rate in results["matmul"].items():
        conv = rate.get("conv3x3")
        console.print(f"dense {dtype}: torch.mm {rate['mm']['flops_per_s'] / 1e9:,.0f} GFLOP/s (best n x n, n in "
                      f"{', '.join(rate['mm']['by_size'])})"
                      + (f", 3x3 conv {conv['flops_per_s'] / 1e9:,.0f} GFLOP/s" if conv else "")
                      + f" -> MFU reference {rate['flops_per_s'] / 1e9:,.0f} GFLOP/s ({rate['reference']})")
    loads = [v for v in (m.get("other_load_at_start"), m.get("other_load_at_end")) if v is not None]
    if loads and max(loads) > BUSY:
        console.print(f"[bold red]warning[/bold red]: other processes kept {100 * max(loads):.0f}% of the CPUs busy "
                      "(sampled before and after the bench): every number below is low and noisy; run again on "
                      "an idle machine")

    gpu_memory = m["device_type"] == "cuda"
    precisions = sorted({r["precision"] for r in results["training"]})
    t = _table(
        f"Training step (G + D update through a Lightning Trainer, {', '.join(precisions)}; "
        f"{results['settings']['warmup_steps']} warm-up step(s), then {results['settings']['steps']} timed)",
        ["case", "batch", "T", "H x W", "s/step", "spread", "kernel", "clips/s", "frames/s", "GFLOP/step", "GFLOP/s",
         "MFU"] + (["peak MB"] if gpu_memory else []),
        "MFU = counted FLOPs per second / the MFU reference above in the same dtype. spread = (slowest - fastest "
        "timed step) / mean (CPU). kernel = share of the process's CPU time spent in the OS kernel (page "
        "faults on freshly mapped memory, mostly). "
        "frames/s = clips/s x T (all frames of a clip go through G and D).",
    )
    for r in results["training"]:
        t.add_row(r["case"], str(r["batch_size"]), str(r["clip_len"]), "x".join(map(str, r["image_size"])),
                  _f(r["seconds_per_step"], ".3f"), _pct(r.get("step_spread")),
                  _pct(r.get("kernel_share")), _f(r["clips_per_s"]), _f(r["frames_per_s"]),
                  _f(r["flops_per_step"], ",.1f", 1e9), _f(r["flops_per_s"], ",.1f", 1e9), _pct(r.get("mfu")),
                  *([_f(r.get("peak_memory_bytes"), ",.0f", _MB)] if gpu_memory else []))
    console.print(t)

    t = _table("Data loading (ClipDataModule.train_dataloader(), embedded synthetic data, no model)",
               ["size", "workers", "batch", "batches", "clips/s", "frames/s", "fastest training clips/s", "ratio"],
               "ratio = loader clips/s / the fastest training case of the same size (goal >= "
               f"{results['settings']['goals']['loading_ratio']:g}x).")
    for r in results["loading"]:
        t.add_row(r["size"], str(r["num_workers"]), str(r["batch_size"]), str(r["batches"]), _f(r["clips_per_s"]),
                  _f(r["frames_per_s"]), _f(r.get("fastest_training_clips_per_s")),
                  _f(r.get("ratio_to_training"), ",.1f", suffix="x"))
    console.print(t)

    t = _table("Test scoring (the score's terms only, eval mode, inference_mode, real test clips)",
               ["case", "eval batch", "stride", "batches", "clips/s", "scored frames/s", "test-set frames/s"],
               "scored frames: T per clip for reconstruct, 1 for predict; test-set frames/s: the rate of a "
               "whole test pass (overlapping clips score a frame more than once).")
    for r in results["scoring"]:
        t.add_row(r["case"], str(r["eval_batch_size"]), str(r["test_stride"]), str(r["batches"]),
                  _f(r["clips_per_s"]), _f(r["scored_frames_per_s"]), _f(r["test_frames_per_s"]))
    console.print(t)

    rows = results["attention"]
    if rows:
        first = rows[0]
        t = _table(
            f"Temporal attention, forward + backward ({first['sequences']} sequences x width {first['width']}, "
            f"{first['heads']} heads; mean of {first['repeats']} after {first['warmup']} warm-up)",
            ["T", "fused ms", "naive ms", "naive/fused", "fused peak MB", "naive peak MB", "naive weights MB",
             "max |diff|"],
            "peak MB: live tensors created during forward + backward (a torch dispatch mode; on a GPU the "
            "allocator's peak is in bench.json). naive weights MB: the float32 (sequences, heads, T, T) "
            "weights the naive path keeps for backward.",
        )
        for r in rows:
            t.add_row(str(r["frames"]), _f(r["fused"]["ms"], ",.2f"), _f(r["naive"]["ms"], ",.2f"),
                      _f(r["naive_over_fused_time"], ".2f", suffix="x"),
                      _f(r["fused"]["peak_tensor_bytes"], ",.1f", _MB),
                      _f(r["naive"]["peak_tensor_bytes"], ",.1f", _MB),
                      _f(r["naive_weights_bytes"], ",.1f", _MB), f"{max(r['max_abs_diff'].values()):.1e}")
        console.print(t)

    gpu = results["gpu"]
    if "skipped" in gpu:
        console.print(f"[bold]GPU precision and options[/bold]: skipped: {gpu['skipped']}")
    else:
        t = _table(f"GPU precision and options ({gpu['device_name']}; mixed = {gpu['mixed_precision']})",
                   ["case", "s/step", "clips/s", "peak MB", "MFU", "speed-up vs 32-true"])
        base = next((r for r in gpu["cases"] if r.get("case") == "32-true"), None)
        for r in gpu["cases"]:
            if "skipped" in r:
                t.add_row(r["case"], f"skipped: {r['skipped']}", "", "", "", "")
                continue
            speedup = base["seconds_per_step"] / r["seconds_per_step"] if base else None
            t.add_row(r["case"], _f(r["seconds_per_step"], ".4f"), _f(r["clips_per_s"]),
                      _f(r.get("peak_memory_bytes"), ",.0f", _MB), _pct(r.get("mfu")), _f(speedup, ".2f", suffix="x"))
        console.print(t)

    profile = results.get("profile")
    if profile:
        t = _table(f"Where a training step's time goes ({profile['case']}, one profiled step, self time)",
                   ["op", "ms", "share", "calls"])
        for op in profile["ops"]:
            t.add_row(op["op"][:60], _f(op["self_ms"], ",.1f"), _pct(op["share"]), str(op["calls"]))
        console.print(t)

    t = _table("Goals", ["goal", "target", "measured", "status", "where"])
    for g in results["goals"]:
        measured = g["measured"]
        text = "-" if measured is None else (_pct(measured) if "MFU" in g["goal"] else f"{measured:,.2f}x")
        style = "green" if g["met"] else ("red" if g["met"] is False else "dim")
        t.add_row(g["goal"], g["target"], text, f"[{style}]{g['status']}[/{style}]", g["where"])
    console.print(t)
    console.print(f"written: {results['settings']['output']}")
