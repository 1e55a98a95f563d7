"""Trivial per-frame scores, measured on the model's own test frames: the numbers a model must beat.

- ``foreground``: the mean absolute difference of a frame from the background, the per-pixel median
  of the normal training frames (never of test frames);
- ``frame_difference``: the mean absolute difference of a frame from the previous one.

A benchmark on which one of these already finds an anomaly kind would credit a model with what
they see (how much is in the frame, how much moves), so every metrics.json reports them beside the
model's numbers, with the same metrics and the same post-processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from vadlit.data.cache import CachedVideo
from vadlit.errors import DataError
from vadlit.evaluation.localization import localization_metrics
from vadlit.evaluation.metrics import compute_metrics
from vadlit.evaluation.postprocess import ScoreOptions, apply_options

MAX_BACKGROUND_FRAMES = 2000  # evenly spaced over the training frames: the median barely moves beyond
CHUNK_BYTES = 64 << 20        # float32 working memory per step


def background(videos: Sequence[CachedVideo], max_frames: int = MAX_BACKGROUND_FRAMES) -> tuple[np.ndarray, int]:
    """Per-pixel median (H, W, C float32) of up to ``max_frames`` evenly spaced frames of ``videos``,
    and how many frames it used. Computed in blocks of rows so memory stays bounded."""
    lengths = np.array([len(v) for v in videos], dtype=np.int64)
    if not lengths.sum():
        raise DataError("no normal training frames to take the background (per-pixel median) from")
    shapes = {v.frames.shape[1:] for v in videos if len(v)}
    if len(shapes) > 1:
        raise DataError(f"training frames have different shapes {sorted(shapes)}; expected one frame size")
    height, width, channels = shapes.pop()
    picks = np.unique(np.linspace(0, lengths.sum() - 1, min(int(lengths.sum()), max_frames)).round().astype(np.int64))
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    video = np.searchsorted(offsets, picks, side="right") - 1
    local = picks - offsets[video]
    out = np.empty((height, width, channels), dtype=np.float32)
    rows = max(1, CHUNK_BYTES // (4 * len(picks) * width * channels))
    for r0 in range(0, height, rows):
        block = np.concatenate([videos[i].frames[local[video == i], r0:r0 + rows] for i in np.unique(video)])
        out[r0:r0 + rows] = np.median(block, axis=0)
    return out, len(picks)


def _chunk(frames: np.ndarray) -> int:
    return max(2, CHUNK_BYTES // (4 * max(1, int(np.prod(frames.shape[1:])))))


def foreground_scores(frames: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Per frame: the mean over pixels of |x - background|."""
    step = _chunk(frames)
    return np.concatenate([np.abs(frames[a:a + step].astype(np.float32) - bg).mean(axis=(1, 2, 3), dtype=np.float64)
                           for a in range(0, len(frames), step)]) if len(frames) else np.zeros(0)


def frame_difference_scores(frames: np.ndarray) -> np.ndarray:
    """Per frame: the mean over pixels of |x_t - x_{t-1}|; the first frame takes the second's value
    (a one-frame video scores 0)."""
    if len(frames) < 2:
        return np.zeros(len(frames))
    step = _chunk(frames)
    diffs = [np.abs(np.diff(frames[max(a - 1, 0):a + step].astype(np.float32), axis=0)).mean(axis=(1, 2, 3),
                                                                                           dtype=np.float64)
             for a in range(0, len(frames), step)]
    d = np.concatenate(diffs)
    return np.concatenate([d[:1], d])


def _as_levels(diff: np.ndarray) -> np.ndarray:
    """(n, H, W, C) absolute differences of uint8 frames -> (n, H, W) uint8: the mean over channels,
    already in 0..255, so a trivial map needs no range of its own to be quantised to."""
    return np.rint(diff.mean(axis=3)).astype(np.uint8)


def foreground_maps(frames: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Per pixel: |x - background| (the per-frame foreground score before its mean over pixels)."""
    step = _chunk(frames)
    return np.concatenate([_as_levels(np.abs(frames[a:a + step].astype(np.float32) - bg))
                           for a in range(0, len(frames), step)]) if len(frames) else np.zeros((0, *bg.shape[:2]), np.uint8)


def frame_difference_maps(frames: np.ndarray) -> np.ndarray:
    """Per pixel: |x_t - x_{t-1}|, the first frame taking the second's map (one frame: all 0)."""
    if len(frames) < 2:
        return np.zeros(frames.shape[:3], np.uint8)
    step = _chunk(frames)
    d = np.concatenate([_as_levels(np.abs(np.diff(frames[max(a - 1, 0):a + step].astype(np.float32), axis=0)))
                        for a in range(0, len(frames), step)])
    return np.concatenate([d[:1], d])


def _background_of(train: Sequence[CachedVideo]) -> tuple[np.ndarray | None, str]:
    """The background of the training frames (None without any), and what it is, in words."""
    n_train = sum(len(v) for v in train)
    if not n_train:
        return None, "none: no normal training frames, so no foreground score"
    bg, n = background(train)
    return bg, f"per-pixel median of {n} normal training frames" + (
        f" (evenly spaced over {n_train})" if n < n_train else "")


def trivial_scores(train: Sequence[CachedVideo], test: Mapping[str, CachedVideo],
                   bg: tuple[np.ndarray | None, str] | None = None) -> tuple[dict, str]:
    """Each trivial score of every ``test`` video (score -> video name -> per-frame scores), and what
    the background is (``bg``: the training frames' `_background_of`, when already taken); without
    training frames there is no foreground score."""
    frame_bg, note = bg or _background_of(train)
    scores: dict[str, dict[str, np.ndarray]] = {}
    if frame_bg is not None:
        scores["foreground"] = {name: foreground_scores(v.frames, frame_bg) for name, v in test.items()}
    scores["frame_difference"] = {name: frame_difference_scores(v.frames) for name, v in test.items()}
    return scores, note


def trivial_baselines(
    train: Sequence[CachedVideo],
    test: Mapping[str, CachedVideo],
    labels: Mapping[str, np.ndarray],
    kinds: Mapping[str, Sequence[str]] | None,
    options: ScoreOptions | None = None,
    masks: Mapping[str, np.ndarray] | None = None,
) -> dict:
    """metrics.json's ``trivial_baselines``: the metrics of each trivial score on the ``test`` videos
    (name -> video; the frames the model was scored on), after the model's post-processing ``options``.
    Each score gets the keys of the model's metrics except ``auroc_per_video``; with ``masks`` (the
    model was localised), also the ``localization`` of its per-pixel map on the videos in ``masks``."""
    frame_bg, note = _background_of(train)
    scores, _ = trivial_scores(train, test, (frame_bg, note))
    out: dict = {"foreground": None, "frame_difference": None}
    for what, values in scores.items():
        out[what] = compute_metrics(apply_options(values, options or ScoreOptions()), labels, kinds)
        out[what].pop("auroc_per_video", None)
        out[what].pop("conventions", None)  # the same as the model's, recorded once
    if masks:
        maps = {"frame_difference": lambda v: frame_difference_maps(v.frames)}
        if frame_bg is not None:
            maps["foreground"] = lambda v: foreground_maps(v.frames, frame_bg)
        for what, make in maps.items():
            out[what]["localization"] = localization_metrics(
                {name: make(test[name]) for name in masks}, masks, n_videos=len(test), kinds=kinds,
                what=f"per-pixel {what.replace('_', ' ')} (mean absolute difference over channels, 0..255)")
    out["background"] = note
    return out


def run_baselines(datamodule, result, options: ScoreOptions | None = None) -> dict | None:
    """The trivial baselines of a finished test (its `TestResult`), or None without ground truth.

    The background comes from the datamodule's train split, opened from the frame cache if this run
    did not train (vadlit-eval)."""
    if not result.labels:
        return None
    train = datamodule.train_split or datamodule._cached("train")  # the same cache the training used
    videos = {v.name: v for v in datamodule.test_split.videos}
    test = {name: videos[name] for name in result.scores}
    return trivial_baselines(train.videos, test, result.labels, result.kinds, options, result.masks)
