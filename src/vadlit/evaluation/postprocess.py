"""Optional post-processing of per-frame scores before computing metrics.

Both steps look at a whole test video (its min/max, its future frames), i.e. they use test-set
statistics a deployed detector would not have, so they are off by default and every metrics file
records whether they were used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from vadlit.errors import ConfigError


@dataclass
class ScoreOptions:
    """``normalize``: per-video min-max to [0, 1]; ``smooth_sigma``: Gaussian sigma in frames (0 = off)."""

    normalize: bool = False
    smooth_sigma: float = 0.0


def _check(options: ScoreOptions) -> None:
    sigma = options.smooth_sigma
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma < 0:
        raise ConfigError(
            f"eval.smooth_sigma={sigma!r} is invalid; expected a finite number >= 0 (0 disables smoothing)"
        )
    if not isinstance(options.normalize, (bool, np.bool_)):
        raise ConfigError(f"eval.normalize={options.normalize!r} is invalid; expected true or false")


def apply_options(scores: dict[str, np.ndarray], options: ScoreOptions) -> dict[str, np.ndarray]:
    """Smooth each video in time, then min-max normalise it; returns new float64 arrays."""
    _check(options)
    out: dict[str, np.ndarray] = {}
    for name, values in scores.items():
        s = np.array(values, dtype=np.float64).reshape(-1)
        if options.smooth_sigma > 0 and s.size > 0:
            s = gaussian_filter1d(s, sigma=float(options.smooth_sigma), mode="nearest")
        # Non-finite scores are left as they are, so that compute_metrics reports the video.
        if options.normalize and s.size > 0 and np.isfinite(s).all():
            lo, hi = s.min(), s.max()
            # A constant video has nothing to rank: call all of it "least anomalous".
            s = (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)
        out[name] = s
    return out


def options_record(options: ScoreOptions) -> dict:
    """What was applied, for metrics.json (so results with and without test statistics are never confused)."""
    _check(options)
    return {
        "per_video_normalization": bool(options.normalize),
        "smoothing_sigma": float(options.smooth_sigma),
        "uses_test_statistics": bool(options.normalize) or float(options.smooth_sigma) > 0,
        "order": "smooth, then normalise",
    }
