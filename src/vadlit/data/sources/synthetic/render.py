"""Rendering of the synthetic benchmark: actors composited over the background, the anomaly masks
(exactly the visible pixels of anomalous actors), and the finish (channels, sensor noise, uint8).
"""

from __future__ import annotations

import math

import numpy as np

from vadlit.data.sources.synthetic.actors import Actor
from vadlit.data.sources.synthetic.sprites import SS, Stamp

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _paste(frame: np.ndarray, stamp: Stamp, colours: np.ndarray, x: float, y: float,
           mask: np.ndarray | None = None) -> None:
    """Alpha-composite `stamp` into `frame` (H, W, 3) with its anchor pixel at (floor(x), floor(y))
    (the stamp holds the sub-pixel rest); clipped at the borders. Pixels at least half covered are
    added to `mask` when given."""
    cov = stamp.coverage
    _, hs, ws = cov.shape
    top = int(math.floor(y)) - stamp.anchor_row
    left = int(math.floor(x)) - stamp.anchor_col
    height, width = frame.shape[:2]
    y0, y1 = max(top, 0), min(top + hs, height)
    x0, x1 = max(left, 0), min(left + ws, width)
    if y0 >= y1 or x0 >= x1:
        return
    c = cov[:, y0 - top:y1 - top, x0 - left:x1 - left].astype(np.float32) * np.float32(1 / SS**2)
    total = c.sum(axis=0)
    region = frame[y0:y1, x0:x1]
    region *= (1.0 - total)[..., None]
    region += np.tensordot(c, colours, axes=(0, 0))
    if mask is not None:
        mask[y0:y1, x0:x1] |= total >= 0.5


def render(background: np.ndarray, walkers: list[Actor], events: list[Actor], n: int):
    """Draw every frame: walkers far-to-near (by feet y), then event actors on top, so the mask of
    an anomalous actor is exactly its visible pixels. Returns RGB frames and anomaly masks."""
    size = background.shape[0]
    frames = np.empty((n, size, size, 3), dtype=np.float32)
    frames[:] = background
    masks = np.zeros((n, size, size), dtype=bool)
    for t in range(n):
        present = sorted((a for a in walkers if a.alive[t]), key=lambda a: a.y[t])
        present += [a for a in events if a.alive[t] and not a.anomalous[t]]
        present += [a for a in events if a.alive[t] and a.anomalous[t]]
        for a in present:
            _paste(frames[t], a.stamp(t), a.colours, a.x[t], a.y[t], masks[t] if a.anomalous[t] else None)
    return frames, masks


def finish(rgb: np.ndarray, channels: int, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """Convert to the requested channels, add Gaussian sensor noise and quantise to uint8."""
    img = rgb if channels == 3 else (rgb @ _LUMA)[..., None]
    if noise_std > 0:
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
