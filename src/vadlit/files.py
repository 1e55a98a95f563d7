"""Writing files so that a failure never leaves a half-written one, nor half of a set.

Every file is written to a temporary file *in the same folder* and renamed over the destination:
a rename within one filesystem is atomic, while a temporary file elsewhere (``$TMPDIR``, as
fsspec's transactions use) makes the final move a copy that truncates the old file in place. The
data is fsynced before the rename and the folder after it, so a crash keeps the old file or the new
one. The standard library and fsspec offer no same-folder atomic replace, hence this module.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. a platform without directory descriptors: the data itself is synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """``write`` into a synced temporary file beside ``path``; removed again if anything fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results should be readable like any other file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` with what ``write(file)`` writes, atomically."""
    path = Path(path)
    tmp = _temporary(path, write)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


class FileSet:
    """Files staged by `all_or_none`: each is written to its temporary file now, and all are renamed
    into place together when the block ends without an error."""

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []

    def write(self, path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
        path = Path(path)
        self._staged.append((_temporary(path, write), path))

    def write_text(self, path: str | os.PathLike, text: str) -> None:
        self.write(path, lambda f: f.write(text.encode("utf-8")))


@contextlib.contextmanager
def all_or_none() -> Iterator[FileSet]:
    """A run's result files as one set: if writing any of them fails, none is replaced and no
    temporary file is left; otherwise all are renamed into place (each rename atomic)."""
    files = FileSet()
    try:
        yield files
    except BaseException:
        for tmp, _ in files._staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in files._staged:
        os.replace(tmp, path)
    for folder in {path.parent for _, path in files._staged}:
        _fsync_folder(folder)


def save(path: str | os.PathLike, write: Callable[[BinaryIO], None], files: FileSet | None = None) -> None:
    """Write ``path`` atomically now, or stage it in ``files`` (part of an `all_or_none` set)."""
    (files.write if files is not None else atomic_write)(path, write)


def save_text(path: str | os.PathLike, text: str, files: FileSet | None = None) -> None:
    (files.write_text if files is not None else write_text_atomic)(path, text)


def save_figure(fig, path: str | os.PathLike, files: FileSet | None = None) -> None:
    """A matplotlib figure, in the format its file name says (e.g. ``.png``)."""
    save(path, lambda f: fig.savefig(f, format=Path(path).suffix.lstrip(".") or "png"), files)
