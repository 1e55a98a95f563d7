"""The synthetic source's constructor arguments: their checks, and the frozen `Config` they become.

A module of its own because every stage of the generator reads the config (the traffic, the events,
the source), and the checks belong with the values they admit: a bad value is refused with a message
that names the config key, the value and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vadlit.errors import ConfigError

KINDS = ("object", "running", "loitering", "crossing")
MIN_IMAGE_SIZE = 32
MIN_FRAMES = 48
CONFIG_PREFIX = "data.source"
"""Where the constructor arguments live in the Hydra config (named in error messages)."""


@dataclass(frozen=True)
class Config:
    """The validated constructor arguments (frozen and picklable, so loaders can cross processes)."""

    seed: int
    image_size: int
    channels: int
    n_train: int
    n_test: int
    frames: int
    kinds: tuple[str, ...]
    max_people: int
    noise_std: float


# Argument checks (the messages name the config key, the value and what was expected)


def check_int(key: str, value: Any, minimum: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        reason = f" ({why})" if why else ""
        raise ConfigError(f"{CONFIG_PREFIX}.{key}={value!r}: expected an integer >= {minimum}{reason}")
    return int(value)


def check_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (0 <= value < math.inf):
        raise ConfigError(f"{CONFIG_PREFIX}.{key}={value!r}: expected a finite number >= 0")
    return float(value)


def check_channels(value: Any) -> int:
    if isinstance(value, bool) or value not in (1, 3):
        raise ConfigError(f"{CONFIG_PREFIX}.channels={value!r}: expected 1 (grey) or 3 (RGB)")
    return int(value)


def check_kinds(value: Any) -> tuple[str, ...]:
    kinds = [value] if isinstance(value, str) else list(value)  # a ListConfig also becomes a list
    if not kinds:
        raise ConfigError(f"{CONFIG_PREFIX}.kinds=[]: expected at least one of {list(KINDS)}")
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"{CONFIG_PREFIX}.kinds contains {kind!r}: expected only values from {list(KINDS)}")
    return tuple(str(k) for k in kinds)
