"""Each measured configuration is composed from the real config tree with Hydra overrides, exactly as a
user would type them for `vadlit-train` (`model=baseline model.objective=predict data.image_size=128`),
so the bench measures what training runs, and follows the model configs when they change."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from vadlit.errors import ConfigError

_KEY = re.compile(r"^(?:~|\+\+|\+)?([^=]+)")


def override_key(override: str) -> str:
    """`+model.compile=true` -> `model.compile`; `model=ta4` -> `model`."""
    match = _KEY.match(override.strip())
    return match.group(1).strip() if match else override


def merge_overrides(base: list[str], extra: list[str]) -> list[str]:
    """`base` (the command line) then `extra` (the case); a key the case sets is dropped from `base`,
    so `vadlit-bench model=ta8` still measures the case's own `model=baseline`."""
    taken = {override_key(o) for o in extra}
    return [o for o in base if override_key(o) not in taken] + list(extra)


@dataclass(frozen=True)
class Case:
    """One training configuration: its name in tables and the overrides that make it."""

    name: str
    size: str
    model: str
    objective: str
    overrides: tuple[str, ...]


def training_cases(models: list[str], objectives: list[str], size: str, size_overrides: list[str]) -> list[Case]:
    return [
        Case(f"{model}/{objective}/{size}", size, model, objective,
             (f"model={model}", f"model.objective={objective}", *size_overrides))
        for model in models
        for objective in objectives
    ]


class Composer:
    """`composer(extra_overrides) -> DictConfig`: the config `config_name` with the command line's
    overrides and then the case's. Works inside `@hydra.main` (Hydra is initialised) and outside it."""

    def __init__(self, config_name: str, base_overrides: list[str], config_dir: str | Path):
        self.config_name = config_name
        self.base = [str(o) for o in base_overrides]
        self.config_dir = str(config_dir)

    def group_options(self, group: str) -> list[str]:
        """The options of a config group (`model` -> baseline, ta1, ...), without base configs that
        leave values to be filled (`???`), like `ocr_gan`."""
        options = []
        for path in sorted((Path(self.config_dir) / group).glob("*.yaml")):
            try:
                node = OmegaConf.load(path)
            except (OSError, OmegaConfBaseException):
                continue
            if isinstance(node, DictConfig) and not any(OmegaConf.is_missing(node, key) for key in node):
                options.append(path.stem)
        return options

    def __call__(self, extra: list[str] | tuple[str, ...] = ()) -> DictConfig:
        overrides = merge_overrides(self.base, list(extra))
        try:
            if GlobalHydra.instance().is_initialized():
                return compose(config_name=self.config_name, overrides=overrides)
            with initialize_config_dir(config_dir=self.config_dir, version_base="1.3"):
                return compose(config_name=self.config_name, overrides=overrides)
        except (HydraException, OmegaConfBaseException) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"cannot compose the bench case {' '.join(extra) or '(defaults)'}: {first}") from exc
