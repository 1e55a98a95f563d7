"""The frame cache: every video is decoded once, resized, and kept on disk as uint8 arrays.

Training then reads memory-mapped arrays, so a data set larger than RAM still trains and no clip
ever decodes a video. A cache folder is keyed by the source's content key and the preprocessing
settings, and is written under a temporary name and renamed when complete, so a killed run never
leaves a half cache that a later run would reuse.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import socket
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vadlit.data.frames import convert_channels, resize_frames, resize_masks
from vadlit.data.source import NORMAL, Source, VideoData
from vadlit.data.workers import MappedArray
from vadlit.image_size import as_size
from vadlit.errors import DataError

log = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass
class CachedVideo(VideoData):
    """One cached video: a source's `VideoData` at the cache's size (frames memory-mapped,
    (N, H, W, C)), under its name in the split."""

    name: str = field(default="", kw_only=True)


@dataclass
class CachedSplit:
    """The cached videos of one split, in the source's order."""

    split: str
    videos: list[CachedVideo]
    path: Path

    @property
    def has_labels(self) -> bool:
        return bool(self.videos) and all(v.labels is not None for v in self.videos)

    def summary(self) -> dict:
        frames = sum(len(v) for v in self.videos)
        anomalous = sum(int(v.labels.sum()) for v in self.videos if v.labels is not None)
        return {"split": self.split, "videos": len(self.videos), "frames": frames, "anomalous_frames": anomalous}


def cache_key(source: Source, split: str, image_size, channels: int) -> str:
    """A short hash of everything that determines the cached arrays."""
    content = {
        "version": CACHE_VERSION,
        "source": source.name,
        "source_key": source.cache_key(),
        "split": split,
        "image_size": list(as_size(image_size)),
        "channels": int(channels),
    }
    blob = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


def load_split(
    source: Source,
    split: str,
    cache_dir: str | os.PathLike,
    image_size,
    channels: int,
    rebuild: bool = False,
    workers: int | None = None,
) -> CachedSplit:
    """The cached split, building it first when it is missing (or when `rebuild`)."""
    size = as_size(image_size)
    folder = Path(cache_dir).expanduser().resolve() / f"{source.name}-{split}-{cache_key(source, split, size, channels)}"
    if rebuild and folder.exists():
        shutil.rmtree(folder)
    if not (folder / "meta.json").exists():
        _build(source, split, folder, size, channels, default_workers() if workers is None else workers)
    return _open(folder, split)


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def frame_transform(size: tuple[int, int], channels: int):
    """What decoding sources apply chunk by chunk: the configured channels and size."""

    def transform(frames: np.ndarray) -> np.ndarray:
        return resize_frames(convert_channels(frames, channels), size)

    return transform


def _load(record, size: tuple[int, int], channels: int) -> VideoData:
    """Load one video at the configured size; errors from a loader name the video and its path."""
    return _prepare(record.load(transform=frame_transform(size, channels)), record.name, size, channels)


def _prepare(data: VideoData, name: str, size: tuple[int, int], channels: int) -> VideoData:
    frames = np.asarray(data.frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or frames.shape[0] == 0:
        raise DataError(
            f"video '{name}': expected frames as a non-empty (N, H, W[, C]) uint8 array, "
            f"got shape {frames.shape} of {frames.dtype}"
        )
    n = frames.shape[0]
    frames = resize_frames(convert_channels(frames, channels), size)
    labels = None if data.labels is None else np.asarray(data.labels).astype(np.uint8).reshape(-1)
    if labels is not None and labels.shape[0] != n:
        raise DataError(f"video '{name}': {labels.shape[0]} frame labels for {n} frames; expected one label per frame")
    if labels is not None and not np.isin(labels, (0, 1)).all():
        raise DataError(f"video '{name}': frame labels must be 0 or 1, got values {sorted(set(labels.tolist()))[:5]}")
    kinds = data.kinds
    if kinds is None and labels is not None:
        kinds = [NORMAL if l == 0 else "anomaly" for l in labels]
    if kinds is not None and len(kinds) != n:
        raise DataError(f"video '{name}': {len(kinds)} frame kinds for {n} frames; expected one per frame")
    masks = None
    if data.masks is not None:
        if len(data.masks) != n:
            raise DataError(f"video '{name}': {len(data.masks)} pixel masks for {n} frames; expected one per frame")
        masks = resize_masks(data.masks, size)
    return VideoData(frames, labels, None if kinds is None else list(kinds), masks)


def _build(source: Source, split: str, folder: Path, size: tuple[int, int], channels: int, workers: int) -> None:
    records = source.videos(split)
    folder.parent.mkdir(parents=True, exist_ok=True)
    _reclaim_stale_builds(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_build_prefix(folder)}{_HOST}.{os.getpid()}.", dir=folder.parent))
    try:
        index = []
        loaded = _in_order(lambda r: _load(r, size, channels), records, workers)
        for i, (record, data) in enumerate(_progress(zip(records, loaded), len(records), f"caching {source.name}/{split}")):
            np.save(tmp / f"{i:05d}-frames.npy", data.frames)
            entry = {"name": record.name, "path": record.path, "frames": int(data.frames.shape[0])}
            if data.labels is not None:
                np.save(tmp / f"{i:05d}-labels.npy", data.labels)
                entry["kinds"] = data.kinds
            if data.masks is not None:
                np.save(tmp / f"{i:05d}-masks.npy", np.packbits(data.masks, axis=-1))
                entry["mask_width"] = size[1]
            index.append(entry)
        meta = {"split": split, "source": source.name, "source_key": source.cache_key(), "image_size": list(size),
                "channels": channels, "videos": index}
        (tmp / "meta.json").write_text(json.dumps(meta, default=str))
        if folder.exists():  # another run finished the same cache first: keep theirs
            shutil.rmtree(tmp)
            return
        try:
            os.replace(tmp, folder)
        except OSError as exc:  # it finished in the meantime: theirs is whole (renamed atomically), keep it
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not (folder / "meta.json").is_file():
                raise
            shutil.rmtree(tmp)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave a half cache behind
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DataError(
                f"no space left on the disk of the frame cache '{folder.parent}' while caching {source.name}/{split} "
                f"({exc.strerror}); the partial cache was removed: free space or point paths.cache_dir "
                "(or VADLIT_CACHE) to a larger disk"
            ) from exc
        raise


_HOST = socket.gethostname().replace(".", "_")


def _build_prefix(folder: Path) -> str:
    return f".{folder.name}.build."


def _reclaim_stale_builds(folder: Path) -> None:
    """Remove the temporary folders of builds of this cache whose process is gone (killed before it
    could clean up): ``.<cache>.build.<host>.<pid>.<random>``. Builds on other hosts are left alone."""
    prefix = _build_prefix(folder)
    for tmp in folder.parent.glob(f"{prefix}*"):
        host, _, rest = tmp.name[len(prefix):].partition(".")
        pid = rest.split(".", 1)[0]
        if host != _HOST or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            log.info("removing %s, left by an interrupted cache build", tmp)
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


def _in_order(fn, items: list, workers: int):
    """`map(fn, items)` on a thread pool, in order, at most 2 x workers videos in memory at once.

    Threads suffice: PIL, FFmpeg and torch release the GIL while they decode and resize.
    """
    if workers <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vadlit-decode") as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _open(folder: Path, split: str) -> CachedSplit:
    meta = json.loads((folder / "meta.json").read_text())
    videos = []
    for i, entry in enumerate(meta["videos"]):
        frames = MappedArray.open(folder / f"{i:05d}-frames.npy")
        labels = masks = None
        if (folder / f"{i:05d}-labels.npy").exists():
            labels = np.load(folder / f"{i:05d}-labels.npy")
        if "mask_width" in entry:
            packed = MappedArray.open(folder / f"{i:05d}-masks.npy")
            masks = _PackedMasks(packed, entry["mask_width"])
        videos.append(CachedVideo(frames, labels, entry.get("kinds"), masks, name=entry["name"]))
    return CachedSplit(split, videos, folder)


class _PackedMasks:
    """Bit-packed masks on disk (1/8 of the bytes), unpacked per frame on access."""

    def __init__(self, packed: np.ndarray, width: int):
        self.packed, self.width = packed, width

    def __len__(self) -> int:
        return int(self.packed.shape[0])

    def __getitem__(self, index) -> np.ndarray:
        return np.unpackbits(self.packed[index], axis=-1, count=self.width).astype(bool)


def _progress(items, total: int, description: str):
    """A progress bar for builds of more than a handful of videos (rich), silent otherwise."""
    if total < 4:
        return items
    from rich.progress import track

    return track(items, total=total, description=description, transient=True)
