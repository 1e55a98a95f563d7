"""A tiny CUHK Avenue tree in the exact on-disk format (see `vadlit.data.sources.avenue`).

Test video i (0-based) has one anomalous interval `avenue_interval(i, frames)`; its masks
(`avenue_masks`) mark a rectangle during that interval and are empty elsewhere, and the `.mat`
files hold them as a real MATLAB 1 x T cell array ``volLabel``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers.trees.video import write_avi


def avenue_frames(split: str, index: int, frames: int = 14, size=(24, 40)) -> np.ndarray:
    """Deterministic (T, H, W, 3) uint8 content: a gradient with a square moving to the right."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 200 // max(w - 1, 1), yy * 200 // max(h - 1, 1), np.full_like(xx, 40 + 30 * index)], -1)
    out = np.empty((frames, h, w, 3), dtype=np.uint8)
    for t in range(frames):
        frame = base.copy()
        x = (2 * t + 3 * index) % max(w - 4, 1)
        frame[h // 2 : h // 2 + 4, x : x + 4] = (250, 250, 250) if split == "train" else (250, 60, 60)
        out[t] = frame
    return out


def avenue_interval(index: int, frames: int) -> tuple[int, int]:
    """[start, stop) of the anomalous frames of test video `index` (0-based)."""
    start = min(3 + index % 3, frames - 1)
    return start, min(frames, start + max(1, frames // 3))


def avenue_masks(index: int, frames: int = 14, size=(24, 40)) -> np.ndarray:
    """(T, H, W) bool masks of test video `index`: a rectangle during its anomalous interval."""
    h, w = size
    masks = np.zeros((frames, h, w), dtype=bool)
    start, stop = avenue_interval(index, frames)
    left = (index * 5) % max(w // 2, 1)
    masks[start:stop, h // 4 : h // 2 + 1, left : left + w // 4] = True
    return masks


def write_vol_label(path: Path, masks: np.ndarray) -> Path:
    """Save (T, H, W) masks as ``volLabel``, a 1 x T cell array of uint8 H x W masks (as MATLAB does)."""
    import scipy.io

    cells = np.empty((1, len(masks)), dtype=object)
    for t, mask in enumerate(masks):
        cells[0, t] = np.asarray(mask, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {"volLabel": cells})
    return path


def write_avenue_tree(root, n_train: int = 2, n_test: int = 2, frames: int = 14, size=(24, 40),
                      codec: str = "ffv1") -> dict[str, np.ndarray]:
    """Write ``training_videos/01.avi...``, ``testing_videos/01.avi...`` and
    ``ground_truth_demo/testing_label_mask/1_label.mat...``; returns the (T,) uint8 labels per test video."""
    root = Path(root)
    for i in range(n_train):
        write_avi(root / "training_videos" / f"{i + 1:02d}.avi", avenue_frames("train", i, frames, size), codec)
    labels = {}
    for i in range(n_test):
        name = f"{i + 1:02d}"
        write_avi(root / "testing_videos" / f"{name}.avi", avenue_frames("test", i, frames, size), codec)
        masks = avenue_masks(i, frames, size)
        write_vol_label(root / "ground_truth_demo" / "testing_label_mask" / f"{i + 1}_label.mat", masks)
        labels[name] = masks.any(axis=(1, 2)).astype(np.uint8)
    return labels
