"""Hydra's side of a sweep: a job's overrides as Hydra prints them, and the grid a multirun.yaml launched.

The job folders found on disk and the jobs of the grid are matched by their overrides, so both go through
`parse_overrides` here. This is the only module that speaks Hydra's override grammar.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable

from vadlit.reporting.text import one_line

# Overrides that say where or how a job ran, not what it computed: they neither identify a job of the
# grid (a sweep re-run with `resume=true` or on another machine finds its jobs) nor make a factor.
# They stay in the listed overrides. (As conf/hydra/default.yaml's override_dirname.exclude_keys.)
BOOKKEEPING_KEYS = ("resume", "trainer", "hydra/launcher", "data.root")
BOOKKEEPING_PREFIXES = ("hydra.", "hydra/", "paths.")


def overrides_parser():
    """Hydra's override parser (without a config tree: `glob()` cannot be expanded)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _norm_key(key: str) -> str:
    return key.lstrip("+")


def _parse_one(parser, text: str) -> tuple[str, str]:
    try:
        override = parser.parse_overrides([text])[0]
        key = _norm_key(override.get_key_element())
        if override.is_sweep_override():
            return key, text.split("=", 1)[1] if "=" in text else ""
        return key, override.get_value_element_as_str()
    except Exception:  # noqa: BLE001 - an odd override is kept as written, never fatal
        key, _, value = text.partition("=")
        return _norm_key(key.strip()), value.strip()


def parse_overrides(parser, items: Iterable[str]) -> dict[str, str]:
    """Normalised key (no leading `+`) -> value as Hydra prints it, bookkeeping overrides left out."""
    out: dict[str, str] = {}
    for text in items:
        key, value = _parse_one(parser, str(text))
        if key not in BOOKKEEPING_KEYS and not key.startswith(BOOKKEEPING_PREFIXES):
            out[key] = value
    return out


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
