"""Result files: per-frame scores as CSV and metrics as JSON.

Scores are written with ``repr`` so that reading them back gives bit-identical floats (metrics can be
recomputed from the CSV alone), and files are replaced atomically so that an interrupted run never
leaves a half-written result behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vadlit.errors import DataError
from vadlit.files import FileSet, save_text

CSV_HEADER = ["video", "frame", "score", "label", "kind"]


def write_scores_csv(
    path: str | os.PathLike,
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray] | None = None,
    kinds: Mapping[str, Sequence[str]] | None = None,
    files: FileSet | None = None,
) -> None:
    """One row per frame: ``video,frame,score,label,kind``; frame is 1-based, unknown label/kind left
    empty. Written atomically, or staged in ``files`` (`files.all_or_none`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, values in scores.items():
        s = np.asarray(values, dtype=np.float64).reshape(-1)
        y = None if labels is None or name not in labels else np.asarray(labels[name]).reshape(-1)
        k = None if kinds is None or name not in kinds else list(kinds[name])
        for what, seq in (("labels", y), ("kinds", k)):
            if seq is not None and len(seq) != len(s):
                raise DataError(f"video {name!r}: {len(s)} scores but {len(seq)} {what}; expected one per frame")
        ys = [""] * len(s) if y is None else [str(int(v)) for v in y.tolist()]
        ks = [""] * len(s) if k is None else [str(v) for v in k]
        writer.writerows(
            (name, i + 1, repr(v), yv, kv) for i, (v, yv, kv) in enumerate(zip(s.tolist(), ys, ks))
        )
    save_text(path, buf.getvalue(), files)


def read_scores_csv(
    path: str | os.PathLike,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None, dict[str, list[str]] | None]:
    """Inverse of write_scores_csv: (scores, labels or None, kinds or None), videos in file order.

    Labels are None when no row has one; kinds are None when no row has one (else "" = unknown).
    """
    path = Path(path)
    scores: dict[str, list[float]] = {}
    labels: dict[str, list[str]] = {}
    kinds: dict[str, list[str]] = {}
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != CSV_HEADER:
            raise DataError(f"{path}: header is {header}; expected {','.join(CSV_HEADER)}")
        last = None
        for line, row in enumerate(reader, start=2):
            if len(row) != len(CSV_HEADER):
                raise DataError(
                    f"{path}:{line}: {len(row)} columns; expected {len(CSV_HEADER)} ({','.join(CSV_HEADER)})"
                )
            video, frame, score, label, kind = row
            if video != last and video in scores:
                raise DataError(
                    f"{path}:{line}: rows of video {video!r} are not contiguous; expected one block per video"
                )
            last = video
            rows = scores.setdefault(video, [])
            try:
                frame_no, value = int(frame), float(score)
            except ValueError:
                raise DataError(
                    f"{path}:{line}: frame {frame!r} / score {score!r}; expected an integer frame and a number"
                ) from None
            if frame_no != len(rows) + 1:
                raise DataError(
                    f"{path}:{line}: video {video!r} frame {frame_no}; "
                    f"expected frame {len(rows) + 1} (1-based, in order)"
                )
            rows.append(value)
            labels.setdefault(video, []).append(label)
            kinds.setdefault(video, []).append(kind)

    has_label = {v: [x != "" for x in ls] for v, ls in labels.items()}
    if any(any(h) for h in has_label.values()):
        for video, h in has_label.items():
            if not all(h):
                raise DataError(
                    f"{path}: video {video!r} has {h.count(False)} frames without a label "
                    "while other rows have labels; "
                    "expected labels on every row or on none"
                )
        try:
            out_labels = {v: np.array([int(x) for x in ls], dtype=np.int64) for v, ls in labels.items()}
        except ValueError as e:
            raise DataError(f"{path}: a label is not an integer ({e}); expected 0 or 1") from None
    else:
        out_labels = None
    out_kinds = kinds if any(x != "" for ks in kinds.values() for x in ks) else None
    out_scores = {v: np.array(s, dtype=np.float64) for v, s in scores.items()}
    return out_scores, out_labels, out_kinds


def _json_default(obj):
    """numpy scalars/arrays and paths -> plain JSON types."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def write_json(path: str | os.PathLike, obj, files: FileSet | None = None) -> None:
    """Indented, strict JSON (NaN/inf refused), written atomically (or staged in ``files``)."""
    text = json.dumps(obj, indent=2, allow_nan=False, default=_json_default) + "\n"
    save_text(path, text, files)
