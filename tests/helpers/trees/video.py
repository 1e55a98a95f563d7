"""A tiny `.avi` writer (PyAV) for test trees: lossless FFV1 by default, so decoding gives back exactly
the frames written; MJPEG when a test wants a lossy, widely readable codec."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_PIX_FMT = {"ffv1": "bgr0", "mjpeg": "yuvj444p"}


def write_avi(path: str | os.PathLike, frames: np.ndarray, codec: str = "ffv1", fps: int = 25) -> Path:
    """Write (N, H, W, 3) (or (N, H, W) / (N, H, W, 1) grey) uint8 frames as an `.avi`; returns the path.

    Both codecs are intra-only, so the decoded frame count always equals N.
    """
    import av

    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4) or len(frames) == 0:
        raise ValueError(f"expected non-empty (N, H, W[, C]) uint8 frames, got {frames.shape} {frames.dtype}")
    if frames.ndim == 3:
        frames = frames[..., None]
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    if codec not in _PIX_FMT:
        raise ValueError(f"codec={codec!r}: expected one of {sorted(_PIX_FMT)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:  # the container follows the suffix (.avi, .mkv, .mp4)
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = _PIX_FMT[codec]
        if codec == "mjpeg":
            stream.codec_context.qmin = 1
            stream.options = {"qscale": "2"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
