"""The UCSD Pedestrian data sets (Ped1, Ped2) in the folder format they are distributed in.

    UCSDped2/Train/Train001/001.tif ...         8-bit greyscale frames, 1-based, 3 digits
    UCSDped2/Test/Test001/001.tif ...
    UCSDped2/Test/Test001_gt/001.bmp ...        pixel masks (non-zero = anomalous pixel)
    UCSDped2/Test/UCSDped2.m                    frame intervals: TestDataset.gt_frame{1} = [61:180];

Ped1 has pixel masks for only some test videos, so its `.m` intervals are the frame-level truth
there. Folders are listed when `videos()` is called (cheap); ground truth is parsed and frames are
decoded only when a video is loaded, so listing never touches a large data set's pixels.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadlit.data.decode import FrameTransform, frame_files, is_junk, natural_key, read_frames, read_image
from vadlit.data.source import NORMAL, SPLITS, Source, VideoData, VideoRecord, fingerprint
from vadlit.data.sources.root import root_path
from vadlit.errors import ConfigError, DataError

FORMAT_VERSION = 1  # bump when the reading rules change, so caches built by older rules are rebuilt
VARIANTS = {"ped1": "UCSDped1", "ped2": "UCSDped2"}
LABELS_FROM = ("auto", "masks", "m")
ANOMALY = "anomaly"
_SPLIT_FOLDERS = {"train": "Train", "test": "Test"}
_INTERVALS_HINT = "expected lines like TestDataset.gt_frame{1} = [61:180]; or = [1:12, 83:150];"


class UCSDSource(Source):
    """The Train/ and Test/ videos of one UCSD folder, with frame labels and pixel masks on Test.

    labels_from: "auto" takes labels from a video's `TestNNN_gt` masks when it has them and from
    the `.m` intervals otherwise; "masks" requires masks for every test video; "m" always uses the
    `.m` intervals (masks are still returned where they exist).
    """

    def __init__(self, root: str, variant: str = "ped2", labels_from: str = "auto") -> None:
        if variant not in VARIANTS:
            raise ConfigError(f"data.source.variant={variant!r} is not a UCSD variant; "
                              f"expected one of {sorted(VARIANTS)}")
        if labels_from not in LABELS_FROM:
            raise ConfigError(f"data.source.labels_from={labels_from!r} is not known; "
                              f"expected one of {list(LABELS_FROM)}")
        folder = VARIANTS[variant]
        path = root_path(root)
        expected = f"expected the {folder} folder holding Train/ and Test/"
        if not path.exists():
            raise DataError(f"data.root='{root}' does not exist; {expected}")
        if not path.is_dir():
            raise DataError(f"data.root='{root}' is not a folder; {expected}")
        # a Ped1 folder read as Ped2 would cache under the wrong name and miss its .m file
        other = next((v for v, f in VARIANTS.items() if v != variant and path.resolve().name.lower() == f.lower()), None)
        if other is not None:
            raise ConfigError(f"data.root='{root}' is the {VARIANTS[other]} folder but data.source.variant={variant!r}; "
                              f"expected data.source.variant={other!r} for this folder")
        self.root = path.resolve()
        self.variant = variant
        self.labels_from = labels_from
        self.name = f"ucsd_{variant}"

    # ------------------------------------------------------------------------------------------

    def videos(self, split: str) -> list[VideoRecord]:
        """The `TrainNNN` or `TestNNN` folders of `split` in natural order, each loading lazily."""
        if split not in _SPLIT_FOLDERS:
            raise DataError(f"UCSD data has splits {list(SPLITS)}, got split {split!r}")
        videos = self._scan(split)
        if not videos:
            raise DataError(self._no_videos_message(split))
        empty = next((v for v in videos if not v.frames), None)
        if empty is not None:
            raise DataError(f"video folder '{empty.folder}' holds no frame images; expected 001.tif, 002.tif, ...")
        if split == "train":
            return [VideoRecord(v.name, functools.partial(_load_train, v), str(v.folder)) for v in videos]
        return [VideoRecord(v.name, functools.partial(_load_test, v), str(v.folder)) for v in videos]

    def cache_key(self) -> dict[str, Any]:
        """Root, variant and labelling rule, plus a fingerprint of every frame, mask and `.m` file."""
        files = [p for split in _SPLIT_FOLDERS for v in self._scan(split) for p in (*v.frames, *(v.masks or ()))]
        m_file = self._m_file()
        if m_file is not None:
            files.append(m_file)
        return {
            "root": str(self.root),
            "variant": self.variant,
            "labels_from": self.labels_from,
            "format_version": FORMAT_VERSION,
            "fingerprint": fingerprint(files, self.root),
        }

    # ------------------------------------------------------------------------------------------

    def _scan(self, split: str) -> list[_Video]:
        """Every video folder of `split` with its frame files (and mask files on Test); never raises."""
        prefix = _SPLIT_FOLDERS[split]
        parent = self.root / prefix
        if not parent.is_dir():
            return []
        pattern = re.compile(rf"{prefix}\d+", re.IGNORECASE)
        folders = sorted((p for p in parent.iterdir() if p.is_dir() and not is_junk(p) and pattern.fullmatch(p.name)),
                         key=natural_key)
        m_file, m_looked = self._m_file(), self._m_candidates()
        videos = []
        for folder in folders:
            gt = folder.with_name(folder.name + "_gt")
            has_gt = split == "test" and gt.is_dir()
            videos.append(_Video(
                name=folder.name,
                folder=folder,
                frames=tuple(frame_files(folder)),
                gt_folder=gt if split == "test" else None,
                masks=tuple(frame_files(gt)) if has_gt else None,
                m_file=m_file,
                m_looked=m_looked,
                labels_from=self.labels_from,
            ))
        return videos

    def _m_candidates(self) -> tuple[Path, ...]:
        """Where the interval file may lie: in Test/ (as distributed) or beside it."""
        name = f"{VARIANTS[self.variant]}.m"
        return (self.root / "Test" / name, self.root / name)

    def _m_file(self) -> Path | None:
        return next((p for p in self._m_candidates() if p.is_file()), None)

    def _no_videos_message(self, split: str) -> str:
        prefix = _SPLIT_FOLDERS[split]
        message = (f"no {split} videos found under '{self.root / prefix}': "
                   f"expected folders like {prefix}/{prefix}001/001.tif")
        nested = self.root / VARIANTS[self.variant]
        if nested.is_dir():
            message += f" (data.root may need to be '{nested}')"
        return message


@dataclass(frozen=True)
class _Video:
    """One video folder and where its ground truth lies (frozen and picklable, for worker threads)."""

    name: str
    folder: Path
    frames: tuple[Path, ...]
    gt_folder: Path | None  # TestNNN_gt, whether or not it exists; None for training videos
    masks: tuple[Path, ...] | None  # mask files when the _gt folder exists
    m_file: Path | None
    m_looked: tuple[Path, ...]
    labels_from: str


def _load_train(video: _Video, transform: FrameTransform | None = None) -> VideoData:
    return VideoData(read_frames(list(video.frames), transform))


def _load_test(video: _Video, transform: FrameTransform | None = None) -> VideoData:
    """Ground truth first (cheap, and its mistakes surface before any decoding), then the frames."""
    n = len(video.frames)
    masks = _read_masks(video) if video.masks is not None else None
    if masks is None and video.labels_from == "masks":
        raise DataError(f"test video '{video.name}' has no pixel masks: '{video.gt_folder}' does not exist; "
                        "data.source.labels_from=masks expects a TestNNN_gt folder for every test video "
                        "(labels_from=auto or m reads the .m intervals instead)")
    if video.labels_from == "m" or masks is None:
        labels = _labels_from_m(video, n)
    else:
        labels = masks.reshape(n, -1).any(axis=1).astype(np.uint8)
    frames = read_frames(list(video.frames), transform)
    kinds = [ANOMALY if label else NORMAL for label in labels]
    return VideoData(frames, labels, kinds, masks)


def _read_masks(video: _Video) -> np.ndarray:
    """The `_gt` masks as (N, H, W) bool, one per frame and of the frames' size."""
    paths = video.masks
    if len(paths) != len(video.frames):
        raise DataError(f"'{video.gt_folder}' holds {len(paths)} mask images but '{video.folder}' has "
                        f"{len(video.frames)} frames; expected one mask (001.bmp, ...) per frame")
    from PIL import Image

    try:
        with Image.open(video.frames[0]) as img:
            width, height = img.size
    except OSError:
        width = height = None  # an unreadable frame is reported by name when the frames are decoded
    masks = []
    for path in paths:
        mask = read_image(path).any(axis=-1)
        if width is not None and mask.shape != (height, width):
            raise DataError(f"mask '{path}' is {mask.shape[1]}x{mask.shape[0]} (W x H) but the frames of "
                            f"'{video.folder}' are {width}x{height}; expected masks of the frames' size")
        masks.append(mask)
    return np.stack(masks)


def _labels_from_m(video: _Video, n: int) -> np.ndarray:
    """Frame labels from the video's `.m` entry (its number in `TestNNN` is the entry's index)."""
    if video.m_file is None:
        looked = " or ".join(f"'{p}'" for p in video.m_looked)
        if video.labels_from == "m":
            raise DataError(f"no interval file found for data.source.labels_from=m: looked for {looked}; "
                            f"{_INTERVALS_HINT}")
        raise DataError(f"test video '{video.name}' has no ground truth: no pixel masks folder '{video.gt_folder}' "
                        f"and no interval file ({looked}); expected one of them")
    index = int(re.search(r"\d+", video.name).group())
    entries = read_m_file(video.m_file)
    if index not in entries:
        reason = "" if video.labels_from == "m" else f"no pixel masks folder '{video.gt_folder}' and "
        raise DataError(f"test video '{video.name}' has no ground truth: {reason}no entry "
                        f"TestDataset.gt_frame{{{index}}} in '{video.m_file}'; expected one of them")
    labels = np.zeros(n, dtype=np.uint8)
    for first, last in entries[index]:
        if last > n:
            raise DataError(f"'{video.m_file}': TestDataset.gt_frame{{{index}}} marks frames up to {last}, but test "
                            f"video '{video.name}' has {n} frames; expected 1-based frame numbers within 1..{n}")
        labels[first - 1 : last] = 1
    return labels


# ----------------------------------------------------------------------------------------------
# The .m interval file


_COMMENT = re.compile(r"%[^\n]*")
_ENTRY = re.compile(r"gt_frame\s*\{\s*(\d+)\s*\}\s*=\s*(\[[^\]]*\]|[^;\n]*)")
_TOKEN = re.compile(r"(\d+)(?::(\d+))?")


def read_m_file(path: Path) -> dict[int, list[tuple[int, int]]]:
    """The intervals of a `UCSDpedN.m` file (see `parse_m_intervals`)."""
    try:
        text = Path(path).read_text(encoding="latin-1")
    except OSError as exc:
        raise DataError(f"cannot read interval file '{path}': {exc}") from exc
    return parse_m_intervals(text, path)


def parse_m_intervals(text: str, path: Path | str = "<text>") -> dict[int, list[tuple[int, int]]]:
    """`TestDataset.gt_frame{k} = [...]` entries -> {k: [(first, last), ...]}, 1-based and inclusive.

    Brackets hold ranges `a:b` and single frames `a`, separated by commas or spaces (and may span
    lines); `%` starts a comment; `[]` means no anomalous frame. Anything else is an error naming
    the file and line, since a silently misread interval would corrupt every score on that video.
    """
    text = _COMMENT.sub("", text)
    entries: dict[int, list[tuple[int, int]]] = {}
    for match in _ENTRY.finditer(text):
        index, body = int(match.group(1)), match.group(2)
        where = f"'{path}' line {text.count(chr(10), 0, match.start()) + 1}, TestDataset.gt_frame{{{index}}}"
        if index in entries:
            raise DataError(f"{where}: a second entry for the same test video; expected one entry per video")
        body = re.sub(r"\s*:\s*", ":", body.strip().removeprefix("[").removesuffix("]").replace("...", " "))
        intervals = []
        for token in filter(None, re.split(r"[\s,;]+", body)):
            token_match = _TOKEN.fullmatch(token)
            if token_match is None:
                raise DataError(f"{where}: cannot read {token!r}; {_INTERVALS_HINT}")
            first = int(token_match.group(1))
            last = int(token_match.group(2) or first)
            if first < 1 or last < first:
                raise DataError(f"{where}: {token!r} is not a 1-based range; expected first <= last, both >= 1")
            intervals.append((first, last))
        entries[index] = intervals
    if not entries:
        raise DataError(f"'{path}' holds no ground-truth intervals; {_INTERVALS_HINT}")
    return entries
