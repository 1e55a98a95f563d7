"""A tiny ShanghaiTech Campus tree in the exact on-disk format (see `vadlit.data.sources.shanghaitech`).

Per scene s: training video ``training/videos/{s:02d}_001.avi`` and test video ``{s:02d}_0014``:
frames ``testing/frames/{s:02d}_0014/000.jpg ...``, labels ``testing/test_frame_mask/{s:02d}_0014.npy``
(int64 0/1, as the real files) and masks ``testing/test_pixel_mask/{s:02d}_0014.npy`` (T, H, W uint8).
The anomalous interval and masks are `shanghaitech_interval` / `shanghaitech_masks`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers.trees.video import write_avi


def video_name(scene: int) -> str:
    """The name of the test video of `scene` (its frame folder and ground-truth files)."""
    return f"{scene:02d}_0014"


def shanghaitech_frames(split: str, scene: int, frames: int = 14, size=(24, 40)) -> np.ndarray:
    """Deterministic (T, H, W, 3) uint8 content: a smooth background with a block moving down."""
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([np.full_like(xx, 30 * scene % 256), xx * 180 // max(w - 1, 1), yy * 180 // max(h - 1, 1)], -1)
    out = np.empty((frames, h, w, 3), dtype=np.uint8)
    for t in range(frames):
        frame = base.copy()
        y = (t + scene) % max(h - 6, 1)
        frame[y : y + 6, w // 3 : w // 3 + 6] = (240, 240, 240) if split == "train" else (240, 220, 40)
        out[t] = frame
    return out


def shanghaitech_interval(scene: int, frames: int) -> tuple[int, int]:
    """[start, stop) of the anomalous frames of the test video of `scene`."""
    start = min(2 + scene % 4, frames - 1)
    return start, min(frames, start + max(1, frames // 2))


def shanghaitech_masks(scene: int, frames: int = 14, size=(24, 40)) -> np.ndarray:
    """(T, H, W) uint8 pixel masks of the test video of `scene`: a rectangle during its interval."""
    h, w = size
    masks = np.zeros((frames, h, w), dtype=np.uint8)
    start, stop = shanghaitech_interval(scene, frames)
    masks[start:stop, 2 : h // 2, w // 2 : w // 2 + w // 5] = 1
    return masks


def write_shanghaitech_tree(root, scenes=(1, 2), frames: int = 14, size=(24, 40),
                            codec: str = "ffv1") -> dict[str, np.ndarray]:
    """Write one training video and one test video per scene; returns the (T,) labels per test video."""
    from PIL import Image

    root = Path(root)
    labels = {}
    for scene in scenes:
        write_avi(root / "training" / "videos" / f"{scene:02d}_001.avi", shanghaitech_frames("train", scene, frames, size),
                  codec)
        name = video_name(scene)
        folder = root / "testing" / "frames" / name
        folder.mkdir(parents=True, exist_ok=True)
        for t, frame in enumerate(shanghaitech_frames("test", scene, frames, size)):
            Image.fromarray(frame).save(folder / f"{t:03d}.jpg", quality=95)
        masks = shanghaitech_masks(scene, frames, size)
        label = masks.any(axis=(1, 2)).astype(np.int64)
        for sub, array in (("test_frame_mask", label), ("test_pixel_mask", masks)):
            (root / "testing" / sub).mkdir(parents=True, exist_ok=True)
            np.save(root / "testing" / sub / f"{name}.npy", array)
        labels[name] = label.astype(np.uint8)
    return labels
