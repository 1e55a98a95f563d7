"""Your own footage: a folder with one entry per video under ``train/`` and ``test/``.

Layout::

    <root>/
      train/                      training videos: normal footage only, labels are never read
        cam1_morning/             a video as a folder of frames ...
          000001.jpg
          000002.jpg
          ...
        cam1_evening.mp4          ... or as one video file
      test/                       test videos, in the same two forms
        clip01/
        clip02.avi
        clip01.npy                optional frame labels of clip01 (see below)
        clip01_mask.npy           optional pixel masks of clip01 (see below)
      labels/                     optional: labels and masks kept apart (``labels_dir: labels``)

- A video is either a folder of frame images (``.tif .tiff .jpg .jpeg .png .bmp``, read in natural
  order, so ``2.png`` comes before ``10.png``) or a video file (``.avi .mp4 .mov .mkv .mpg .mpeg
  .webm .m4v``) directly inside the split folder. Its name is the folder name or the file stem; two
  entries with one name (``clip01/`` and ``clip01.mp4``) are an error. Videos are listed in natural
  order of their names.
- Hidden files, macOS ``._*`` files, ``__MACOSX/``, ``Thumbs.db`` and ``desktop.ini`` are skipped;
  other files (notes, ``.json``) are ignored. A frame folder must hold its frames directly: a folder
  with sub-folders but no frames is an error, as are frames placed directly in ``train/``.
- The split folder names are options (``train_dir``, ``test_dir``).

Frame labels (test videos only; optional). A file named after the video, ``<video>.npy``,
``<video>.txt`` or ``<video>.csv`` (their formats are described in ``labels.py``), looked for in the
test folder and, when ``labels_dir`` is set, in ``<root>/<labels_dir>/`` (or ``labels_dir`` itself
when it is an absolute path).

Either every test video has labels (metrics are computed) or none has (scores are written, no
metrics): labels for only some videos are an error, since metrics over part of the ground truth
would mislead. One video with two label files (``clip01.npy`` and ``clip01.txt``, or one in
``test/`` and one in ``labels_dir``) is an error, and so is a ``labels_dir`` in which no test video
finds labels. ``.npy``/``.txt``/``.csv`` files that match no test video are ignored with a warning
that names them. Label files in ``train/`` are ignored: training videos are normal by definition.

Pixel masks (optional, beside the labels): ``<video>_mask.npy`` (format in ``labels.py``). A mask needs
labels.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vadlit.data.decode import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, decode_video, frame_files, is_junk, natural_key,
                                read_frames)
from vadlit.data.source import NORMAL, SPLITS, Source, VideoData, VideoRecord, fingerprint
from vadlit.data.sources.labels import (LABEL_EXTENSIONS, check_length, check_mask_header, check_mask_shape,
                                        read_labels, read_mask)
from vadlit.errors import ConfigError, DataError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Bump whenever the frames, labels or masks read from the same files would change (here or in `labels`), so
caches are rebuilt."""

CONFIG_PREFIX = "data.source"  # where train_dir, test_dir and labels_dir sit in conf/data/folder.yaml
"""Where the constructor arguments live in the Hydra config (named in error messages)."""

MASK_SUFFIX = "_mask"
ANOMALY = "anomaly"


@dataclass(frozen=True)
class _Video:
    """One listed video: a frame folder (`frames` holds its files) or a video file (`frames` is None)."""

    name: str
    path: Path
    frames: tuple[Path, ...] | None = None


@dataclass(frozen=True)
class _Truth:
    """Where a test video's ground truth lives."""

    labels: Path | None = None
    mask: Path | None = None


class FolderSource(Source):
    """Videos from ``<root>/<train_dir>/`` and ``<root>/<test_dir>/``; see the module docstring."""

    name = "folder"

    def __init__(self, root: str, train_dir: str = "train", test_dir: str = "test", labels_dir: str | None = None):
        for key, value in (("data.root", root), (f"{CONFIG_PREFIX}.train_dir", train_dir),
                           (f"{CONFIG_PREFIX}.test_dir", test_dir)):
            if not isinstance(value, (str, Path)) or not str(value).strip():
                raise ConfigError(f"{key}={value!r}: expected a folder path")
        if labels_dir is not None and (not isinstance(labels_dir, (str, Path)) or not str(labels_dir).strip()):
            raise ConfigError(f"{CONFIG_PREFIX}.labels_dir={labels_dir!r}: expected a folder path or null")
        self.root = Path(root).expanduser()
        self.train_dir, self.test_dir = str(train_dir), str(test_dir)
        self.labels_dir = None if labels_dir is None else str(labels_dir)

    # -- the Source interface ----------------------------------------------------------------
    def videos(self, split: str) -> list[VideoRecord]:
        videos = self._list(split)
        if split == "train":
            return [self._record(v) for v in videos]
        truth = self._truth_files(videos)
        orphans = self._orphans(videos)
        if orphans:
            log.warning("ignoring %d file(s) beside the test labels that match no test video: %s", len(orphans),
                        _names([str(p) for p in orphans]))
        labelled = [v.name for v in videos if truth[v.name].labels is not None]
        if not labelled:
            return [self._record(v) for v in videos]
        if len(labelled) < len(videos):
            missing = [v.name for v in videos if truth[v.name].labels is None]
            raise DataError(
                f"{len(missing)} of {len(videos)} test videos have no frame labels: {_names(missing)}; expected a "
                f"label file for every test video ({self._label_places()}) or for none"
                + self._orphan_hint(videos)
            )
        return [self._record(v, truth[v.name]) for v in videos]

    def cache_key(self) -> dict[str, Any]:
        """Resolved root, the folder options, and a fingerprint of every frame, video, label and mask file."""
        root = self._root()
        inside, outside = [], []
        for split, folder in (("train", self.train_dir), ("test", self.test_dir)):
            if not (root / folder).is_dir():
                continue  # videos(split) reports it; a test-only or train-only tree still has a key
            videos = self._list(split)
            for video in videos:
                inside.extend(video.frames if video.frames is not None else [video.path])
            if split == "test":
                for truth in self._truth_files(videos).values():
                    for path in (truth.labels, truth.mask):
                        if path is not None:
                            (inside if _is_under(path, root) else outside).append(path)
        labels_root = self._labels_path()
        return {
            "format": FORMAT_VERSION,
            "root": str(root.resolve()),
            "train_dir": self.train_dir,
            "test_dir": self.test_dir,
            "labels_dir": self.labels_dir,
            "files": fingerprint(inside, root),
            "outside_files": fingerprint(outside, labels_root) if outside and labels_root is not None else None,
        }

    # -- listing -----------------------------------------------------------------------------
    def _root(self) -> Path:
        where = f"; expected a folder holding {self.train_dir}/ and {self.test_dir}/"
        if not self.root.exists():
            raise DataError(f"data.root='{self.root}' does not exist{where}")
        if not self.root.is_dir():
            raise DataError(f"data.root='{self.root}' is not a folder{where}")
        return self.root

    def _split_dir(self, split: str) -> tuple[Path, str]:
        if split not in SPLITS:
            raise ConfigError(f"unknown split {split!r}; expected one of {list(SPLITS)}")
        folder = self.train_dir if split == "train" else self.test_dir
        return self._root() / folder, folder

    def _list(self, split: str) -> list[_Video]:
        """The videos of a split in natural order, checking the layout (no decoding)."""
        path, folder = self._split_dir(split)
        layout = f"expected {folder}/<video>/000001.jpg or {folder}/<video>.mp4"
        if not path.is_dir():
            what = "is not a folder" if path.exists() else "does not exist"
            raise DataError(
                f"'{path}' {what}; expected the {split} videos there as {folder}/<video>/000001.jpg or "
                f"{folder}/<video>.mp4 (set {CONFIG_PREFIX}.{split}_dir if they are in another folder of "
                f"data.root)"
            )
        videos: list[_Video] = []
        loose_frames = []
        for entry in sorted(path.iterdir(), key=natural_key):
            if is_junk(entry):
                continue
            suffix = entry.suffix.lower()
            if entry.is_dir():
                videos.append(_Video(entry.name, entry, tuple(self._frame_folder(entry, folder))))
            elif entry.is_file() and suffix in VIDEO_EXTENSIONS:
                videos.append(_Video(entry.stem, entry))
            elif entry.is_file() and suffix in IMAGE_EXTENSIONS:
                loose_frames.append(entry)
        if not videos:
            if loose_frames:
                raise DataError(
                    f"'{path}' holds frame images directly (e.g. '{loose_frames[0].name}') but no videos; expected one "
                    f"folder of frames per video: {folder}/<video>/000001.jpg"
                )
            raise DataError(f"no videos in '{path}'; {layout} (one folder of frames or one video file per video)")
        if loose_frames:
            log.warning("ignoring %d image file(s) directly in '%s' (e.g. %s): frames belong in a folder per video",
                        len(loose_frames), path, loose_frames[0].name)
        seen: dict[str, Path] = {}
        for video in videos:
            if video.name in seen:
                raise DataError(
                    f"two videos named '{video.name}' in '{path}': '{seen[video.name].name}' and '{video.path.name}'; "
                    "expected one folder or video file per name"
                )
            seen[video.name] = video.path
        return sorted(videos, key=lambda v: natural_key(Path(v.name)))

    @staticmethod
    def _frame_folder(path: Path, folder: str) -> list[Path]:
        frames = frame_files(path)
        if frames:
            return frames
        children = [c for c in path.iterdir() if not is_junk(c)]
        if any(c.is_dir() for c in children):
            raise DataError(
                f"'{path}' holds folders but no frames; a video is one folder of frames directly inside {folder}/ "
                f"(expected {folder}/<video>/000001.jpg; nested folders like {folder}/<video>/<sub>/ are not read)"
            )
        if any(c.is_file() and c.suffix.lower() in VIDEO_EXTENSIONS for c in children):
            raise DataError(
                f"'{path}' holds video files but no frames; expected video files directly inside {folder}/ "
                f"({folder}/<video>.mp4) and frame folders holding images ({folder}/<video>/000001.jpg)"
            )
        raise DataError(
            f"frame folder '{path}' holds no image files; expected frames with one of the extensions "
            f"{' '.join(IMAGE_EXTENSIONS)} ({folder}/<video>/000001.jpg)"
        )

    # -- ground truth ------------------------------------------------------------------------
    def _labels_path(self) -> Path | None:
        if self.labels_dir is None:
            return None
        return self.root / Path(self.labels_dir).expanduser()  # an absolute labels_dir replaces root

    def _label_places(self) -> str:
        places = f"{self.test_dir}/<video>.npy, .txt or .csv"
        if self.labels_dir is not None:
            places += f", or the same in {self.labels_dir}/"
        return places

    def _places(self) -> list[Path]:
        places = [self._root() / self.test_dir]
        labels = self._labels_path()
        if labels is not None:
            if not labels.is_dir():
                raise DataError(
                    f"{CONFIG_PREFIX}.labels_dir='{self.labels_dir}': '{labels}' "
                    f"{'is not a folder' if labels.exists() else 'does not exist'}; expected a folder of label files "
                    f"named after the test videos (<video>.npy, .txt or .csv), or labels_dir=null"
                )
            if labels.resolve() != places[0].resolve():
                places.append(labels)
        return places

    def _candidates(self) -> list[Path]:
        """Every file in the label places whose extension could make it labels or masks."""
        return [p for place in self._places() for p in sorted(place.iterdir(), key=natural_key)
                if p.is_file() and not is_junk(p) and p.suffix.lower() in LABEL_EXTENSIONS]

    def _truth_files(self, videos: list[_Video]) -> dict[str, _Truth]:
        """Label and mask files per test video name, checking there is at most one of each."""
        names = {v.name for v in videos}
        labels: dict[str, list[Path]] = {n: [] for n in names}
        masks: dict[str, list[Path]] = {n: [] for n in names}
        for path in self._candidates():
            stem = path.stem
            if stem in names:
                labels[stem].append(path)
            elif stem.endswith(MASK_SUFFIX) and path.suffix.lower() == ".npy" and stem[: -len(MASK_SUFFIX)] in names:
                masks[stem[: -len(MASK_SUFFIX)]].append(path)
        truth = {}
        for name in names:
            for kind, found in (("label", labels[name]), ("mask", masks[name])):
                if len(found) > 1:
                    raise DataError(
                        f"test video '{name}' has {len(found)} {kind} files: {', '.join(repr(str(p)) for p in found)}; "
                        f"expected at most one (remove or rename the others)"
                    )
            label = labels[name][0] if labels[name] else None
            mask = masks[name][0] if masks[name] else None
            if mask is not None and label is None:
                raise DataError(
                    f"mask '{mask}' has no frame labels beside it; expected {name}.npy, {name}.txt or {name}.csv "
                    "next to it (pixel masks come with frame labels)"
                )
            truth[name] = _Truth(label, mask)
        if self.labels_dir is not None and not any(t.labels for t in truth.values()):
            ordered = sorted(names, key=lambda n: natural_key(Path(n)))
            raise DataError(
                f"{CONFIG_PREFIX}.labels_dir='{self.labels_dir}' is set but no test video has a label file; expected "
                f"{self._label_places()} named after the test videos ({_names(ordered)})"
                + self._orphan_hint(videos)
            )
        return truth

    def _orphans(self, videos: list[_Video]) -> list[Path]:
        names = {v.name for v in videos}
        return [p for p in self._candidates() if p.stem not in names
                and not (p.stem.endswith(MASK_SUFFIX) and p.stem[: -len(MASK_SUFFIX)] in names)]

    def _orphan_hint(self, videos: list[_Video]) -> str:
        orphans = self._orphans(videos)
        if not orphans:
            return ""
        return f" (these files match no test video name: {_names([p.name for p in orphans])})"

    # -- loading -----------------------------------------------------------------------------
    def _record(self, video: _Video, truth: _Truth | None = None) -> VideoRecord:
        labels = None
        if truth is not None and truth.labels is not None:
            labels = read_labels(truth.labels)
            if video.frames is not None:  # a frame folder's length is known without decoding
                check_length(truth.labels, labels, video.path, len(video.frames))
            if truth.mask is not None:
                check_mask_header(truth.mask, len(labels))
        load = functools.partial(_load, video, labels, None if truth is None else truth.labels,
                                 None if truth is None else truth.mask)
        return VideoRecord(video.name, load, str(video.path))


def _load(video: _Video, labels: np.ndarray | None, label_path: Path | None, mask_path: Path | None,
          transform=None) -> VideoData:
    """Decode one video (through `transform`, chunk by chunk) and attach its checked ground truth."""
    original: list[tuple[int, int]] = []

    def capture(chunk: np.ndarray) -> np.ndarray:
        if not original:
            original.append(tuple(chunk.shape[1:3]))
        return transform(chunk) if transform is not None else chunk

    frames = read_frames(list(video.frames), capture) if video.frames is not None else decode_video(video.path, capture)
    if labels is None:
        return VideoData(frames)
    n = int(frames.shape[0])
    check_length(label_path, labels, video.path, n)
    masks = None
    if mask_path is not None:
        masks = read_mask(mask_path)
        check_mask_shape(mask_path, masks, video.path, n, original[0])
    kinds = [ANOMALY if value else NORMAL for value in labels.tolist()]
    return VideoData(frames, labels, kinds, masks)


def _is_under(path: Path, root: Path) -> bool:
    """Label files under data.root are fingerprinted relative to it; others relative to labels_dir."""
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _names(names: list[str], limit: int = 10) -> str:
    """The first names of a long list, so an error or warning stays one readable line."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
