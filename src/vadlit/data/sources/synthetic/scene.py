"""The scene of the synthetic benchmark: one static background per seed, the fixed camera's view.

A building wall with windows and a door, a paved plaza with street furniture and a brick walkway,
drawn once per seed and size (cached) from its own random stream, so every video of a seed shares
it; `Layout` tells the traffic where the walkway band is. Nothing here moves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

_BACKGROUND_STREAM = 1000  # rng key [seed, 1000] for the scene; videos use [seed, 0|1, index]


@dataclass(frozen=True)
class Layout:
    """Where things are in the fixed camera view (pixels): walkers' feet stay on the path band."""

    size: int
    wall_bottom: int
    path_top: float
    path_bottom: float


@functools.lru_cache(maxsize=4)
def static_background(seed: int, size: int) -> tuple[np.ndarray, Layout]:
    """The static RGB scene (H, W, 3) float32 and its layout, the same for every video of `seed`.

    A building wall with windows and a door at the top, a paved plaza strip with street furniture,
    and a walkway band of bricks where people walk, under a gentle lighting gradient.
    """
    rng = np.random.default_rng([seed, _BACKGROUND_STREAM])
    s = size
    wall_bottom = int(round(s * rng.uniform(0.22, 0.28)))
    path_top = wall_bottom + s * rng.uniform(0.14, 0.18)
    path_bottom = s * 0.96
    layout = Layout(s, wall_bottom, path_top, path_bottom)

    img = np.zeros((s, s, 3), dtype=np.float32)
    _draw_wall(img, rng, wall_bottom)
    _draw_plaza(img, rng, wall_bottom)
    _draw_path(img, rng, int(path_top - 0.04 * s), s)
    _draw_furniture(img, rng, wall_bottom, path_top)

    ramp = rng.uniform(-0.12, 0.12)
    xs = np.linspace(-0.5, 0.5, s, dtype=np.float32)
    light = 1.0 + ramp * xs[None, :] - 0.08 * (xs[:, None] ** 2 + xs[None, :] ** 2)
    img *= light[..., None]
    img = np.clip(img, 0, 255)
    img.flags.writeable = False
    return img, layout


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid, bilinearly upsampled (stains, wear)."""
    grid = rng.uniform(-1, 1, size=(cells + 1, cells + 1)).astype(np.float32)
    ys = np.linspace(0, cells, shape[0], dtype=np.float32)
    xs = np.linspace(0, cells, shape[1], dtype=np.float32)
    y0 = np.minimum(ys.astype(int), cells - 1)
    x0 = np.minimum(xs.astype(int), cells - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    g = grid
    top = g[y0][:, x0] * (1 - fx) + g[y0][:, x0 + 1] * fx
    bottom = g[y0 + 1][:, x0] * (1 - fx) + g[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _bricks(rng, height: int, width: int, brick_h: int, brick_w: int, colour, jitter: float, mortar):
    """A running-bond brick texture (height, width, 3): per-brick tint and 1 px mortar joints."""
    rows = np.arange(height)[:, None]
    cols = np.arange(width)[None, :]
    course = rows // brick_h
    shifted = cols + (course % 2) * (brick_w // 2)
    brick_id = course * (width // brick_w + 2) + shifted // brick_w
    tints = rng.uniform(1 - jitter, 1 + jitter, size=int(brick_id.max()) + 1).astype(np.float32)
    tex = np.asarray(colour, np.float32)[None, None, :] * tints[brick_id][..., None]
    joint = (rows % brick_h == 0) | (shifted % brick_w == 0)
    tex[joint] = mortar
    return tex


def _draw_wall(img: np.ndarray, rng: np.random.Generator, bottom: int) -> None:
    """Brick wall with windows and a door, so the top of the view is textured but static."""
    s = img.shape[1]
    colour = [(150, 72, 52), (196, 180, 148), (150, 150, 146), (120, 132, 150)][rng.integers(4)]
    brick_h = max(3, round(s / 16))
    mortar = np.asarray(colour, np.float32) * 0.6 + 60
    img[:bottom] = _bricks(rng, bottom, s, brick_h, int(brick_h * 2.5), colour, 0.08, mortar)
    # Windows: dark glass in a light frame with a cross bar.
    # Windows and a door on distinct slots along the wall.
    n_windows = int(rng.integers(1, 4))
    slots = rng.permutation(7)[:n_windows + 1]
    for slot in slots[1:]:
        cx = int(s * (slot + 0.5) / 7)
        half = max(2, round(s * 0.055))
        y0, y1 = int(bottom * 0.18), int(bottom * 0.7)
        img[y0:y1, max(cx - half, 0):cx + half] = (225, 225, 215)
        img[y0 + 1:y1 - 1, max(cx - half + 1, 0):cx + half - 1] = (55, 70, 95)
        img[(y0 + y1) // 2, max(cx - half, 0):cx + half] = (225, 225, 215)
        img[y0:y1, cx] = (225, 225, 215)
    # A door reaching the ground.
    cx = int(s * (slots[0] + 0.5) / 7)
    half = max(2, round(s * 0.05))
    top = int(bottom * 0.3)
    img[top:bottom, max(cx - half, 0):cx + half] = (95, 62, 38)
    img[top + 1:bottom, max(cx - half + 1, 0):cx + half - 1] = (70, 45, 28)
    # Skirting at the base of the wall.
    img[max(bottom - max(1, s // 64), 0):bottom] = (60, 60, 60)


def _draw_plaza(img: np.ndarray, rng: np.random.Generator, top: int) -> None:
    """Square paving tiles below the wall, with per-tile tone and low-frequency stains."""
    s = img.shape[1]
    colour = np.asarray([(172, 168, 158), (190, 176, 142), (150, 150, 150)][rng.integers(3)], np.float32)
    tile = max(4, round(s / 8))
    rows, cols = np.arange(s)[:, None], np.arange(s)[None, :]
    tile_id = (rows // tile) * (s // tile + 1) + cols // tile
    tints = rng.uniform(0.93, 1.07, size=int(tile_id.max()) + 1).astype(np.float32)
    tex = colour[None, None, :] * tints[tile_id][..., None]
    tex[(rows % tile == 0) | (cols % tile == 0)] *= 0.78
    tex *= (1 + 0.06 * _smooth_noise(rng, (s, s), 5))[..., None]
    img[top:] = tex[top:]


def _draw_path(img: np.ndarray, rng: np.random.Generator, top: int, bottom: int) -> None:
    """The walkway band: darker brick paving with kerb lines, where all normal walkers walk."""
    s = img.shape[1]
    colour = [(150, 142, 134), (165, 110, 96), (138, 140, 146)][rng.integers(3)]
    brick_h = max(3, round(s / 20))
    tex = _bricks(rng, bottom - top, s, brick_h, brick_h * 2, colour, 0.05, np.asarray(colour) * 0.82)
    tex *= (1 + 0.05 * _smooth_noise(rng, tex.shape[:2], 4))[..., None]
    img[top:bottom] = tex
    kerb = max(1, s // 64)
    img[top:top + kerb] = (205, 205, 200)


def _draw_furniture(img: np.ndarray, rng: np.random.Generator, wall_bottom: int, path_top: float) -> None:
    """Static street furniture on the plaza strip (bench, lamp post, bin, planter) at fixed spots."""
    s = img.shape[1]
    makers = [_draw_bench, _draw_lamp, _draw_bin, _draw_planter]
    n = int(rng.integers(2, 4))
    slots = rng.permutation(4)[:n]
    kinds = rng.permutation(4)[:n]
    for slot, kind in zip(slots, kinds):
        cx = int(s * (slot + rng.uniform(0.3, 0.7)) / 4)
        base = int(wall_bottom + (path_top - wall_bottom) * rng.uniform(0.45, 0.8))
        makers[int(kind)](img, cx, base, s)


def _fill(img: np.ndarray, y0: float, y1: float, x0: float, x1: float, colour) -> None:
    """Fill a clipped axis-aligned rectangle (pixel bounds, end exclusive), at least 1 px thick so
    thin parts survive small image sizes."""
    h, w = img.shape[:2]
    y0, x0 = int(round(y0)), int(round(x0))
    y1, x1 = max(int(round(y1)), y0 + 1), max(int(round(x1)), x0 + 1)
    y0, y1, x0, x1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if y0 < y1 and x0 < x1:
        img[y0:y1, x0:x1] = colour


def _draw_bench(img, cx, base, s):
    u = s / 64
    _fill(img, base - 5 * u, base, cx - 7 * u, cx - 5 * u, (50, 40, 30))
    _fill(img, base - 5 * u, base, cx + 5 * u, cx + 7 * u, (50, 40, 30))
    _fill(img, base - 6 * u, base - 4 * u, cx - 9 * u, cx + 9 * u, (120, 80, 45))
    _fill(img, base - 10 * u, base - 8 * u, cx - 9 * u, cx + 9 * u, (120, 80, 45))


def _draw_lamp(img, cx, base, s):
    u = s / 64
    _fill(img, base - 24 * u, base, cx - 0.5 * u, cx + 0.5 * u, (45, 50, 55))
    _fill(img, base - 27 * u, base - 24 * u, cx - 2 * u, cx + 2 * u, (235, 225, 170))
    _fill(img, base - 1.5 * u, base, cx - 1.5 * u, cx + 1.5 * u, (45, 50, 55))


def _draw_bin(img, cx, base, s):
    u = s / 64
    _fill(img, base - 6 * u, base, cx - 2 * u, cx + 2 * u, (40, 85, 55))
    _fill(img, base - 7 * u, base - 6 * u, cx - 2.5 * u, cx + 2.5 * u, (30, 60, 40))


def _draw_planter(img, cx, base, s):
    u = s / 64
    _fill(img, base - 4 * u, base, cx - 4 * u, cx + 4 * u, (125, 90, 60))
    yy, xx = np.mgrid[0:s, 0:s]
    bush = ((xx - cx) / (4.5 * u)) ** 2 + ((yy - (base - 6 * u)) / (3.5 * u)) ** 2 <= 1
    img[bush] = (60, 115, 50)
