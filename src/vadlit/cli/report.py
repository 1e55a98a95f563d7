"""`vadlit-report SWEEP_DIR [SWEEP_DIR ...] [--out DIR]`: a sweep folder -> report.md, results.csv, report.png.

Prints each sweep's results table (Markdown) and the paths written. A folder that does not exist or holds
no job is one line on stderr, `vadlit-report: error: ...`, and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

PROG = "vadlit-report"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Turn Hydra sweep folders of vadlit runs into a results table: report.md (tables), "
                    "results.csv (one row per variant) and report.png (AUROC against heads).")
    parser.add_argument("sweep_dirs", nargs="+", metavar="SWEEP_DIR",
                        help="a sweep folder (the one holding multirun.yaml and one folder per job)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="where to write (default: into each sweep folder); with several sweeps, "
                             "one subfolder per sweep")
    return parser


def _out_dirs(sweep_dirs: list[Path], out: str | None) -> list[Path]:
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


def _fail(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from vadlit.errors import VadlitError
    from vadlit.reporting.files import write_report
    from vadlit.reporting.summary import summarize
    from vadlit.reporting.sweep import load_sweep
    from vadlit.reporting.tables import results_table

    sweep_dirs = [Path(d) for d in args.sweep_dirs]
    try:
        sweeps = [load_sweep(d) for d in sweep_dirs]  # every folder is checked before anything is written
        for i, (sweep, out) in enumerate(zip(sweeps, _out_dirs(sweep_dirs, args.out))):
            paths = write_report(sweep, out)
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
    except VadlitError as exc:
        if os.environ.get("VADLIT_TRACEBACK"):
            raise
        _fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
