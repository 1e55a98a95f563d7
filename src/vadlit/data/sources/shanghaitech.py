"""ShanghaiTech Campus (Liu et al., CVPR 2018): 13 campus scenes, training videos and test frames.

On disk (``data.root``)::

    training/videos/01_001.avi ...            normal footage, named <scene>_<video>
    testing/frames/01_0014/000.jpg ...        test frames, 0-based, one folder per video
    testing/test_frame_mask/01_0014.npy       (T,) 0/1 frame labels, the official ground truth
    testing/test_pixel_mask/01_0014.npy       (T, H, W) pixel masks (optional here)

Frame labels come from ``test_frame_mask`` (the files every published frame-level AUROC uses);
pixel masks are read memory-mapped, since the real ones are large, and the cache resizes them in
chunks. The first two digits of a video name are its scene, which `scenes` filters on.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vadlit.data.decode import FrameTransform, decode_video, frame_files, is_junk, natural_key, read_frames, video_files
from vadlit.data.source import NORMAL, SPLITS, Source, VideoData, VideoRecord, fingerprint
from vadlit.data.sources.root import existing_root, root_path, split_folder
from vadlit.errors import ConfigError, DataError

FORMAT_VERSION = 1
"""Bump whenever what this module reads from the same files changes, so frame caches are rebuilt."""

ANOMALY = "anomaly"
"""ShanghaiTech has no per-event categories: every anomalous frame has this kind."""

TRAIN_DIR = Path("training") / "videos"
FRAMES_DIR = Path("testing") / "frames"
FRAME_MASK_DIR = Path("testing") / "test_frame_mask"
PIXEL_MASK_DIR = Path("testing") / "test_pixel_mask"
SCENES_KEY = "data.source.scenes"
_SCENE = re.compile(r"^(\d{2})_")
_LAYOUT = {
    "train": f"{TRAIN_DIR.as_posix()}/01_001.avi, {TRAIN_DIR.as_posix()}/01_002.avi ...",
    "test": f"{FRAMES_DIR.as_posix()}/01_0014/000.jpg, 001.jpg ... (one folder of frames per test video)",
}
_HOLDING = (f"{TRAIN_DIR.as_posix()}/, {FRAMES_DIR.as_posix()}/ and {FRAME_MASK_DIR.as_posix()}/ "
            f"(and optionally {PIXEL_MASK_DIR.as_posix()}/)")


class ShanghaiTechSource(Source):
    """ShanghaiTech Campus, optionally limited to some `scenes` (``[1, 3]``: videos ``01_*``, ``03_*``).

    `pixel_masks=False` skips the (large) pixel-mask files; test videos then have frame labels only.
    `videos()` only lists files and checks that every test video has its frame labels; `load()`
    decodes.
    """

    name = "shanghaitech"

    def __init__(self, root: str | os.PathLike, scenes: Iterable[int] | int | None = None,
                 pixel_masks: bool = True) -> None:
        self.root = root_path(root)
        self.scenes = _check_scenes(scenes)
        if not isinstance(pixel_masks, (bool, np.bool_)):
            raise ConfigError(f"data.source.pixel_masks={pixel_masks!r}: expected true or false")
        self.pixel_masks = bool(pixel_masks)

    def videos(self, split: str) -> list[VideoRecord]:
        """Training videos carry no labels; each test video loads its frames, labels and masks."""
        entries = self._entries(split)
        if split == "train":
            return [VideoRecord(p.stem, functools.partial(_load_train, p), str(p)) for p in entries]
        return [
            VideoRecord(folder.name, functools.partial(_load_test, folder, self._frame_mask(folder),
                                                       self._pixel_mask(folder)), str(folder))
            for folder in entries
        ]

    def cache_key(self) -> dict[str, Any]:
        """Resolved root, options and a fingerprint of every video, frame and ground-truth file used."""
        root = self.existing_root()
        paths = list(self._entries("train"))
        for folder in self._entries("test"):
            paths += frame_files(folder)
            paths.append(self._frame_mask(folder))
            mask = self._pixel_mask(folder)
            if mask is not None:
                paths.append(mask)
        return {
            "root": str(root),
            "scenes": None if self.scenes is None else list(self.scenes),
            "pixel_masks": self.pixel_masks,
            "files": fingerprint(paths, root),
            "format_version": FORMAT_VERSION,
        }

    # ------------------------------------------------------------------------------------------

    def existing_root(self) -> Path:
        return existing_root(self.root, "ShanghaiTech Campus", _HOLDING)

    def _entries(self, split: str) -> list[Path]:
        """Training video files or test frame folders of the chosen scenes, in natural order."""
        if split not in SPLITS:
            raise DataError(f"ShanghaiTech has splits {list(SPLITS)}, got split {split!r}")
        root = self.existing_root()
        folder = split_folder(root, TRAIN_DIR if split == "train" else FRAMES_DIR, "ShanghaiTech", split,
                              _LAYOUT[split])
        if split == "train":
            entries = video_files(folder)
        else:
            entries = sorted((p for p in folder.iterdir() if p.is_dir() and not is_junk(p)), key=natural_key)
        if not entries:
            what = "video files" if split == "train" else "frame folders"
            raise DataError(f"no {what} in '{folder}'; expected {_LAYOUT[split]} under data.root='{root}'")
        if self.scenes is None:
            return entries
        kept = [p for p in entries if _scene(p) in self.scenes]
        if not kept:
            found = sorted({s for s in map(_scene, entries) if s is not None})
            raise DataError(f"{SCENES_KEY}={list(self.scenes)}: no {split} videos of these scenes in '{folder}'; "
                            f"the scenes there are {found}")
        return kept

    def _frame_mask(self, folder: Path) -> Path:
        path = self.existing_root() / FRAME_MASK_DIR / f"{folder.name}.npy"
        if not path.is_file():
            raise DataError(f"no frame labels for ShanghaiTech test video '{folder}': expected '{path}' holding "
                            "one 0/1 label per frame")
        return path

    def _pixel_mask(self, folder: Path) -> Path | None:
        if not self.pixel_masks:
            return None
        path = self.existing_root() / PIXEL_MASK_DIR / f"{folder.name}.npy"
        return path if path.is_file() else None


# ----------------------------------------------------------------------------------------------
# Loading


def _load_train(video: Path, transform: FrameTransform | None = None) -> VideoData:
    return VideoData(decode_video(video, transform))


def _load_test(folder: Path, frame_mask: Path, pixel_mask: Path | None,
               transform: FrameTransform | None = None) -> VideoData:
    files = frame_files(folder)
    if not files:
        raise DataError(f"test frame folder '{folder}' holds no image files; expected 000.jpg, 001.jpg ...")
    labels = read_frame_labels(frame_mask, len(files), folder)  # before decoding: fail fast
    masks = None
    if pixel_mask is not None:
        masks = read_pixel_masks(pixel_mask, len(files), _image_size(files[0]), folder)
    frames = read_frames(files, transform)
    kinds = [ANOMALY if label else NORMAL for label in labels]
    return VideoData(frames, labels, kinds, masks)


def read_frame_labels(path: Path, frames: int, folder: Path) -> np.ndarray:
    """A ``test_frame_mask/<video>.npy`` -> (T,) uint8 0/1, checked against the frame count."""
    array = _load_npy(path, None, "a 1-D array of 0/1 frame labels")
    if array.ndim != 1 and sum(d > 1 for d in array.shape) <= 1:
        array = array.reshape(-1)  # (T, 1) or (1, T)
    if array.ndim != 1:
        raise DataError(f"'{path}' holds an array of shape {array.shape}; expected a 1-D array of 0/1 frame labels")
    if len(array) != frames:
        raise DataError(f"'{path}' holds {len(array)} frame labels but '{folder}' has {frames} frames; expected "
                        "one label per frame")
    odd = np.unique(array[(array != 0) & (array != 1)])
    if odd.size:
        raise DataError(f"'{path}' holds label values {odd[:5].tolist()}; expected 0 (normal) or 1 (anomalous)")
    return array.astype(np.uint8)


def read_pixel_masks(path: Path, frames: int, size: tuple[int, int], folder: Path) -> np.ndarray:
    """A ``test_pixel_mask/<video>.npy`` -> the (T, H, W) array, memory-mapped (not read into memory)."""
    array = _load_npy(path, "r", "a (T, H, W) array of pixel masks")
    if array.shape != (frames, *size):
        raise DataError(f"'{path}' holds an array of shape {array.shape}; expected ({frames}, {size[0]}, {size[1]}): "
                        f"one H x W mask per frame of '{folder}'")
    return array


def _load_npy(path: Path, mmap_mode: str | None, expected: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read '{path}': {exc}; expected a .npy file holding {expected}") from exc


def _image_size(path: Path) -> tuple[int, int]:
    """(H, W) of an image from its header, without decoding it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return img.height, img.width
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot decode frame '{path}': {exc}; expected a readable image file") from exc


# ----------------------------------------------------------------------------------------------
# Scenes


def _scene(path: Path) -> int | None:
    match = _SCENE.match(path.stem if path.is_file() else path.name)
    return int(match.group(1)) if match else None


def _check_scenes(scenes: Any) -> tuple[int, ...] | None:
    """None (all scenes), one scene number or a list of them, each 1..99 (the two digits of a name)."""
    if scenes is None:
        return None
    expected = "expected null (all scenes) or a list of scene numbers 1..99, e.g. [1, 3] for 01_* and 03_*"
    values = [scenes] if isinstance(scenes, (int, str, np.integer)) else scenes
    try:
        values = list(values)
    except TypeError:
        raise ConfigError(f"{SCENES_KEY}={scenes!r}: {expected}") from None
    if not values:
        raise ConfigError(f"{SCENES_KEY}=[]: {expected}")
    out = []
    for value in values:
        if isinstance(value, str) and value.strip().isdigit():
            number = int(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            number = int(value)
        else:
            raise ConfigError(f"{SCENES_KEY}={scenes!r} contains {value!r}: {expected}")
        if not 1 <= number <= 99:
            raise ConfigError(f"{SCENES_KEY}={scenes!r} contains {value!r}: {expected}")
        out.append(number)
    return tuple(sorted(set(out)))
