"""Anomaly maps on disk (``eval.save_maps``): one compressed ``maps.npz`` per run, one byte per pixel.

The maps are stored as the uint8 levels the localisation metrics are computed from (`quantise` over
the fixed `MAP_RANGE`), so the metrics can be recomputed from the file alone, bit for bit, at a
quarter of float32's size before compression. Video names are stored as data, not as array names,
so any name (with slashes or dots) survives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from vadlit.errors import DataError
from vadlit.evaluation.localization import LEVELS, MAP_RANGE, quantise
from vadlit.files import FileSet, save

FORMAT = "vadlit-maps-1"


def write_maps(path: str | os.PathLike, maps: Mapping[str, np.ndarray], files: FileSet | None = None) -> None:
    """``maps`` (video -> (N, H, W) in score units) as uint8 levels in ``path`` (a ``.npz``)."""
    names = list(maps)
    arrays = {f"video_{i}": quantise(maps[name]) for i, name in enumerate(names)}

    def write(f) -> None:
        np.savez_compressed(f, format=np.array(FORMAT), videos=np.array(names, dtype=str),
                            bounds=np.array(MAP_RANGE, dtype=np.float64), levels=np.array(LEVELS), **arrays)

    save(path, write, files)


def read_maps(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], tuple[float, float]]:
    """The uint8 maps of a ``maps.npz`` (video -> (N, H, W)) and the score range its levels span."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "format" not in data or str(data["format"]) != FORMAT:
                raise DataError(f"{path}: not a vadlit maps file (expected format {FORMAT!r})")
            names = [str(n) for n in data["videos"]]
            maps = {name: data[f"video_{i}"] for i, name in enumerate(names)}
            lo, hi = (float(v) for v in data["bounds"])
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path}: cannot read the anomaly maps ({err}); expected a maps.npz written by vadlit") from err
    return maps, (lo, hi)


def to_score_units(levels: np.ndarray, bounds: tuple[float, float] = MAP_RANGE) -> np.ndarray:
    """uint8 levels -> float32 maps in score units (to within half a level, (hi - lo) / 510)."""
    lo, hi = bounds
    return (lo + levels.astype(np.float32) * ((hi - lo) / (LEVELS - 1))).astype(np.float32)
