"""A sweep folder -> a `Sweep`: the job folders found, matched against the grid multirun.yaml launched.

A job of the grid with no folder is `missing`, a folder outside the grid is kept and marked, and of
several folders with the same overrides one is used and the others are `superseded`. The factors of the
study are the override keys that take more than one value. `jobs` reads the single folders, `grid`
knows what Hydra launched; this module decides what the sweep is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from vadlit.errors import VadlitError
from vadlit.config.overrides import overrides_parser, parse_overrides
from vadlit.reporting.grid import expand_grid
from vadlit.reporting.jobs import REPLICATE, Job, find_job_dirs, read_job, seed_value
from vadlit.reporting.text import DASH


@dataclass
class Sweep:
    """Everything `load_sweep` found: jobs (found and missing), the study's factors, how the grid was known."""

    path: Path
    jobs: list[Job]
    factors: list[str]                          # override keys with more than one value, minus `seed`
    factor_values: dict[str, list]              # each factor's values in grid order (None = not overridden)
    fixed: dict[str, str]                       # override keys with one value across the sweep
    n_expected: int                             # jobs of the grid (or distinct jobs found, without a grid)
    grid_source: str                            # how the expected jobs were known
    notes: list[str] = field(default_factory=list)

    def primary(self) -> list[Job]:
        """One job per expected grid point (found or missing) plus found jobs outside the grid."""
        return [j for j in self.jobs if j.used]

    def by_status(self, status: str) -> list[Job]:
        return [j for j in self.primary() if j.status == status]

    @property
    def superseded(self) -> list[Job]:
        return [j for j in self.jobs if not j.used]

    @property
    def outside_grid(self) -> list[Job]:
        return [j for j in self.primary() if not j.in_grid]

    def counts(self) -> dict[str, int]:
        return {
            "expected": self.n_expected,
            "finished": len(self.by_status("finished")),
            "failed": len(self.by_status("failed")),
            "unfinished": len(self.by_status("unfinished")),
            "missing": len(self.by_status("missing")),
            "outside_grid": len(self.outside_grid),
            "superseded": len(self.superseded),
        }


def _job_rank(job: Job) -> tuple:
    """Which of several folders with the same overrides is used: finished first, then the latest."""
    order = {"finished": 3, "failed": 1, "unfinished": 2}
    info = job.run_info or {}
    return order.get(job.status, 0), str(info.get("end") or info.get("start") or ""), job.name


def load_sweep(sweep_dir: str | os.PathLike) -> Sweep:
    """Read a sweep folder (or a folder of run folders, or one run folder). Raises VadlitError when the
    folder does not exist or holds no job."""
    root = Path(sweep_dir)
    if not root.exists():
        raise VadlitError(f"no such folder: {root}")
    if not root.is_dir():
        raise VadlitError(f"not a folder: {root} (give the sweep folder, the one with multirun.yaml)")
    parser = overrides_parser()
    found = [read_job(p, root, parser) for p in find_job_dirs(root)]
    if not found:
        raise VadlitError(f"no job folder in {root} (expected subfolders with .hydra/overrides.yaml or "
                          "run_info.json, as a Hydra multirun writes)")

    notes: list[str] = []
    grid = None
    multirun = root / "multirun.yaml"
    if multirun.is_file():
        grid, grid_source = expand_grid(multirun)
        if grid is None:
            grid_source = "the jobs found (" + grid_source + ")"
    else:
        grid_source = "the jobs found (no multirun.yaml)"

    # Expected grid points, in Hydra's launch order.
    points: list[dict[str, str]] = []
    if grid is not None:
        seen = set()
        for overrides in grid:
            parsed = parse_overrides(parser, overrides)
            key = frozenset(parsed.items())
            if key not in seen:
                seen.add(key)
                points.append(parsed)
        grid_lists = {frozenset(parse_overrides(parser, o).items()): list(o) for o in grid}

    # Group found folders by their override set; keep one per set, the others are superseded.
    groups: dict[frozenset, list[Job]] = {}
    for job in found:
        groups.setdefault(frozenset(job.overrides.items()), []).append(job)
    for members in groups.values():
        if len(members) > 1:
            best = max(members, key=_job_rank)
            for job in members:
                if job is not best:
                    job.superseded_by = best.name

    jobs: list[Job] = []
    if grid is not None:
        point_keys = set()
        for point in points:
            key = frozenset(point.items())
            point_keys.add(key)
            members = groups.get(key)
            if members:
                jobs.extend(members)
            else:
                jobs.append(Job(name=DASH, path=None, overrides=point, override_list=grid_lists[key],
                                status="missing", reason="no job folder", seed=seed_value(point.get(REPLICATE))))
        for key, members in groups.items():
            if key not in point_keys:
                for job in members:
                    job.in_grid = False
                    jobs.append(job)
        n_expected = len(points)
    else:
        jobs = list(found)
        n_expected = len(groups)

    # Factors: override keys with more than one value over the jobs (expected and found), minus the seed.
    primary = [j for j in jobs if j.used]
    keys: list[str] = []
    for job in primary:  # in Hydra's launch order when the grid is known
        for k in job.overrides:
            if k not in keys:
                keys.append(k)
    values: dict[str, list] = {k: [] for k in keys}
    for job in primary:
        for k in keys:
            v = job.overrides.get(k)
            if v not in values[k]:
                values[k].append(v)
    factors = [k for k in keys if k != REPLICATE and len(values[k]) > 1]
    fixed = {k: values[k][0] for k in keys if k != REPLICATE and len(values[k]) == 1}
    for job in jobs:
        job.variant = tuple(job.overrides.get(k) for k in factors)
    if grid is not None and any(not j.in_grid for j in primary):
        notes.append(f"{sum(not j.in_grid for j in primary)} job folder(s) do not match the grid of "
                     "multirun.yaml; they are reported with the others")
    return Sweep(path=root, jobs=jobs, factors=factors, factor_values={k: values[k] for k in factors},
                 fixed=fixed, n_expected=n_expected, grid_source=grid_source, notes=notes)
