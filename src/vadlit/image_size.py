"""Image sizes as configs give them: one side (`64`) or an (H, W) pair (`[240, 360]`)."""

from __future__ import annotations

from typing import Sequence

from vadlit.errors import ConfigError


def as_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    """An int or an (H, W) pair as (H, W)."""
    if isinstance(image_size, int):
        return image_size, image_size
    size = tuple(int(s) for s in image_size)
    if len(size) != 2:
        raise ConfigError(f"data.image_size={image_size!r} must be an int or an (H, W) pair")
    return size  # type: ignore[return-value]
