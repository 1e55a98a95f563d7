"""Tiny UCSD Pedestrian trees in the exact distributed format, for the source's and end-to-end tests.

    <root>/UCSDped2/Train/Train001/001.tif ...      8-bit greyscale TIFF, 1-based, 3 digits
    <root>/UCSDped2/Test/Test001/001.tif ...
    <root>/UCSDped2/Test/Test001_gt/001.bmp ...     8-bit masks, 255 on the anomalous square
    <root>/UCSDped2/Test/UCSDped2.m                 TestDataset.gt_frame{1} = [4:8];

Each test video has a known anomaly: a bright square in the frames exactly where its masks are
non-zero, during the intervals of `intervals()` (odd videos get two, one of them a single frame).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image

FOLDERS = {"ped1": "UCSDped1", "ped2": "UCSDped2"}
JUNK = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # an AppleDouble header, as macOS writes it


def ucsd_folder(root: Path, variant: str = "ped2") -> Path:
    """The data set folder `write_ucsd_tree` writes (what `data.root` points at)."""
    return Path(root) / FOLDERS[variant]


def intervals(index: int, frames: int) -> list[tuple[int, int]]:
    """The 1-based inclusive anomalous intervals of test video `index` (0-based)."""
    if index % 2 == 0:
        return [(frames // 3, 2 * frames // 3)]
    return [(2, 2), (frames - 3, frames)]


def write_ucsd_tree(
    root: Path,
    variant: str = "ped2",
    n_train: int = 2,
    n_test: int = 2,
    frames: int = 12,
    size: tuple[int, int] = (24, 36),
    masks_for: Iterable[str | int] | None = None,
    junk: bool = True,
) -> dict[str, np.ndarray]:
    """Write `root/UCSDpedN/...` and return the expected frame labels per test video name.

    masks_for: the test videos (names like "Test001" or 1-based numbers) that get a `_gt` mask
    folder; None gives every test video one, [] none (the `.m` file then holds the only truth).
    """
    assert frames >= 8, "the anomalous intervals need at least 8 frames"
    base = ucsd_folder(root, variant)
    height, width = size
    tests = [f"Test{i + 1:03d}" for i in range(n_test)]
    with_masks = set(tests) if masks_for is None else {
        m if isinstance(m, str) else f"Test{m:03d}" for m in masks_for
    }
    for i in range(n_train):
        video = base / "Train" / f"Train{i + 1:03d}"
        for t in range(frames):
            _write(video / f"{t + 1:03d}.tif", _background(size, "train", i, t))
        _junk(video / "._001.tif", junk)
    expected: dict[str, np.ndarray] = {}
    m_lines = ["TestDataset = struct('gt_frame',[]);", "% frame-level ground truth, 1-based inclusive"]
    for i, name in enumerate(tests):
        video = base / "Test" / name
        spans = intervals(i, frames)
        labels = np.zeros(frames, dtype=np.uint8)
        for first, last in spans:
            labels[first - 1 : last] = 1
        expected[name] = labels
        for t in range(frames):
            frame = _background(size, "test", i, t)
            mask = np.zeros(size, dtype=np.uint8)
            if labels[t]:
                top, left = (t * 2) % (height - 8), (t * 3) % (width - 8)
                mask[top : top + 6, left : left + 6] = 255
                frame[mask > 0] = 255
            _write(video / f"{t + 1:03d}.tif", frame)
            if name in with_masks:
                _write(video.with_name(name + "_gt") / f"{t + 1:03d}.bmp", mask)
        _junk(video / "._001.tif", junk)
        if name in with_masks:
            _junk(video.with_name(name + "_gt") / "._001.bmp", junk)
        ranges = ", ".join(f"{a}" if a == b else f"{a}:{b}" for a, b in spans)
        m_lines.append(f"TestDataset.gt_frame{{{i + 1}}} = [{ranges}];")
    (base / "Test").mkdir(parents=True, exist_ok=True)
    (base / "Test" / f"{FOLDERS[variant]}.m").write_text("\n".join(m_lines) + "\n")
    _junk(base / "Test" / "._Test001", junk)
    _junk(base / "Test" / ".DS_Store", junk)
    return expected


def corrupt_frame(path: Path) -> None:
    """Cut a frame's pixel data in half, like Ped1's Test017/142.tif: the header reads, decoding fails."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])


def _background(size: tuple[int, int], split: str, video: int, frame: int) -> np.ndarray:
    """A deterministic grey gradient with a little noise, never reaching the anomaly's 255."""
    height, width = size
    rng = np.random.default_rng([split == "test", video, frame])
    gradient = np.add.outer(np.linspace(40, 120, height), np.linspace(0, 60, width))
    return (gradient + rng.integers(0, 20, size=size)).astype(np.uint8)


def _write(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(path)


def _junk(path: Path, enabled: bool) -> None:
    if enabled:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(JUNK)
