"""A data source's test videos written as ordinary video files (`vadlit-prepare export=<folder>`):
footage to try `vadlit-score` on, each with its ground truth beside it, so its scores can be read
against the truth.

H.264 at a near-lossless quality (crf 17): the compression barely moves a pixel, so the footage
scores as the source's own frames do.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from vadlit.data.source import NORMAL, Source
from vadlit.errors import ConfigError
from vadlit.files import all_or_none, save, save_text

FPS = 25


def _write_mp4(frames: np.ndarray, f) -> None:
    import av

    with av.open(f, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS, options={"crf": "17"})
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")))
        out.mux(stream.encode())


def export_test_videos(source: Source, folder: str | Path, count: int) -> list[Path]:
    """The first ``count`` test videos of ``source`` as ``<folder>/<video>.mp4`` with
    ``<video>.labels.csv`` (``frame,label,kind``, 1-based; no file for a video without labels)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"export_videos={count!r}: expected a positive number of test videos")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for record in source.videos("test")[:count]:
        video = record.load()
        frames = video.frames if video.frames.shape[-1] == 3 else np.repeat(video.frames[..., :1], 3, axis=-1)
        frames = frames[:, : frames.shape[1] // 2 * 2, : frames.shape[2] // 2 * 2]  # H.264 wants even sides
        path = folder / f"{record.name}.mp4"
        with all_or_none() as files:  # the video and its labels: both or neither
            save(path, lambda f: _write_mp4(frames, f), files)
            if video.labels is not None:
                kinds = video.kinds or [NORMAL if y == 0 else "anomaly" for y in video.labels]
                rows = io.StringIO()
                rows.write("frame,label,kind\n")
                rows.writelines(f"{i + 1},{int(y)},{k}\n" for i, (y, k) in enumerate(zip(video.labels, kinds)))
                save_text(folder / f"{record.name}.labels.csv", rows.getvalue(), files)
        written.append(path)
    return written
