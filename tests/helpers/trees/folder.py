"""Tiny trees in the `folder` source's layout: frame folders and/or video files, with optional labels.

`write_folder_tree` writes ``root/train/<video>`` and ``root/test/<video>`` (PNG frame folders or
lossless FFV1 ``.avi`` files, so decoded pixels equal `video_frames` exactly) and returns the frame
labels it wrote per test video.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from tests.helpers.trees.video import write_avi as write_video_file  # any container PyAV knows by the suffix

KINDS = ("frames", "video", "mixed")
LABEL_FORMATS = ("npy", "txt", "csv", "csv_header", "csv_frames")


def video_name(split: str, index: int) -> str:
    """The name of the `index`-th (0-based) video of `split`: ``train01``, ``test02``, ..."""
    return f"{split}{index + 1:02d}"


def video_labels(index: int, frames: int) -> np.ndarray:
    """Frame labels of the `index`-th test video: one anomalous stretch in the middle third, shifted per video."""
    labels = np.zeros(frames, dtype=np.uint8)
    start = min(frames // 3 + index, frames - 1)
    labels[start : max(start + 1, 2 * frames // 3 + index)] = 1
    return labels


def video_frames(split: str, index: int, frames: int, size: tuple[int, int] = (20, 28), seed: int = 0,
                 labels: np.ndarray | None = None) -> np.ndarray:
    """Deterministic (frames, H, W, 3) uint8 RGB frames: a gradient with a bright square walking across.

    Frames whose label is 1 also show a dark block (an "anomaly") in the lower half.
    """
    h, w = size
    rng = np.random.default_rng([seed, split == "test", index])
    base = (np.linspace(40, 160, w)[None, :, None] + np.linspace(0, 40, h)[:, None, None]
            + rng.uniform(-10, 10, size=3)[None, None, :])
    out = np.empty((frames, h, w, 3), dtype=np.uint8)
    side = max(2, min(h, w) // 5)
    for t in range(frames):
        img = base.copy()
        x = (t * 2 + index * 3) % max(1, w - side)
        y = (h - side) // 3
        img[y : y + side, x : x + side] = 230
        if labels is not None and labels[t]:
            img[h // 2 :, w // 4 : w // 4 + side * 2] = 10
        out[t] = np.clip(img, 0, 255)
    return out


def write_frame_folder(folder: Path, frames: np.ndarray, ext: str = ".png", start: int = 1) -> list[Path]:
    """One image file per frame, named ``000001.png``, ``000002.png``, ..."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t, frame in enumerate(frames):
        path = folder / f"{t + start:06d}{ext}"
        Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame).save(path)
        paths.append(path)
    return paths


def write_labels(folder: Path, name: str, labels: np.ndarray, fmt: str) -> Path:
    """`labels` as ``<folder>/<name>.npy|.txt|.csv`` in one of `LABEL_FORMATS`."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.asarray(labels)
    if fmt == "npy":
        path = folder / f"{name}.npy"
        np.save(path, labels)
    elif fmt == "txt":
        path = folder / f"{name}.txt"
        path.write_text("\n".join(str(int(v)) for v in labels) + "\n")
    elif fmt == "csv":
        path = folder / f"{name}.csv"
        path.write_text("".join(f"{int(v)}\n" for v in labels))
    elif fmt == "csv_header":
        path = folder / f"{name}.csv"
        path.write_text("label\n" + "".join(f"{int(v)}\n" for v in labels))
    elif fmt == "csv_frames":
        path = folder / f"{name}.csv"
        path.write_text("frame,label\n" + "".join(f"{t + 1},{int(v)}\n" for t, v in enumerate(labels)))
    else:
        raise ValueError(f"unknown label format {fmt!r}; expected one of {LABEL_FORMATS}")
    return path


def mask_for(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(frames, H, W) bool masks: a block in the lower half on every anomalous frame."""
    h, w = size
    masks = np.zeros((len(labels), h, w), dtype=bool)
    masks[np.asarray(labels) == 1, h // 2 :, w // 4 : w // 4 + 2 * max(2, min(h, w) // 5)] = True
    return masks


def write_folder_tree(
    root,
    n_train: int = 2,
    n_test: int = 2,
    frames: int | Sequence[int] = 12,
    size: tuple[int, int] = (20, 28),
    kind: str = "frames",
    labels: str | None = "npy",
    masks: bool = False,
    labels_dir: str | None = None,
    seed: int = 0,
    image_ext: str = ".png",
) -> dict[str, np.ndarray]:
    """Write a `folder`-source tree under `root`; return the frame labels written per test video.

    kind: ``"frames"`` (PNG frame folders), ``"video"`` (lossless FFV1 ``.avi`` files) or ``"mixed"``
    (even-indexed videos as frame folders, odd-indexed as video files). labels: one of
    `LABEL_FORMATS` or None (no label files; returns ``{}``). masks: also write ``<video>_mask.npy``
    (see `mask_for`). labels_dir: write labels and masks to ``root/<labels_dir>/`` instead of
    ``root/test/``. frames: one length for every video, or one per video (train videos first).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    root = Path(root)
    lengths = [int(frames)] * (n_train + n_test) if isinstance(frames, (int, np.integer)) else [int(f) for f in frames]
    if len(lengths) != n_train + n_test:
        raise ValueError(f"{len(lengths)} lengths for {n_train + n_test} videos")
    expected: dict[str, np.ndarray] = {}
    for split, count, offset in (("train", n_train, 0), ("test", n_test, n_train)):
        for i in range(count):
            name, n = video_name(split, i), lengths[offset + i]
            truth = video_labels(i, n) if split == "test" else None
            pixels = video_frames(split, i, n, size, seed, truth)
            as_video = kind == "video" or (kind == "mixed" and i % 2 == 1)
            if as_video:
                write_video_file(root / split / f"{name}.avi", pixels)
            else:
                write_frame_folder(root / split / name, pixels, image_ext)
            if truth is not None and labels is not None:
                where = root / (labels_dir or "test")
                write_labels(where, name, truth, labels)
                if masks:
                    np.save(where / f"{name}_mask.npy", mask_for(truth, size))
                expected[name] = truth
    return expected
