"""Decoding image files and video files into uint8 frame arrays, with errors that name the file.

Frames are resized (through `transform`) in chunks while decoding, so a long full-HD video never
sits in memory at full size; the cache then stores the small frames once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from vadlit.data.frames import convert_channels
from vadlit.errors import DataError

FrameTransform = Callable[[np.ndarray], np.ndarray]  # (n, H, W, C) uint8 -> (n, h, w, c) uint8

IMAGE_EXTENSIONS = (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".mpg", ".mpeg", ".webm", ".m4v")
CHUNK = 64


def natural_key(path: Path) -> tuple:
    """Sort `2.tif` before `10.tif`: numbers in names compare as numbers."""
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name))


def is_junk(path: Path) -> bool:
    """macOS resource forks (`._001.tif`, `__MACOSX/`), hidden files and `Thumbs.db` are not frames."""
    return path.name.startswith(".") or path.name.lower() in {"thumbs.db", "desktop.ini", "__macosx"}


def frame_files(folder: Path, extensions: Iterable[str] = IMAGE_EXTENSIONS) -> list[Path]:
    """The image files of a frame folder in natural order."""
    exts = tuple(e.lower() for e in extensions)
    return sorted((p for p in folder.iterdir() if p.is_file() and not is_junk(p) and p.suffix.lower() in exts),
                  key=natural_key)


def video_files(folder: Path) -> list[Path]:
    """The video files of `folder` in natural order, junk skipped, names checked unique."""
    files = sorted((p for p in folder.iterdir() if p.is_file() and not is_junk(p) and p.suffix.lower() in VIDEO_EXTENSIONS),
                   key=natural_key)
    seen: dict[str, Path] = {}
    for path in files:
        if path.stem in seen:
            raise DataError(f"'{seen[path.stem]}' and '{path}' have the same name '{path.stem}'; expected one "
                            "video file per name")
        seen[path.stem] = path
    return files


def read_image(path: Path) -> np.ndarray:
    """One image file -> (H, W, C) uint8 (greyscale gives C = 1)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            if img.mode not in ("L", "RGB"):
                img = img.convert("RGB" if img.mode in ("RGBA", "P", "CMYK", "YCbCr", "LA") else "L")
            array = np.asarray(img)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
        raise DataError(f"cannot decode frame '{path}': {exc}; expected a readable image file") from exc
    if array.dtype != np.uint8:  # 16-bit greyscale and the like: scale to 8 bits
        array = (array.astype(np.float64) / max(float(array.max()), 1.0) * 255.0).round().astype(np.uint8)
    return array[..., None] if array.ndim == 2 else array


def read_frames(paths: list[Path], transform: FrameTransform | None = None) -> np.ndarray:
    """Image files -> (N, h, w, c) uint8, transformed chunk by chunk; every frame must have one size."""
    if not paths:
        raise DataError("no frame files to read")
    chunks, first = [], None
    for start in range(0, len(paths), CHUNK):
        frames = [read_image(p) for p in paths[start : start + CHUNK]]
        first = first or frames[0].shape
        for i, (path, frame) in enumerate(zip(paths[start:], frames)):
            if frame.shape[:2] != first[:2]:
                raise DataError(f"frame '{path}' is {frame.shape[1]}x{frame.shape[0]} pixels, unlike the "
                                f"{first[1]}x{first[0]} of the frames before it; expected every frame of a video "
                                "to have the same size")
            if frame.shape != first:  # e.g. one greyscale image among colour ones: the same picture, stored otherwise
                frames[i] = convert_channels(frame[None], first[2])[0]
        chunk = np.stack(frames)
        chunks.append(transform(chunk) if transform else chunk)
    return np.concatenate(chunks)


def _video_chunks(path: Path) -> Iterator[np.ndarray]:
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"'{path}' has no video stream; expected a video file")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            declared, decoded = int(stream.frames or 0), 0  # 0: the container does not say
            buffer = []
            for frame in container.decode(stream):
                # reformat-then-array is about twice as fast as to_ndarray(format=...) in PyAV 18
                buffer.append(frame.reformat(format="rgb24").to_ndarray())
                decoded += 1
                if len(buffer) == CHUNK:
                    yield np.stack(buffer)
                    buffer = []
            if buffer:
                yield np.stack(buffer)
            if decoded < declared:  # FFmpeg stops quietly at the end of a cut-off file
                raise DataError(
                    f"video '{path}' is truncated: its header declares {declared} frames but only {decoded} "
                    "could be decoded; copy the file again (or re-encode it, e.g. with ffmpeg) and retry"
                )
    except av.error.FFmpegError as exc:
        raise DataError(f"cannot decode video '{path}': {exc}; expected a readable video file") from exc


def decode_video(path: Path, transform: FrameTransform | None = None) -> np.ndarray:
    """A video file -> (N, h, w, 3) uint8 RGB frames (PyAV / FFmpeg), transformed chunk by chunk."""
    if not Path(path).is_file():
        raise DataError(f"video file '{path}' does not exist")
    chunks = [transform(c) if transform else c for c in _video_chunks(Path(path))]
    if not chunks:
        raise DataError(f"video '{path}' has no decodable frames; expected a non-empty video file")
    return np.concatenate(chunks)
