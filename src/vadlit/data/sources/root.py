"""The data set folder a user points `data.root` at: checked once, with a message saying what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vadlit.errors import ConfigError, DataError


def root_path(root: Any) -> Path:
    """`data.root` as a path (`~` expanded); a missing or empty value is a config error."""
    if root is None or not isinstance(root, (str, os.PathLike)) or not str(root).strip():
        raise ConfigError(f"data.root={root!r}: expected the path of the data set folder")
    return Path(root).expanduser()


def existing_root(root: Path, dataset: str, holding: str) -> Path:
    """The resolved root, or a DataError naming it and the layout expected there."""
    if not root.exists():
        raise DataError(f"data.root='{root}' does not exist; expected the {dataset} folder holding {holding}")
    if not root.is_dir():
        raise DataError(f"data.root='{root}' is not a folder; expected the {dataset} folder holding {holding}")
    return root.resolve()


def split_folder(root: Path, relative: str, dataset: str, split: str, layout: str) -> Path:
    """`root/relative`, the folder of one split, or a DataError saying what was expected there."""
    folder = root / relative
    if not folder.is_dir():
        raise DataError(f"{dataset} {split} folder '{folder}' does not exist; expected {layout} "
                        f"under data.root='{root}'")
    return folder
