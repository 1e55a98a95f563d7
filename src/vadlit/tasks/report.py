"""`vadlit-report`: sweep folders -> report.md, results.csv, report.png, and each results table printed;
and the same report written when a sweep ends (`ReportAtSweepEnd`, a Hydra callback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from vadlit.errors import one_line

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
        show_markdown(results_table(summarize(sweep)))
        print()
        for path in paths.values():
            print(f"wrote {path}")


def show_markdown(text: str) -> None:
    """Markdown rendered by rich on a terminal; as it is when piped (it stays a Markdown table)."""
    from rich.console import Console
    from rich.markdown import Markdown

    console = Console()
    if console.is_terminal:
        console.print(Markdown(text))
    else:
        print(text)


class ReportAtSweepEnd(Callback):
    """When a multirun ends, its report is written into the sweep folder and its table printed, as
    `vadlit-report <sweep>` would: a sweep is one command. A report that cannot be made (e.g. no job
    finished) is one line, and the sweep's own result stands."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not self.enabled:
            return
        sweep_dir = Path(config.hydra.sweep.dir)
        print()
        try:
            report([sweep_dir], None)
        except Exception as exc:  # noqa: BLE001 - the sweep is done; its report failing must not hide that
            print(f"vadlit-report: no report for {sweep_dir}: {one_line(exc)}")
