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


def _fail(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from vadlit.errors import VadlitError
    from vadlit.tasks.report import report

    try:
        report([Path(d) for d in args.sweep_dirs], args.out)
    except VadlitError as exc:
        if os.environ.get("VADLIT_TRACEBACK"):
            raise
        _fail(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
