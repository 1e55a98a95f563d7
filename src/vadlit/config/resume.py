"""Which folder a resume continues: the newest run (``ckpt_path=last``) or sweep (``resume=true``)
of the *same command*, found by what its overrides compute (`overrides.run_identity`,
`sweep_identity`), never merely the newest folder. A resume that matches nothing is refused with one
line naming the difference, before Hydra writes anything into another run's folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import OmegaConf

from vadlit.config.overrides import differences, run_identity, sweep_identity
from vadlit.errors import ConfigError

log = logging.getLogger(__name__)


def _container(node) -> object:
    return OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node


def _recorded(path: Path, *keys: str) -> list | None:
    """Values at ``keys`` of a YAML file Hydra wrote (``.hydra/hydra.yaml``, ``multirun.yaml``), or None."""
    try:
        cfg = OmegaConf.load(path)
    except Exception:  # noqa: BLE001 - an unreadable record identifies nothing
        return None
    return [_container(OmegaConf.select(cfg, key, default=None)) for key in keys]


def _run_of(folder: Path) -> dict[str, str] | None:
    found = _recorded(folder / ".hydra" / "hydra.yaml", "hydra.overrides.task", "hydra.runtime.choices")
    return None if found is None else run_identity(found[0] or [], found[1])


def _described(identity: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted(identity.items())) or "(defaults)"


def _has_last(folder: Path) -> bool:
    return (folder / "checkpoints" / "last.ckpt").is_file()


def run_to_continue(base: Path, overrides, choices) -> Path:
    """The run folder ``ckpt_path=last`` continues: the newest run of this command under ``base``.

    It must hold a ``last.ckpt`` unless it finished (then the run is skipped as done)."""
    wanted = run_identity(_container(overrides) or [], _container(choices))
    runs = sorted((p for p in base.iterdir() if (p / ".hydra" / "hydra.yaml").is_file()), reverse=True) \
        if base.is_dir() else []
    for folder in runs:
        if _run_of(folder) == wanted:
            if _has_last(folder) or (folder / "metrics.json").is_file():
                return folder
            raise ConfigError(f"ckpt_path=last: the newest run of this command, '{folder}', ended before its first "
                              "checkpoint, so there is nothing to continue; start it again without ckpt_path")
    resumable = [p for p in runs if _has_last(p)]
    if not resumable:
        raise ConfigError(f"ckpt_path=last: no run under {base} has a checkpoints/last.ckpt to resume from; "
                          "start a new run without ckpt_path")
    newest = resumable[0]
    raise ConfigError(f"ckpt_path=last: no run of this command ({_described(wanted)}) under {base} has a "
                      f"checkpoint; the newest that has one, '{newest.name}', differs: "
                      f"{differences(wanted, _run_of(newest) or {})}; give its overrides to continue it, or "
                      "drop ckpt_path to start a new run")


def sweep_to_continue(base: Path, overrides, params, choices) -> Path | None:
    """The sweep folder ``resume=true`` continues: the newest under ``base`` with this sweep's grid;
    None when there is no sweep yet (a new one starts). A sweep folder of another grid is refused."""
    wanted = sweep_identity(_container(overrides) or [], _container(params), _container(choices))
    sweeps = sorted((p for p in base.iterdir() if p.is_dir()), reverse=True) if base.is_dir() else []
    recorded = {}
    for folder in sweeps:
        found = _recorded(folder / "multirun.yaml", "hydra.overrides.task", "hydra.sweeper.params",
                          "hydra.runtime.choices")
        if found is None:
            continue
        recorded[folder] = sweep_identity(found[0] or [], found[1], found[2])
        if recorded[folder] == wanted:
            return folder
    if not recorded:
        return None
    newest = next(iter(recorded))
    raise ConfigError(f"resume=true: no sweep under {base} has this grid ({_described(wanted)}); the newest, "
                      f"'{newest.name}', differs: {differences(wanted, recorded[newest])}; give its overrides to "
                      "continue it, or drop resume=true to start a new sweep")
