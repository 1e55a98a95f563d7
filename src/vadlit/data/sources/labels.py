"""Frame-label and pixel-mask files of the folder source: reading one file, and saying what is wrong with it.

Frame labels (test videos only; optional), in one of three formats:

- ``<video>.npy``: a 1-D array (``numpy.save``) with one value per frame (integers, floats or
  booleans);
- ``<video>.txt``: one value per frame, separated by spaces, tabs, newlines or commas;
- ``<video>.csv``: one value per row; or two columns ``frame,label`` where ``frame`` counts from 1
  and every frame ``1..N`` appears exactly once, in any order. A first row that is not numeric is a
  header (``label``, or ``frame,label``; a header naming ``frame`` and ``label`` may put them in
  either order).

Every value is 1 for an anomalous frame and 0 for a normal one; there must be exactly one value per
frame of the video.

Pixel masks (optional, beside the labels): ``<video>_mask.npy``, an array of shape (frames, height,
width) at the video's own frame size, nonzero where a pixel is anomalous.

Where these files are looked for and which video each belongs to is `folder`'s business; a change
to what is read from the same file here must bump `folder.FORMAT_VERSION`, so caches are rebuilt.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np

from vadlit.errors import DataError

LABEL_EXTENSIONS = (".npy", ".txt", ".csv")


def read_labels(path: Path) -> np.ndarray:
    """A label file (.npy, .txt or .csv, see the module docstring) -> (N,) uint8 of 0/1."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        values = _read_npy_labels(path)
    elif suffix in (".txt", ".csv"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read labels '{path}': {exc}; expected a text file of 0/1 values") from exc
        values = _parse_txt(path, text) if suffix == ".txt" else _parse_csv(path, text)
    else:
        raise DataError(f"labels '{path}': unknown extension; expected .npy, .txt or .csv")
    if values.size == 0:
        raise DataError(f"labels '{path}' are empty; expected one 0/1 value per frame")
    if not np.isin(values, (0, 1)).all():
        odd = [v for v in np.unique(values[~np.isin(values, (0, 1))]).tolist()][:5]
        raise DataError(
            f"labels '{path}' hold values other than 0 and 1 (e.g. {', '.join(map(_show, odd))}); expected 1 for an "
            "anomalous frame and 0 for a normal one"
        )
    return values.astype(np.uint8)


def _read_npy_labels(path: Path) -> np.ndarray:
    """A (N, 1) or (1, N) array is a column or row someone saved unflattened, so it is read as (N,)."""
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read labels '{path}': {exc}; expected an array saved with numpy.save") from exc
    if not isinstance(values, np.ndarray):
        raise DataError(f"labels '{path}' hold an archive, not an array; expected a 1-D array saved with numpy.save")
    if values.ndim == 2 and 1 in values.shape:
        values = values.reshape(-1)
    if values.ndim != 1:
        raise DataError(f"labels '{path}' have shape {values.shape}; expected a 1-D array of one 0/1 value per frame")
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise DataError(f"labels '{path}' hold {values.dtype} values; expected numbers 0 and 1")
    return values


def _parse_txt(path: Path, text: str) -> np.ndarray:
    """Values in any mix of separators, since spreadsheets and scripts write them differently."""
    values = []
    for line_no, line in enumerate(text.splitlines(), 1):
        for token in re.split(r"[\s,]+", line.strip()):
            if token:
                values.append(_number(path, token, f"line {line_no}"))
    return np.asarray(values, dtype=np.float64)


def _parse_csv(path: Path, text: str) -> np.ndarray:
    """One column of labels, or frame,label rows in any order (sorted back by frame)."""
    rows = [(i, [c.strip() for c in row]) for i, row in enumerate(csv.reader(io.StringIO(text)), 1)]
    rows = [(i, row) for i, row in rows if any(row)]
    if not rows:
        return np.zeros(0)
    header = None
    if not all(_is_number(c) for c in rows[0][1]):
        header, rows = [c.lower() for c in rows[0][1]], rows[1:]
    width = len(header) if header is not None else len(rows[0][1]) if rows else 1
    if width not in (1, 2):
        raise DataError(
            f"labels '{path}' have {width} columns; expected one column (a 0/1 label per row) or two (frame,label)"
        )
    for i, row in rows:
        if len(row) != width:
            raise DataError(f"labels '{path}', row {i}: {len(row)} columns where the file has {width}; "
                            "expected the same columns on every row")
    table = [[_number(path, c, f"row {i}") for c in row] for i, row in rows]
    if width == 1:
        return np.asarray([r[0] for r in table], dtype=np.float64)
    frame_col, label_col = 0, 1
    if header is not None and set(header) == {"frame", "label"}:
        frame_col, label_col = header.index("frame"), header.index("label")
    frames = [r[frame_col] for r in table]
    n = len(frames)
    problem = None
    if not all(float(f).is_integer() for f in frames):
        problem = "frame numbers must be whole numbers"
    else:
        counts = Counter(int(f) for f in frames)
        outside = sorted(f for f in counts if not 1 <= f <= n)
        twice = sorted(f for f, c in counts.items() if c > 1)
        if outside:
            problem = f"frame {outside[0]} is outside 1..{n}" + (" (frames count from 1)" if outside[0] == 0 else "")
        elif twice:
            problem = f"frame {twice[0]} appears {counts[twice[0]]} times"
    if problem:
        raise DataError(
            f"labels '{path}': the frame column must list every frame 1..{n} exactly once, but {problem}; expected "
            "rows frame,label with frames counted from 1"
        )
    order = np.argsort(np.asarray(frames))
    return np.asarray([r[label_col] for r in table], dtype=np.float64)[order]


def _is_number(token: str) -> bool:
    """Whether a CSV cell is numeric: a first row that is not is a header."""
    try:
        float(token)
    except ValueError:
        return False
    return True


def _number(path: Path, token: str, where: str) -> float:
    """A value as float, or an error naming the file and the line or row it stands on."""
    try:
        return float(token)
    except ValueError:
        raise DataError(f"labels '{path}', {where}: {token!r} is not a number; expected 0 or 1") from None


def _show(value) -> str:
    """`2.0` shown as `2` in an error, so a bad value reads as it was written."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)


def check_length(label_path: Path, labels: np.ndarray, video_path: Path, frames: int) -> None:
    """Labels must cover every frame: a shifted or truncated file would misalign every score."""
    if len(labels) != frames:
        raise DataError(
            f"labels '{label_path}' have {len(labels)} values but video '{video_path}' has {frames} frames; "
            "expected one 0/1 label per frame"
        )


def read_mask(path: Path) -> np.ndarray:
    """A mask file as a memory-mapped (frames, height, width) numeric array; real masks are large."""
    try:
        masks = np.load(path, mmap_mode="r", allow_pickle=False)  # memory-mapped: the cache resizes it in chunks
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read mask '{path}': {exc}; expected an array saved with numpy.save") from exc
    if not isinstance(masks, np.ndarray) or masks.ndim != 3 or not (
            np.issubdtype(masks.dtype, np.number) or masks.dtype == bool):
        shape = getattr(masks, "shape", "an archive")
        raise DataError(f"mask '{path}' is {shape} of {getattr(masks, 'dtype', '?')}; expected a (frames, height, "
                        "width) numeric array, nonzero where a pixel is anomalous")
    return masks


def check_mask_header(path: Path, frames: int) -> None:
    """Masks against the labels' frame count, from the file header alone, before anything is decoded."""
    masks = read_mask(path)
    if masks.shape[0] != frames:
        raise DataError(f"mask '{path}' has {masks.shape[0]} frames but the video's labels have {frames}; "
                        "expected one mask per frame")


def check_mask_shape(path: Path, masks: np.ndarray, video_path: Path, frames: int, size: tuple[int, int]) -> None:
    """Once decoded, a mask must match the video's frame count and its own (unresized) frame size."""
    if masks.shape != (frames, *size):
        raise DataError(
            f"mask '{path}' has shape {tuple(masks.shape)} but video '{video_path}' has {frames} frames of "
            f"{size[0]}x{size[1]} pixels; expected shape ({frames}, {size[0]}, {size[1]})"
        )
