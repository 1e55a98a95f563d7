"""Hydra's side of a sweep: a job's overrides as Hydra prints them, and the grid a multirun.yaml launched.

The job folders found on disk and the jobs of the grid are matched by their overrides, so both go through
`config.overrides.parse_overrides` (which says which overrides identify a job).
"""

from __future__ import annotations

import itertools
from pathlib import Path

from vadlit.config.overrides import overrides_parser
from vadlit.reporting.text import one_line

def expand_grid(multirun_yaml: Path) -> tuple[list[list[str]] | None, str]:
    """The jobs (lists of overrides) Hydra's BasicSweeper launched for this `multirun.yaml`, or None and
    the reason they cannot be known. Sweeper params come first, the command line wins for the same key."""
    from omegaconf import OmegaConf

    try:
        cfg = OmegaConf.load(multirun_yaml)
    except Exception as exc:  # noqa: BLE001
        return None, f"multirun.yaml unreadable ({type(exc).__name__}: {one_line(exc)})"
    target = OmegaConf.select(cfg, "hydra.sweeper._target_", default=None)
    if target and "BasicSweeper" not in str(target):
        return None, f"sweeper {target} is not Hydra's BasicSweeper"
    task = OmegaConf.select(cfg, "hydra.overrides.task", default=None)
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None)
    task = [str(t) for t in OmegaConf.to_container(task, resolve=False)] if task is not None else []
    params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
    arguments = [f"{k}={v}" for k, v in (params or {}).items()] + task
    try:
        jobs = basic_sweeper_jobs(overrides_parser().parse_overrides(arguments))
    except Exception as exc:  # noqa: BLE001 - e.g. glob() needs the config tree
        return None, f"grid of multirun.yaml not expandable ({type(exc).__name__}: {one_line(exc)})"
    return jobs, "multirun.yaml (hydra.sweeper.params + hydra.overrides.task)"


def basic_sweeper_jobs(overrides: list) -> list[list[str]]:
    """The jobs (lists of `key=value`) BasicSweeper launches for these parsed overrides, in its order: the
    cartesian product over keys in the order they first appear, a later override of a key replacing the
    values of the earlier one, a sweep it cannot enumerate (`interval()`) a HydraException.

    Hydra's public Override API gives the pieces; the product itself is only in hydra._internal
    (`BasicSweeper.split_arguments`), so it is written out here as that method does it with one batch.
    tests/unit/reporting/test_report.py checks it against BasicSweeper on sweeps of every kind."""
    from hydra.errors import HydraException

    values: dict[str, list[str]] = {}
    for override in overrides:
        key = override.get_key_element()
        if not override.is_sweep_override():
            values[key] = [f"{key}={override.get_value_element_as_str()}"]
        elif override.is_discrete_sweep():
            values[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            raise HydraException(f"BasicSweeper does not support sweep type : {override.value_type.name}")
    return [list(job) for job in itertools.product(*values.values())]
