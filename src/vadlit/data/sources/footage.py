"""Footage to score (``vadlit-score``): one video file or one folder of frames, no labels, no splits.

It is read with the same decoding and resizing as every data source's frames (`data/decode.py`,
`cache.frame_transform`), at the frame size and channels a checkpoint was trained with, so a model
judges new footage exactly as it judged its test videos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vadlit.data.cache import frame_transform
from vadlit.data.decode import VIDEO_EXTENSIONS, decode_video, frame_files, read_frames
from vadlit.errors import DataError


def load_footage(path: Path, image_size, channels: int) -> np.ndarray:
    """A video file or a folder of frames -> (N, H, W, C) uint8 at the model's size and channels."""
    transform = frame_transform(tuple(image_size), channels)
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise DataError(f"input={str(path)!r}: the folder has no frame images; expected image files "
                            "(.jpg, .png, .tif, ...) or a video file")
        return read_frames(files, transform)
    if not path.exists():
        raise DataError(f"input={str(path)!r} does not exist; expected a video file or a folder of frames")
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        raise DataError(f"input={str(path)!r}: not a video file ({', '.join(VIDEO_EXTENSIONS)}) nor a folder of frames")
    return decode_video(path, transform)
