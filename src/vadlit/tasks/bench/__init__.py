"""`vadlit-bench`: how fast this machine trains, loads, scores and attends, measured in one run.

Speed claims ("the loader keeps up", "mixed precision pays off", "the model uses the hardware well")
go stale with every model or machine change; one command that measures them on the current machine,
through the same configs and the same training step as `vadlit-train`, keeps them honest.

One concept per module: `settings` (the `bench:` config section, checked), `cases` (composing each
measured configuration from the real config tree), `timing`, `flops` (FLOP counting and the machine's
dense matmul rate), `memory` (peak tensor memory on any device), `training`, `loading`, `scoring`,
`attention`, `gpu`, `goals`, `table` (printing and bench.json) and `runner` (the whole run).

The prepared GPU check (experiments/bench_gpu/check.py) reuses them: `gpu_check` (the run, its
refusals and its deadline), `gpu_plan` (what it measures, in which order), `deadline`, `gpu_throughput`,
`packed_ablation` (the packed heads sweep), `agreement` (its AUROCs against the CPU's) and `gpu_report`.
"""

__all__ = ["run_bench"]


def __getattr__(name: str):
    """`vadlit.tasks.bench.run_bench`, imported on first use (it pulls in Lightning)."""
    if name == "run_bench":
        from vadlit.tasks.bench.runner import run_bench

        return run_bench
    raise AttributeError(f"module 'vadlit.tasks.bench' has no attribute {name!r}")
