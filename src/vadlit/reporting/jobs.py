"""One job folder of a sweep -> a `Job`: its overrides, its `run_info.json` status and its `metrics.json`.

Also where job folders are found under a sweep folder and what a job's metrics say (heads, model name,
test statistics). Only single folders are known here; `sweep.load_sweep` puts them together.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vadlit.config.overrides import parse_overrides
from vadlit.reporting.text import one_line

REPLICATE = "seed"
MAX_DEPTH = 4  # how deep under the sweep folder job folders are looked for


def as_number(value: Any) -> float | None:
    """A metrics.json value as a float; None for anything else (a bool, a string, null) and for NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass
class Job:
    """One job of the sweep: a folder found on disk, or a job of the grid with no folder (`missing`)."""

    name: str                                   # path relative to the sweep folder ("—" when missing)
    path: Path | None
    overrides: dict[str, str]                   # normalised key -> value, as Hydra prints it
    override_list: list[str]                    # the overrides as written (`.hydra/overrides.yaml`)
    status: str                                 # finished | failed | unfinished | missing
    reason: str | None = None                   # the error (failed) or the state (unfinished)
    metrics: dict | None = None
    run_info: dict | None = None
    seed: Any = None
    in_grid: bool = True                        # False: found, but not a job of the expected grid
    superseded_by: str | None = None            # another folder with the same overrides is used instead
    variant: tuple = ()                         # its values of the sweep's factors

    @property
    def used(self) -> bool:
        return self.superseded_by is None

    @property
    def error(self) -> str | None:
        return self.reason if self.status == "failed" else None

    @property
    def heads(self) -> int | None:
        model = (self.metrics or {}).get("model") or {}
        heads = model.get("heads") if isinstance(model, dict) else None
        return int(heads) if isinstance(heads, (int, float)) and not isinstance(heads, bool) else None

    @property
    def model_name(self) -> str | None:
        model = (self.metrics or {}).get("model") or {}
        name = model.get("variant") if isinstance(model, dict) else None
        return str(name) if name not in (None, "") else None

    @property
    def uses_test_statistics(self) -> bool:
        options = (self.metrics or {}).get("options") or {}
        return isinstance(options, dict) and bool(options.get("uses_test_statistics"))

    def test_statistic_options(self) -> dict[str, Any]:
        """The post-processing options of the run that are switched on (the ones that use test statistics)."""
        options = (self.metrics or {}).get("options") or {}
        on = {}
        for k, v in options.items():
            if k == "uses_test_statistics":
                continue
            if v is True or (as_number(v) is not None and not isinstance(v, bool) and as_number(v) != 0):
                on[k] = v
        return on

    def overrides_text(self) -> str:
        return " ".join(self.override_list) if self.override_list else "(no overrides)"


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text()), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"{path.name} unreadable ({type(exc).__name__}: {one_line(str(exc))})"


def _is_job_dir(path: Path) -> bool:
    return (path / ".hydra" / "overrides.yaml").is_file() or (path / "run_info.json").is_file()


def find_job_dirs(root: Path) -> list[Path]:
    """`root` if it is a job folder, else the job folders under it (at most MAX_DEPTH deep), in natural order."""
    if _is_job_dir(root):
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            child = here / name
            if _is_job_dir(child):
                found.append(child)
            elif depth + 1 < MAX_DEPTH:
                keep.append(name)
        dirnames[:] = keep
    return sorted(found, key=_natural_key)


def _natural_key(path: Path):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def read_job(path: Path, root: Path, parser) -> Job:
    """The job in folder `path` (named relative to the sweep folder `root`), with its status and why."""
    from omegaconf import OmegaConf

    name = "." if path == root else str(path.relative_to(root))
    override_list: list[str] = []
    problems = []
    ov_path = path / ".hydra" / "overrides.yaml"
    if ov_path.is_file():
        try:
            loaded = OmegaConf.to_container(OmegaConf.load(ov_path), resolve=False)
            override_list = [str(o) for o in (loaded or [])]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"overrides.yaml unreadable ({type(exc).__name__})")
    overrides = parse_overrides(parser, override_list)

    info, info_error = _read_json(path / "run_info.json")
    info = info if isinstance(info, dict) else None
    metrics, metrics_error = _read_json(path / "metrics.json")
    metrics = metrics if isinstance(metrics, dict) else None
    raw = info.get("status") if info else None

    if raw == "failed":
        status, reason = "failed", one_line(info.get("error") or "(no error recorded in run_info.json)")
        if (path / "error.txt").is_file():
            reason += f" (traceback: {name}/error.txt)"
    elif raw == "finished" and metrics is not None:
        status, reason = "finished", None
    else:
        status = "unfinished"
        if info_error:
            reason = info_error
        elif info is None:
            reason = "no run_info.json" + (" (metrics.json present)" if metrics is not None else "")
        elif raw == "running":
            reason = f"status running since {info.get('start') or '?'}, no metrics.json (still running or killed)"
        elif raw == "finished":
            reason = metrics_error or "finished without metrics.json (test step not run?)"
        else:
            reason = f"status {raw!r} in run_info.json"
    if problems:
        reason = "; ".join(filter(None, [reason, *problems]))

    seed = overrides.get(REPLICATE)
    if seed is None:
        seed = (metrics or {}).get("seed", (info or {}).get("seed"))
    return Job(name=name, path=path, overrides=overrides, override_list=override_list, status=status,
               reason=reason, metrics=metrics, run_info=info,
               seed=seed_value(seed))


def seed_value(seed: Any) -> Any:
    """A seed as an int where it is one written as text (`"3"` -> 3); anything else as it is."""
    if isinstance(seed, str):
        try:
            return int(seed)
        except ValueError:
            return seed
    return seed
