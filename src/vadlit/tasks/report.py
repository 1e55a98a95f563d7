"""`vadlit-report`: sweep folders -> report.md, results.csv, report.png, and each results table printed."""

from __future__ import annotations

from pathlib import Path

from vadlit.reporting.files import write_report
from vadlit.reporting.summary import summarize
from vadlit.reporting.sweep import load_sweep
from vadlit.reporting.tables import results_table


def out_dirs(sweep_dirs: list[Path], out: str | None) -> list[Path]:
    """Where each sweep's report goes: into the sweep folder, or `out` (one subfolder a sweep when several)."""
    if out is None:
        return list(sweep_dirs)
    if len(sweep_dirs) == 1:
        return [Path(out)]
    names: dict[str, int] = {}
    dirs = []
    for d in sweep_dirs:
        name = d.resolve().name or "sweep"
        names[name] = names.get(name, 0) + 1
        dirs.append(Path(out) / (name if names[name] == 1 else f"{name}-{names[name]}"))
    return dirs


def report(sweep_dirs: list[Path], out: str | None) -> None:
    sweeps = [load_sweep(d) for d in sweep_dirs]  # every folder is checked before anything is written
    for i, (sweep, out_dir) in enumerate(zip(sweeps, out_dirs(sweep_dirs, out))):
        paths = write_report(sweep, out_dir)
        counts = sweep.counts()
        if i:
            print()
        print(f"## {sweep.path}")
        print(f"{counts['expected']} expected, {counts['finished']} finished, {counts['failed']} failed, "
              f"{counts['unfinished']} unfinished, {counts['missing']} missing")
        print()
        print(results_table(summarize(sweep)))
        print()
        for path in paths.values():
            print(f"wrote {path}")
