"""CUHK Avenue (Lu, Shi and Jia, ICCV 2013): a campus walkway filmed by one fixed camera.

On disk (the official zips extracted into one folder, ``data.root``)::

    training_videos/01.avi ... 16.avi                  normal footage only
    testing_videos/01.avi ... 21.avi
    ground_truth_demo/testing_label_mask/1_label.mat   one per test video, no leading zero

Each ``N_label.mat`` holds ``volLabel``: a 1 x T MATLAB cell array with one H x W mask per frame of
test video N (non-zero = anomalous pixel). A frame is anomalous when its mask has any non-zero
pixel, so frame labels and pixel masks come from the same file and cannot disagree.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from vadlit.data.decode import FrameTransform, decode_video, video_files
from vadlit.data.source import NORMAL, SPLITS, Source, VideoData, VideoRecord, fingerprint
from vadlit.data.sources.root import existing_root, root_path, split_folder
from vadlit.errors import DataError

FORMAT_VERSION = 1
"""Bump whenever what this module reads from the same files changes, so frame caches are rebuilt."""

ANOMALY = "anomaly"
"""Avenue has no per-event categories: every anomalous frame has this kind."""

TRAIN_DIR = "training_videos"
TEST_DIR = "testing_videos"
LABEL_DIR = Path("ground_truth_demo") / "testing_label_mask"
LABEL_VARIABLE = "volLabel"
_LAYOUT = {
    "train": f"{TRAIN_DIR}/01.avi, {TRAIN_DIR}/02.avi ...",
    "test": f"{TEST_DIR}/01.avi, {TEST_DIR}/02.avi ...",
}
_HOLDING = (f"{TRAIN_DIR}/, {TEST_DIR}/ and {LABEL_DIR.as_posix()}/"
            " (the CUHK Avenue videos and ground_truth_demo.zip extracted side by side)")


class AvenueSource(Source):
    """CUHK Avenue: training and test ``.avi`` videos, labels and masks from ``volLabel`` files.

    `videos()` only lists files (and checks that every test video has its ground-truth file, so a
    missing one is reported before anything is decoded); `load()` decodes.
    """

    name = "avenue"

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = root_path(root)

    def videos(self, split: str) -> list[VideoRecord]:
        """Training videos carry no labels; each test video loads its frames, labels and masks."""
        files = self.video_files(split)
        if split == "train":
            return [VideoRecord(p.stem, functools.partial(_load_train, p), str(p)) for p in files]
        return [VideoRecord(p.stem, functools.partial(_load_test, p, self._label_file(p)), str(p)) for p in files]

    def cache_key(self) -> dict[str, Any]:
        """Resolved root and a fingerprint of every video and label file (rebuilt when one changes)."""
        root = self.existing_root()
        train, test = self.video_files("train"), self.video_files("test")
        paths = train + test + [self._label_file(p) for p in test]
        return {"root": str(root), "files": fingerprint(paths, root), "format_version": FORMAT_VERSION}

    # ------------------------------------------------------------------------------------------

    def existing_root(self) -> Path:
        return existing_root(self.root, "CUHK Avenue", _HOLDING)

    def video_files(self, split: str) -> list[Path]:
        if split not in SPLITS:
            raise DataError(f"Avenue has splits {list(SPLITS)}, got split {split!r}")
        root = self.existing_root()
        folder = split_folder(root, TRAIN_DIR if split == "train" else TEST_DIR, "Avenue", split, _LAYOUT[split])
        files = video_files(folder)
        if not files:
            raise DataError(f"no video files in '{folder}'; expected {_LAYOUT[split]} under data.root='{root}'")
        return files

    def _label_file(self, video: Path) -> Path:
        """``01.avi`` -> ``1_label.mat`` (the official name); ``01_label.mat`` is accepted too."""
        root = self.existing_root()
        folder = root / LABEL_DIR
        stem = video.stem
        official = folder / f"{int(stem)}_label.mat" if stem.isdigit() else folder / f"{stem}_label.mat"
        for candidate in (official, folder / f"{stem}_label.mat"):
            if candidate.is_file():
                return candidate
        raise DataError(f"no ground truth for Avenue test video '{video}': expected '{official}' holding "
                        f"{LABEL_VARIABLE}, a 1 x T cell array of H x W masks (extract ground_truth_demo.zip "
                        f"into data.root='{root}')")


# ----------------------------------------------------------------------------------------------
# Loading


def _load_train(video: Path, transform: FrameTransform | None = None) -> VideoData:
    return VideoData(decode_video(video, transform))


def _load_test(video: Path, label_file: Path, transform: FrameTransform | None = None) -> VideoData:
    masks = read_vol_label(label_file)  # before decoding: a broken label file fails fast
    frames = decode_video(video, transform)
    if len(masks) != len(frames):
        raise DataError(f"'{label_file}' holds {len(masks)} frame masks but video '{video}' decodes to "
                        f"{len(frames)} frames; expected one mask per frame (is the video truncated or the "
                        "label file of another video?)")
    labels = masks.reshape(len(masks), -1).any(axis=1).astype(np.uint8)
    kinds = [ANOMALY if label else NORMAL for label in labels]
    return VideoData(frames, labels, kinds, masks)


def read_vol_label(path: Path) -> np.ndarray:
    """An Avenue ``N_label.mat`` -> (T, H, W) bool pixel masks.

    ``volLabel`` is read as saved by MATLAB (a 1 x T cell array); a T x 1 cell array, a cell array
    nested in a 1 x 1 cell and a numeric H x W x T volume (MATLAB's order for stacks of frames)
    are accepted too. Empty cells count as all-normal frames.
    """
    import scipy.io

    try:
        content = scipy.io.loadmat(str(path), squeeze_me=False)
    except NotImplementedError as exc:  # MATLAB v7.3 files are HDF5
        raise DataError(f"cannot read '{path}': {exc}; expected a MATLAB v5/v7 .mat file (save with -v7)") from exc
    except Exception as exc:  # scipy raises ValueError, MatReadError, TypeError... on damaged files
        raise DataError(f"cannot read '{path}': {exc}; expected a MATLAB .mat file holding {LABEL_VARIABLE}") from exc
    if LABEL_VARIABLE not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DataError(f"'{path}' has no variable '{LABEL_VARIABLE}' (it holds {found}); expected "
                        f"{LABEL_VARIABLE}, a 1 x T cell array of H x W masks")
    return _masks(np.asarray(content[LABEL_VARIABLE]), path)


def _masks(value: np.ndarray, path: Path) -> np.ndarray:
    expected = f"expected {LABEL_VARIABLE} to be a 1 x T cell array of H x W masks"
    while value.dtype == object and value.size == 1 and np.asarray(value.flat[0]).dtype == object:
        value = np.asarray(value.flat[0])  # a cell array wrapped in a 1 x 1 cell
    if value.dtype != object:
        if value.ndim != 3:
            raise DataError(f"'{path}': {LABEL_VARIABLE} is a numeric array of shape {value.shape}; {expected} "
                            "(or an H x W x T array)")
        return np.moveaxis(value != 0, -1, 0)
    if sum(d > 1 for d in value.shape) > 1:
        raise DataError(f"'{path}': {LABEL_VARIABLE} is a cell array of shape {value.shape}; {expected}")
    cells = [np.asarray(c) for c in value.reshape(-1)]
    if not cells:
        raise DataError(f"'{path}': {LABEL_VARIABLE} is an empty cell array; {expected}")
    shapes = {c.squeeze().shape for c in cells if c.size}
    bad = [s for s in shapes if len(s) != 2]
    if bad or len(shapes) > 1:
        raise DataError(f"'{path}': {LABEL_VARIABLE} holds masks of shapes {sorted(shapes)}; {expected}, "
                        "all of the same H x W")
    shape = shapes.pop() if shapes else (1, 1)  # all cells empty: no anomalous pixel anywhere
    masks = np.zeros((len(cells), *shape), dtype=bool)
    for t, cell in enumerate(cells):
        if cell.size:
            if cell.dtype == object or not (np.issubdtype(cell.dtype, np.number) or cell.dtype == bool):
                raise DataError(f"'{path}': cell {t + 1} of {LABEL_VARIABLE} holds {cell.dtype} data; {expected}")
            masks[t] = cell.reshape(shape) != 0
    return masks
