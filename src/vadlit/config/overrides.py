"""Which command-line overrides say *what* a run computes, and which only where or how it ran.

A sweep's report matches job folders to its grid by them, and a resume (``ckpt_path=last``,
``resume=true``) continues only the run or sweep of the same command: both read overrides here.
Hydra's own override parser reads them (its public API), so ``model=ta1,ta2`` and
``+callbacks.x=...`` mean what Hydra means by them.
"""

from __future__ import annotations

from typing import Iterable

# Overrides that say where or how a job ran, not what it computed: they neither identify a job of the
# grid (a sweep re-run with `resume=true` or on another machine finds its jobs) nor make a factor.
# They stay in the listed overrides. (As conf/hydra/default.yaml's override_dirname.exclude_keys.)
BOOKKEEPING_KEYS = ("resume", "trainer", "hydra/launcher", "data.root")
BOOKKEEPING_PREFIXES = ("hydra.", "hydra/", "paths.")

# A single run may also be continued with these changed: how long and on what it trains
# (`trainer.max_epochs=20` to train on), what it shows, and how its data are loaded.
RESUME_FREE_KEYS = ("ckpt_path", "train", "test", "data.num_workers", "data.decode_workers", "data.cache_dir",
                    "data.rebuild_cache", "data.pin_memory", "data.eval_batch_size")
RESUME_FREE_PREFIXES = ("trainer.", "callbacks", "logger")


def overrides_parser():
    """Hydra's override parser (without a config tree: `glob()` cannot be expanded)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _norm_key(key: str) -> str:
    return key.lstrip("+~")


def _parse_one(parser, text: str) -> tuple[str, str]:
    try:
        override = parser.parse_overrides([text])[0]
        key = _norm_key(override.get_key_element())
        if override.is_sweep_override():
            return key, text.split("=", 1)[1] if "=" in text else ""
        if override.is_delete():
            return key, "<deleted>"
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


def run_identity(overrides: Iterable[str], choices: dict | None = None) -> dict[str, str]:
    """What a single run computes: its config-group choices (``model: ta4`` whether given or by
    default) and its other overrides, without those a resume may change (`RESUME_FREE_KEYS`)."""
    groups = {str(g): str(o) for g, o in (choices or {}).items()
              if not str(g).startswith(("hydra", "trainer", "logger", "callbacks", "paths")) and o is not None}
    values = {k: v for k, v in parse_overrides(overrides_parser(), overrides).items()
              if k not in groups and k not in RESUME_FREE_KEYS and not k.startswith(RESUME_FREE_PREFIXES)}
    return {**groups, **values}


def sweep_identity(overrides: Iterable[str], params: dict | None, choices: dict | None = None) -> dict[str, str]:
    """What a sweep computes: its grid (sweeper params, then the command line's overrides, which win)
    and its config-group choices; bookkeeping left out, so `resume=true` or another launcher matches."""
    arguments = [f"{k}={v}" for k, v in (params or {}).items()] + [str(o) for o in overrides]
    groups = {str(g): str(o) for g, o in (choices or {}).items()
              if not str(g).startswith(("hydra", "trainer", "paths")) and o is not None}
    return {**groups, **parse_overrides(overrides_parser(), arguments)}


def differences(wanted: dict[str, str], found: dict[str, str]) -> str:
    """``key=this (was that)`` for every key that differs, for one clear line."""
    keys = sorted(set(wanted) | set(found))
    return ", ".join(f"{k}={wanted.get(k, '<unset>')} (was {found.get(k, '<unset>')})"
                     for k in keys if wanted.get(k) != found.get(k))
