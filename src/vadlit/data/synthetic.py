"""The embedded synthetic surveillance benchmark: a fixed camera over a walkway with pedestrians.

Real data sets need downloads and long training runs; this one is generated in seconds, is
deterministic, and knows its anomalies pixel by pixel. Each anomaly kind probes one ability of a
detector:

- ``object``: a vehicle drives along the walkway (appearance: visible in any single frame);
- ``running``: a pedestrian at 3-5x walking speed. The gait phase follows the distance travelled,
  so every single frame shows a normal walker's pose: only motion gives it away;
- ``loitering``: a pedestrian walks in and stops, frozen in a pose walkers pass through (motion).
  The stop is labelled only from its `LOITER_ONSET`-th frame on: until then it looks like walking
  in a short window, and a pause that short is normal;
- ``crossing``: a pedestrian walks across the walkway instead of along it (trajectory; while
  crossing they are seen from the front or back, which walkers along the path never show).

The background depends on ``seed`` only (one fixed camera per seed). Each video is generated from
``np.random.default_rng([seed, split_id, index])``, so videos are independent of each other and of
the order in which they are loaded. Everything is drawn in RGB in 0..255 floats and converted to
grey at the end, so both channel settings show the same scene.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from vadlit.data.source import NORMAL, Source, VideoData, VideoRecord
from vadlit.errors import ConfigError, DataError

GENERATOR_VERSION = 3
"""Bump whenever the generated pixels or labels change, so frame caches are rebuilt."""

KINDS = ("object", "running", "loitering", "crossing")
NORMAL_SPEED = 0.01
"""Base walking speed as a fraction of ``image_size`` per frame (0.64 px/frame at 64 px)."""

RUN_FACTOR = (3.0, 5.0)
"""Running speed range, in multiples of the base walking speed."""

LOITER_ONSET = 4
"""Frames a pedestrian stands still before the stop counts as loitering (labels, kinds and masks).

A walker covers 0.64 px/frame at 64 px, so in the first frames after stopping the person is where a
walker would still nearly be: only after ~4 frames (~2.5 px a walker would have covered) does the
stop show in a short causal window. Those first frames are labelled normal; a pause that short is
not loitering. The labelled part of a stop lasts at least 10 frames.
"""

MIN_IMAGE_SIZE = 32
MIN_FRAMES = 48
CONFIG_PREFIX = "data.source"
"""Where the constructor arguments live in the Hydra config (named in error messages)."""

_SPLIT_IDS = {"train": 0, "test": 1}
_BACKGROUND_STREAM = 1000  # rng key [seed, 1000] for the scene; videos use [seed, 0|1, index]
_SS = 4  # supersampling factor of sprite stamps (anti-aliased edges)
_PHASE_BINS = 16  # gait poses per cycle
_SUBPIX = 4  # sub-pixel positions per stamp and axis, so slow movers glide instead of jumping
_SHIFT = _SS // _SUBPIX  # subsamples per sub-pixel step: a sub-pixel offset shifts the subsample grid
_MARGIN = (_SUBPIX - 1) * _SHIFT  # extra subsample rows/columns drawn above and left of a stamp
assert _SS % _SUBPIX == 0
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

# Views of a person: side view while walking horizontally, front/back while walking down/up.
_SIDE, _FRONT, _BACK = 0, 1, 2
# Person parts, in colour order; the "far" limbs are a shade darker so the legs read as two.
_SKIN, _HAIR, _SHIRT, _SHIRT_FAR, _TROUSERS, _TROUSERS_FAR, _SHOES = range(7)
_PERSON_PARTS = 7
# Vehicle parts.
_BODY, _TRIM, _WINDOW, _TYRE, _HUB, _LIGHT = range(6)
_VEHICLE_PARTS = 6


# ----------------------------------------------------------------------------------------------
# The public source


class SyntheticSource(Source):
    """Deterministic synthetic pedestrian videos with frame labels, kinds and pixel masks.

    Training videos show normal walkers only; each test video adds 1-2 anomalous events (about one
    video in three holds two) whose kinds cycle through `kinds` across the test set (see
    `_event_kinds`): every kind appears once n_test >= len(kinds) (with fewer test videos, second
    events fill the gaps where time allows), and when n_test is a multiple of len(kinds) the kinds
    have equally many events, give or take one (the default 24 test videos: 8 of each of the 4).
    """

    name = "synthetic"

    def __init__(
        self,
        seed: int = 0,
        image_size: int = 64,
        channels: int = 1,
        n_train: int = 8,
        n_test: int = 24,
        frames: int = 120,
        kinds: Sequence[str] | str = KINDS,
        max_people: int = 4,
        noise_std: float = 2.0,
    ) -> None:
        self.config = _Config(
            seed=_check_int("seed", seed, 0),
            image_size=_check_int("image_size", image_size, MIN_IMAGE_SIZE,
                                  "so that a pedestrian sprite is a few pixels wide"),
            channels=_check_channels(channels),
            n_train=_check_int("n_train", n_train, 1),
            n_test=_check_int("n_test", n_test, 1),
            frames=_check_int("frames", frames, MIN_FRAMES,
                              "so that a test video holds a normal stretch and an anomalous event"),
            kinds=_check_kinds(kinds),
            max_people=_check_int("max_people", max_people, 1),
            noise_std=_check_float("noise_std", noise_std),
        )

    def videos(self, split: str) -> list[VideoRecord]:
        """The videos of `split`, named ``train_001``... / ``test_001``...; each loads lazily."""
        if split not in _SPLIT_IDS:
            raise DataError(f"synthetic data has splits {sorted(_SPLIT_IDS)}, got split {split!r}")
        count = self.config.n_train if split == "train" else self.config.n_test
        return [
            VideoRecord(f"{split}_{i + 1:03d}", functools.partial(_generate_video, self.config, split, i))
            for i in range(count)
        ]

    def cache_key(self) -> dict[str, Any]:
        """All constructor arguments plus the generator version: together they fix every pixel."""
        key = {name: getattr(self.config, name) for name in self.config.__dataclass_fields__}
        key["kinds"] = list(self.config.kinds)
        key["generator_version"] = GENERATOR_VERSION
        return key


@dataclass(frozen=True)
class _Config:
    """The validated constructor arguments (frozen and picklable, so loaders can cross processes)."""

    seed: int
    image_size: int
    channels: int
    n_train: int
    n_test: int
    frames: int
    kinds: tuple[str, ...]
    max_people: int
    noise_std: float


def _generate_video(config: _Config, split: str, index: int, transform=None) -> VideoData:
    """Video `index` of `split`: normal traffic, plus planned anomalous events on test videos.

    Frames are drawn at the configured size already; `transform` (the cache's) is applied as given.
    """
    rng, background, walkers, events = _scene(config, split, index)
    rgb, masks = _render(background, walkers, events, config.frames)
    frames = _finish(rgb, config.channels, config.noise_std, rng)
    if transform is not None:
        frames = transform(frames)
    if split == "train":
        return VideoData(frames)
    labels = masks.any(axis=(1, 2)).astype(np.uint8)
    kinds = [NORMAL] * config.frames
    for actor in events:
        for t in np.flatnonzero(actor.anomalous & labels.astype(bool)):
            kinds[t] = actor.kind
    return VideoData(frames, labels, kinds, masks)


def _scene(config: _Config, split: str, index: int):
    """The video's random stream (after planning), background, normal walkers and event actors."""
    rng = np.random.default_rng([config.seed, _SPLIT_IDS[split], index])
    background, layout = _background(config.seed, config.image_size)
    walkers = _normal_traffic(rng, config, layout)
    events = _plan_events(rng, config, layout, index, walkers) if split == "test" else []
    return rng, background, walkers, events


# ----------------------------------------------------------------------------------------------
# Argument checks (the messages name the config key, the value and what was expected)


def _check_int(key: str, value: Any, minimum: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        reason = f" ({why})" if why else ""
        raise ConfigError(f"{CONFIG_PREFIX}.{key}={value!r}: expected an integer >= {minimum}{reason}")
    return int(value)


def _check_float(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (0 <= value < math.inf):
        raise ConfigError(f"{CONFIG_PREFIX}.{key}={value!r}: expected a finite number >= 0")
    return float(value)


def _check_channels(value: Any) -> int:
    if isinstance(value, bool) or value not in (1, 3):
        raise ConfigError(f"{CONFIG_PREFIX}.channels={value!r}: expected 1 (grey) or 3 (RGB)")
    return int(value)


def _check_kinds(value: Any) -> tuple[str, ...]:
    kinds = [value] if isinstance(value, str) else list(value)  # a ListConfig also becomes a list
    if not kinds:
        raise ConfigError(f"{CONFIG_PREFIX}.kinds=[]: expected at least one of {list(KINDS)}")
    for kind in kinds:
        if kind not in KINDS:
            raise ConfigError(f"{CONFIG_PREFIX}.kinds contains {kind!r}: expected only values from {list(KINDS)}")
    return tuple(str(k) for k in kinds)


# ----------------------------------------------------------------------------------------------
# The scene: one static background per seed


@dataclass(frozen=True)
class _Layout:
    """Where things are in the fixed camera view (pixels): walkers' feet stay on the path band."""

    size: int
    wall_bottom: int
    path_top: float
    path_bottom: float


@functools.lru_cache(maxsize=4)
def _background(seed: int, size: int) -> tuple[np.ndarray, _Layout]:
    """The static RGB scene (H, W, 3) float32 and its layout, the same for every video of `seed`.

    A building wall with windows and a door at the top, a paved plaza strip with street furniture,
    and a walkway band of bricks where people walk, under a gentle lighting gradient.
    """
    rng = np.random.default_rng([seed, _BACKGROUND_STREAM])
    s = size
    wall_bottom = int(round(s * rng.uniform(0.22, 0.28)))
    path_top = wall_bottom + s * rng.uniform(0.14, 0.18)
    path_bottom = s * 0.96
    layout = _Layout(s, wall_bottom, path_top, path_bottom)

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


# ----------------------------------------------------------------------------------------------
# Sprite stamps: anti-aliased part coverage per pose, cached and pasted


@dataclass(frozen=True)
class _Stamp:
    """Per-part coverage (P, h, w) as counts of covered subsamples out of _SS**2 (uint8 keeps the
    stamp cache small; parts are exclusive, so they sum to <= _SS**2) and the offset from the
    stamp's top-left corner to the actor's anchor pixel (feet / wheels centre), the pixel that
    holds the actor's (x, y) position."""

    coverage: np.ndarray
    anchor_row: int
    anchor_col: int


def _grid(hs: int, ws: int, ax: float, ay: float) -> tuple[np.ndarray, np.ndarray]:
    """Supersampled sample coordinates (x, y) in pixels relative to the anchor point, for an
    (hs, ws) pixel stamp plus _MARGIN subsamples above and to the left (see `_coverage`)."""
    v = (np.arange(-_MARGIN, hs * _SS, dtype=np.float32) + 0.5) / _SS - ay
    u = (np.arange(-_MARGIN, ws * _SS, dtype=np.float32) + 0.5) / _SS - ax
    return u[None, :], v[:, None]


def _coverage(labels: np.ndarray, parts: int, hs: int, ws: int, subpix: int, subpix_y: int) -> np.ndarray:
    """Box-filter the supersampled part-label image into per-part pixel coverage counts (P, hs, ws),
    with the shape moved `subpix` and `subpix_y` sub-pixel steps right and down.

    A sub-pixel step is a whole number of subsamples, so moving the shape is cropping the label
    image drawn with a margin (`_grid`): one drawing serves all _SUBPIX**2 offsets, the same
    samples as drawing each offset anew.
    """
    r0, c0 = _MARGIN - subpix_y * _SHIFT, _MARGIN - subpix * _SHIFT
    lab = labels[r0:r0 + hs * _SS, c0:c0 + ws * _SS]
    pixel = (np.arange(hs * _SS)[:, None] // _SS) * ws + np.arange(ws * _SS)[None, :] // _SS
    drawn = lab >= 0
    counts = np.bincount(lab[drawn].astype(np.intp) * (hs * ws) + pixel[drawn], minlength=parts * hs * ws)
    cov = counts.reshape(parts, hs, ws).astype(np.uint8)
    cov.flags.writeable = False
    return cov


def _capsule(u, v, x0, y0, x1, y1, r):
    """Points within `r` of the segment (x0, y0)-(x1, y1): a limb."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / max(dx * dx + dy * dy, 1e-9), 0, 1)
    return (u - x0 - t * dx) ** 2 + (v - y0 - t * dy) ** 2 <= r * r


def _rounded_box(u, v, cx, cy, a, b):
    """A superellipse: a box with rounded corners (torsos, vehicle bodies)."""
    return (np.abs((u - cx) / a) ** 4 + np.abs((v - cy) / b) ** 4) <= 1


def _ellipse(u, v, cx, cy, a, b):
    return ((u - cx) / a) ** 2 + ((v - cy) / b) ** 2 <= 1


def _person_size(height: int) -> tuple[int, int]:
    """Stamp rows and columns for a pedestrian `height` px tall (a spare row below the anchor row:
    the shoes reach under the feet line, which sub-pixel offsets move down by up to 3/4 px)."""
    return height + 3, int(math.ceil(0.7 * height)) + 2


@functools.lru_cache(maxsize=2048)  # stamps are cheap to crop again from a cached shape
def _person_stamp(height: int, phase_bin: int, view: int, facing: int, subpix: int, subpix_y: int) -> _Stamp:
    """A pedestrian's stamp, its feet `subpix` and `subpix_y` quarters of a pixel right of and
    below the anchor pixel's top-left corner (see `_person_shape`)."""
    hs, ws = _person_size(height)
    labels = _person_shape(height, phase_bin, view, facing)
    return _Stamp(_coverage(labels, _PERSON_PARTS, hs, ws, subpix, subpix_y), height + 1, ws // 2)


@functools.lru_cache(maxsize=512)
def _person_shape(height: int, phase_bin: int, view: int, facing: int) -> np.ndarray:
    """The supersampled part labels (-1: empty) of a pedestrian `height` px tall at gait phase
    `phase_bin`/_PHASE_BINS, with the margin `_coverage` crops sub-pixel offsets from.

    Side view: the legs swing by +-A*sin(phase) around the hip, the arms swing opposite, and the
    hip drops as the legs spread so the feet stay on the ground (a natural bob). Front/back view:
    the legs lift alternately. The pose depends only on the phase, never on speed, which is what
    makes a runner indistinguishable from a walker in any single frame.
    """
    h = float(height)
    hs, ws = _person_size(height)
    u, v = _grid(hs, ws, ws // 2, height + 1)
    u = u * facing  # draw facing +x, mirror for walkers going left
    phi = 2 * math.pi * phase_bin / _PHASE_BINS
    lab = np.full((v.shape[0], u.shape[1]), -1, dtype=np.int8)

    def paint(mask, part):
        lab[np.broadcast_to(mask, lab.shape)] = part

    ankle_y = -0.035 * h
    leg_len, leg_r = 0.46 * h, 0.045 * h
    if view == _SIDE:
        swing = 0.42 * math.sin(phi)
        hip_y = ankle_y - leg_len * math.cos(swing)
        feet = [(leg_len * math.sin(-swing), _TROUSERS_FAR), (leg_len * math.sin(swing), _TROUSERS)]
        shoulder_y = hip_y - 0.28 * h
        arm_len, arm_r = 0.32 * h, 0.032 * h
        far_x, far_y = arm_len * math.sin(0.7 * swing), shoulder_y + arm_len * math.cos(0.7 * swing)
        paint(_capsule(u, v, 0, shoulder_y, far_x, far_y, arm_r), _SHIRT_FAR)
        for foot_x, part in feet:
            paint(_capsule(u, v, 0, hip_y, foot_x, ankle_y, leg_r), part)
            paint(_ellipse(u, v, foot_x + 0.035 * h, ankle_y + 0.012 * h, 0.065 * h, 0.028 * h), _SHOES)
        paint(_rounded_box(u, v, 0, hip_y - 0.135 * h, 0.085 * h, 0.165 * h), _SHIRT)
        head_y = shoulder_y - 0.11 * h
        paint(_capsule(u, v, 0, shoulder_y, 0, head_y, 0.03 * h), _SKIN)
        head = _ellipse(u, v, 0.008 * h, head_y, 0.078 * h, 0.085 * h)
        paint(head, _SKIN)
        paint(head & ((v < head_y - 0.025 * h) | (u < -0.03 * h)), _HAIR)  # top and back of the head
        near_arm = -0.7 * swing
        hand_x, hand_y = arm_len * math.sin(near_arm), shoulder_y + arm_len * math.cos(near_arm)
        paint(_capsule(u, v, 0, shoulder_y, hand_x, hand_y, arm_r), _SHIRT)
        paint(_ellipse(u, v, hand_x, hand_y, 0.03 * h, 0.03 * h), _SKIN)
    else:
        lifts = [0.07 * h * max(0.0, math.sin(phi)), 0.07 * h * max(0.0, -math.sin(phi))]
        hip_y = ankle_y - leg_len
        shoulder_y = hip_y - 0.28 * h
        for side, lift in zip((-1, 1), lifts):
            paint(_capsule(u, v, side * 0.055 * h, hip_y, side * 0.055 * h, ankle_y - lift, leg_r), _TROUSERS)
            paint(_ellipse(u, v, side * 0.06 * h, ankle_y - lift + 0.01 * h, 0.04 * h, 0.03 * h), _SHOES)
            hand_y = shoulder_y + 0.31 * h - 0.3 * lift
            paint(_capsule(u, v, side * 0.13 * h, shoulder_y + 0.02 * h, side * 0.145 * h, hand_y, 0.032 * h), _SHIRT_FAR)
            paint(_ellipse(u, v, side * 0.145 * h, hand_y, 0.03 * h, 0.03 * h), _SKIN)
        paint(_rounded_box(u, v, 0, hip_y - 0.135 * h, 0.12 * h, 0.165 * h), _SHIRT)
        head_y = shoulder_y - 0.11 * h
        paint(_capsule(u, v, 0, shoulder_y, 0, head_y, 0.03 * h), _SKIN)
        head = _ellipse(u, v, 0, head_y, 0.08 * h, 0.085 * h)
        paint(head, _SKIN)
        hair_line = head_y - 0.04 * h if view == _FRONT else head_y + 0.05 * h
        paint(head & (v < hair_line), _HAIR)
    lab.flags.writeable = False
    return lab


def _vehicle_size(length: int, style: int) -> tuple[int, int]:
    """Stamp rows and columns for a vehicle `length` px long."""
    return int(math.ceil(length * (0.42 if style == 0 else 0.55))) + 2, length + 2


@functools.lru_cache(maxsize=512)
def _vehicle_stamp(length: int, style: int, facing: int, subpix: int, subpix_y: int) -> _Stamp:
    """A vehicle's stamp, its anchor (wheels' ground line, centre) `subpix` and `subpix_y` quarters
    of a pixel right of and below the anchor pixel's top-left corner (see `_vehicle_shape`)."""
    hs, ws = _vehicle_size(length, style)
    labels = _vehicle_shape(length, style, facing)
    return _Stamp(_coverage(labels, _VEHICLE_PARTS, hs, ws, subpix, subpix_y), hs - 1, ws // 2)


@functools.lru_cache(maxsize=64)
def _vehicle_shape(length: int, style: int, facing: int) -> np.ndarray:
    """The supersampled part labels (-1: empty) of a side view of a car (style 0) or a van
    (style 1): a box body with windows and wheels, with the margin `_coverage` crops offsets from."""
    L = float(length)
    H = L * (0.42 if style == 0 else 0.55)
    hs, ws = _vehicle_size(length, style)
    u, v = _grid(hs, ws, ws // 2, hs - 1)
    u = u * facing / L + 0.5  # 0 = rear, 1 = front
    v = v / H + 1.0  # 0 = roof, 1 = ground
    lab = np.full((v.shape[0], u.shape[1]), -1, dtype=np.int8)
    wheel_r = 0.19 if style == 0 else 0.15  # in units of H
    aspect = H / L

    def paint(mask, part):
        lab[np.broadcast_to(mask, lab.shape)] = part

    if style == 0:
        paint(_rounded_box(u, v, 0.5, 0.62, 0.48, 0.2), _BODY)
        # Cabin: a trapezoid narrowing towards the roof.
        t = np.clip((v - 0.08) / 0.36, 0, 1)
        cabin = (v >= 0.08) & (v <= 0.44) & (u >= 0.3 - 0.1 * t) & (u <= 0.66 + 0.12 * t)
        paint(cabin, _BODY)
        glass = (v >= 0.15) & (v <= 0.42) & (u >= 0.33 - 0.08 * t) & (u <= 0.63 + 0.1 * t) & (np.abs(u - 0.5) > 0.02)
        paint(glass, _WINDOW)
        paint((v >= 0.7) & (v <= 0.78) & (u > 0.03) & (u < 0.97), _TRIM)
        paint((u >= 0.94) & (v >= 0.5) & (v <= 0.6), _LIGHT)
    else:
        paint(_rounded_box(u, v, 0.5, 0.48, 0.48, 0.38), _BODY)
        paint((u >= 0.76) & (u <= 0.93) & (v >= 0.2) & (v <= 0.45), _WINDOW)
        paint((u >= 0.12) & (u <= 0.68) & (v >= 0.2) & (v <= 0.4) & (np.abs(u - 0.4) > 0.02), _WINDOW)
        paint((v >= 0.74) & (v <= 0.8) & (u > 0.03) & (u < 0.97), _TRIM)
        paint((u >= 0.95) & (v >= 0.55) & (v <= 0.65), _LIGHT)
    for wx in (0.2, 0.8):
        r_u = wheel_r * aspect  # the wheel radius expressed along the length axis
        wheel = ((u - wx) / r_u) ** 2 + ((v - (1 - wheel_r)) / wheel_r) ** 2
        paint(wheel <= 1, _TYRE)
        paint(wheel <= 0.2, _HUB)
    lab.flags.writeable = False
    return lab


def _person_colours(rng: np.random.Generator) -> np.ndarray:
    """Clothing and skin colours (P, 3): varied shirts, mostly dark trousers, plausible skin/hair."""
    skin = [(224, 172, 120), (198, 134, 86), (141, 95, 60), (250, 214, 175), (235, 190, 140)]
    hair = [(30, 22, 15), (65, 42, 25), (110, 85, 50), (20, 20, 22), (160, 130, 80), (120, 120, 120)]
    shirts = [(200, 40, 40), (40, 70, 170), (40, 130, 70), (235, 235, 230), (90, 90, 95), (25, 25, 30),
              (220, 190, 50), (30, 40, 80), (170, 90, 150), (230, 120, 40), (100, 170, 210)]
    trousers = [(40, 55, 90), (30, 30, 32), (95, 85, 70), (70, 70, 72), (25, 35, 60), (150, 140, 115)]
    shirt = np.asarray(shirts[rng.integers(len(shirts))], np.float32) * rng.uniform(0.85, 1.1)
    legs = np.asarray(trousers[rng.integers(len(trousers))], np.float32) * rng.uniform(0.85, 1.1)
    colours = np.zeros((_PERSON_PARTS, 3), np.float32)
    colours[_SKIN] = skin[rng.integers(len(skin))]
    colours[_HAIR] = hair[rng.integers(len(hair))]
    colours[_SHIRT], colours[_SHIRT_FAR] = shirt, shirt * 0.78
    colours[_TROUSERS], colours[_TROUSERS_FAR] = legs, legs * 0.75
    colours[_SHOES] = (28, 24, 22)
    return np.clip(colours, 0, 255)


def _vehicle_colours(rng: np.random.Generator) -> np.ndarray:
    """Colours (P, 3) of a vehicle: a common paint, dark tyres and trim, bluish glass."""
    paints = [(200, 30, 30), (30, 60, 160), (240, 240, 235), (230, 190, 30), (40, 120, 60),
              (170, 175, 180), (20, 20, 25)]
    colours = np.zeros((_VEHICLE_PARTS, 3), np.float32)
    colours[_BODY] = paints[rng.integers(len(paints))]
    colours[_TRIM] = (45, 45, 48)
    colours[_WINDOW] = (120, 160, 190)
    colours[_TYRE] = (22, 22, 22)
    colours[_HUB] = (165, 165, 170)
    colours[_LIGHT] = (255, 235, 140)
    return colours


# ----------------------------------------------------------------------------------------------
# Actors and trajectories


@dataclass
class _Actor:
    """One sprite over the video: per-frame anchor position, pose and state (arrays of length N).

    x, y: anchor in pixels (feet centre of a person, bottom centre of a vehicle).
    alive: the actor exists in that frame (it may still be off-screen at its entry/exit).
    anomalous: the actor is in its anomalous state (running, stopped, crossing, driving).
    """

    body: str  # "person" or "vehicle"
    size: int  # person height / vehicle length, px
    style: int  # vehicle style (0 car, 1 van); 0 for people
    colours: np.ndarray
    x: np.ndarray
    y: np.ndarray
    phase: np.ndarray
    view: np.ndarray
    facing: np.ndarray
    alive: np.ndarray
    anomalous: np.ndarray
    kind: str = NORMAL

    def stamp(self, t: int) -> _Stamp:
        """The sprite at frame t; the fractional parts of x and y pick its sub-pixel offsets, and
        `_paste` places it at (floor(x), floor(y))."""
        x, y = float(self.x[t]), float(self.y[t])
        subpix = min(int((x - math.floor(x)) * _SUBPIX), _SUBPIX - 1)
        subpix_y = min(int((y - math.floor(y)) * _SUBPIX), _SUBPIX - 1)
        if self.body == "vehicle":
            return _vehicle_stamp(self.size, self.style, int(self.facing[t]), subpix, subpix_y)
        phase_bin = int(round(self.phase[t] * _PHASE_BINS)) % _PHASE_BINS
        return _person_stamp(self.size, phase_bin, int(self.view[t]), int(self.facing[t]), subpix, subpix_y)


@dataclass
class _Segment:
    """A stretch of constant velocity (px/frame) lasting `frames` frames."""

    frames: int
    vx: float
    vy: float
    anomalous: bool = False


def _actor(body: str, size: int, colours: np.ndarray, n: int, start: int, x0: float, y0: float,
           segments: list[_Segment], stride: float = 1.0, phase0: float = 0.0, style: int = 0,
           kind: str = NORMAL) -> _Actor:
    """Integrate the segments from (x0, y0) at frame `start` (may be negative) into per-frame arrays.

    The gait phase advances by distance travelled / `stride` (cycles), so the pose sequence of a
    pedestrian is the same at any speed and freezes when they stop.
    """
    vel = np.concatenate([np.tile([[s.vx, s.vy]], (s.frames, 1)) for s in segments]).astype(np.float64)
    flags = np.concatenate([np.full(s.frames, s.anomalous) for s in segments])
    steps = np.concatenate([[[0.0, 0.0]], vel[:-1]])
    pos = np.array([x0, y0]) + np.cumsum(steps, axis=0)
    dist = np.cumsum(np.hypot(steps[:, 0], steps[:, 1]))
    # View and facing follow the direction of motion; a stopped actor keeps its last ones.
    view = np.zeros(len(vel), np.int8)
    facing = np.ones(len(vel), np.int8)
    last_view, last_facing = _SIDE, 1
    for i, (vx, vy) in enumerate(vel):
        if vx != 0:
            last_view, last_facing = _SIDE, int(np.sign(vx))
        elif vy != 0:
            last_view = _FRONT if vy > 0 else _BACK
        view[i], facing[i] = last_view, last_facing

    times = np.arange(start, start + len(vel))
    keep = (times >= 0) & (times < n)
    idx = times[keep]

    def spread(values, fill):
        out = np.full(n, fill, dtype=np.asarray(values).dtype)
        out[idx] = values[keep]
        return out

    return _Actor(
        body=body, size=size, style=style, colours=colours,
        x=spread(pos[:, 0], 0.0), y=spread(pos[:, 1], 0.0),
        phase=spread(phase0 + dist / stride, 0.0), view=spread(view, _SIDE), facing=spread(facing, 1),
        alive=spread(np.ones(len(vel), bool), False), anomalous=spread(flags, False), kind=kind,
    )


@dataclass
class _Person:
    """A pedestrian's fixed traits: height, speed, gait stride, colours and stamp half-width."""

    height: int
    speed: float
    colours: np.ndarray
    stride: float = field(init=False)
    half_width: int = field(init=False)

    def __post_init__(self):
        self.stride = 0.8 * self.height  # px per gait cycle (two steps)
        self.half_width = (int(math.ceil(0.7 * self.height)) + 2) // 2 + 1


def _person(rng: np.random.Generator, size: int, speed_factor: float = 1.0) -> _Person:
    """A new pedestrian: 1/4..1/3 of the image tall, walking at about NORMAL_SPEED."""
    height = int(round(size * rng.uniform(0.25, 0.32)))
    speed = size * NORMAL_SPEED * rng.uniform(0.85, 1.15) * speed_factor
    return _Person(height, speed, _person_colours(rng))


def _entry_x(size: int, half_width: float, direction: int) -> float:
    """The anchor x at which a sprite entering from the edge first shows a sliver of itself."""
    return -half_width + 1.0 if direction > 0 else size + half_width - 1.0


def _walk_through(rng, p: _Person, layout: _Layout, n: int, start: int, x0: float | None = None,
                  direction: int | None = None, kind: str = NORMAL, anomalous: bool = False) -> _Actor:
    """A pedestrian walking straight along the path from x0 (default: entering at an edge) until
    fully out of view on the other side."""
    s = layout.size
    direction = direction if direction is not None else (1 if rng.random() < 0.5 else -1)
    x0 = _entry_x(s, p.half_width, direction) if x0 is None else x0
    x_exit = s + p.half_width if direction > 0 else -p.half_width
    frames = int(math.ceil(abs(x_exit - x0) / p.speed)) + 1
    y0 = rng.uniform(layout.path_top, layout.path_bottom)
    return _actor("person", p.height, p.colours, n, start, x0, y0,
                  [_Segment(frames, direction * p.speed, 0.0, anomalous)], p.stride,
                  rng.uniform(0, 1), kind=kind)


def _visible_span(actor: _Actor) -> tuple[int, int]:
    """First frame and one past the last frame in which `actor` exists."""
    alive = np.flatnonzero(actor.alive)
    return (int(alive[0]), int(alive[-1]) + 1) if len(alive) else (0, 0)


def _normal_traffic(rng: np.random.Generator, config: _Config, layout: _Layout) -> list[_Actor]:
    """Pedestrians walking along the path: 1..max_people at any time, entering and leaving.

    Some are mid-way at the first frame; then newcomers enter at random times (one at once when
    the path would otherwise be empty, none while max_people are present).
    """
    n, s = config.frames, config.image_size
    actors: list[_Actor] = []
    for _ in range(int(rng.integers(1, config.max_people + 1))):
        p = _person(rng, s)
        actors.append(_walk_through(rng, p, layout, n, 0, x0=rng.uniform(0.05, 0.95) * s))
    lifetime = 1.15 / NORMAL_SPEED  # frames a walker needs to cross the view
    rate = 0.5 * (1 + config.max_people) / lifetime
    spans = [_visible_span(a) for a in actors]
    for t in range(1, n):
        present = sum(a <= t < b for a, b in spans)
        if present < config.max_people and (present == 0 or rng.random() < rate):
            actors.append(_walk_through(rng, _person(rng, s), layout, n, t))
            spans.append(_visible_span(actors[-1]))
    return actors


# ----------------------------------------------------------------------------------------------
# Anomalous events


@dataclass
class _Event:
    """A planned anomalous event: its kind, how many frames its anomalous state lasts (for
    loitering: the whole stop, its LOITER_ONSET unlabelled first frames included), and the traits
    drawn for it (so the duration is known before the timeline is laid out)."""

    kind: str
    duration: int
    person: _Person | None = None
    speed: float = 0.0
    length: int = 0


def _draw_event(rng: np.random.Generator, kind: str, config: _Config, layout: _Layout) -> _Event:
    """Draw an event's traits; loitering/crossing/object last 15-35% of the video (at least 10
    frames; a loiterer stands still LOITER_ONSET frames longer), a runner as long as it takes to
    cross the view (its speed is fixed by the 3-5x rule)."""
    n, s = config.frames, config.image_size
    planned = max(10, int(round(n * rng.uniform(0.15, 0.35))))
    if kind == "running":
        p = _person(rng, s)
        p.speed = s * NORMAL_SPEED * rng.uniform(*RUN_FACTOR)
        return _Event(kind, int(math.ceil((s + 2 * p.half_width) / p.speed)) + 1, person=p)
    if kind == "object":
        length = int(round(s * rng.uniform(0.32, 0.4)))
        travel = s + length + 2
        speed = float(np.clip(travel / planned, 1.5 * s * NORMAL_SPEED, 8 * s * NORMAL_SPEED))
        return _Event(kind, int(math.ceil(travel / speed)) + 1, speed=speed, length=length)
    p = _person(rng, s)
    if kind == "loitering":
        return _Event(kind, LOITER_ONSET + planned, person=p)
    if kind == "crossing":  # at walking speed: long enough to cover 12% of the view, short
        # enough to stay within the path band
        planned = max(planned, int(math.ceil(0.12 * s / p.speed)))
        planned = min(planned, int(0.9 * (layout.path_bottom - layout.path_top) / p.speed))
    return _Event(kind, planned, person=p)


def _event_kinds(index: int, n_test: int, kinds: Sequence[str]) -> list[str]:
    """The kinds of the 1-2 events of test video `index`, a pure function of its place in the set.

    Video i's first event has kind kinds[i % K], so every kind has a video once n_test >= K. The
    videos of every third block of K consecutive videos (i // K % 3 == 2) hold a second event, of
    kind kinds[(i + o) % K], its offset o rotating through 1..K-1 from one such block to the next:
    each complete block adds one event of every kind (24 test videos, 4 kinds: 8 events each) and
    varies which kinds share a video. With n_test < K, the second events are the kinds no first
    event shows.
    """
    k = len(kinds)
    planned = [kinds[index % k]]
    block = index // k
    if index + n_test < k:
        planned.append(kinds[index + n_test])
    elif block % 3 == 2:
        offset = 1 + (block // 3) % (k - 1) if k > 1 else 0
        planned.append(kinds[(index + offset) % k])
    return planned


def _plan_events(rng: np.random.Generator, config: _Config, layout: _Layout, index: int,
                 walkers: list[_Actor]) -> list[_Actor]:
    """The planned events (`_event_kinds`) laid out after a normal stretch, apart from each other.

    When two events do not fit with the drawn normal lead-in and gap, those are squeezed; a second
    event that still does not fit (a short video) is left out.
    """
    n = config.frames
    events = [_draw_event(rng, kind, config, layout) for kind in _event_kinds(index, config.n_test, config.kinds)]
    lead = max(3, int(round(n * rng.uniform(0.08, 0.2))))
    gap = max(2, int(round(n * rng.uniform(0.05, 0.12))))
    tail = 2
    if len(events) == 2 and lead + events[0].duration + gap + events[1].duration + tail > n:
        lead, gap = min(lead, max(3, int(round(n * 0.08)))), 2
        if lead + events[0].duration + gap + events[1].duration + tail > n:
            events = events[:1]
    # Spread the spare frames randomly before and between the events.
    slack = n - (lead + sum(e.duration for e in events) + gap * (len(events) - 1) + tail)
    if slack < 0:  # a slow runner in a short video: shorten the normal lead-in
        lead, slack = max(1, lead + slack), 0
    before = int(rng.integers(0, slack // 2 + 1))
    starts = [lead + before]
    if len(events) == 2:
        starts.append(starts[0] + events[0].duration + gap + int(rng.integers(0, slack - before + 1)))
    return [_event_actor(rng, e, start, config, layout, walkers) for e, start in zip(events, starts)]


def _take_walker(walkers: list[_Actor], t: int, size: int) -> _Actor | None:
    """Remove and return the normal walker nearest the centre of the view at frame t (None if none
    is well inside it): that pedestrian is the one who turns anomalous."""
    inside = [a for a in walkers if a.body == "person" and a.alive[t] and 0.15 * size <= a.x[t] <= 0.85 * size]
    if not inside:
        return None
    chosen = min(inside, key=lambda a: abs(a.x[t] - size / 2))
    del walkers[next(i for i, a in enumerate(walkers) if a is chosen)]  # by identity: actors hold arrays
    return chosen


def _turn_anomalous(rng: np.random.Generator, walker: _Actor, event: _Event, t: int, config: _Config,
                    layout: _Layout, walkers: list[_Actor]) -> _Actor:
    """A normal walker who, from frame t on, runs, stops, or turns across the path.

    The event then adds no person to the scene, so how many people a frame shows says nothing about
    its label: a per-frame model cannot see `running` or `loitering`. When a runner has left, a new
    walker enters, as the normal traffic would have kept someone on the path.
    """
    n, s = config.frames, config.image_size
    first = int(np.flatnonzero(walker.alive)[0])
    vx = float(walker.x[first + 1] - walker.x[first])
    direction, speed = (1 if vx > 0 else -1), abs(vx)
    stride, half_width = 0.8 * walker.size, (int(math.ceil(0.7 * walker.size)) + 2) // 2 + 1
    x_t, y_t = float(walker.x[t]), float(walker.y[t])
    x_exit = s + half_width if direction > 0 else -half_width
    segments = [_Segment(t - first, vx, 0.0)] if t > first else []
    if event.kind == "running":
        run = event.person.speed
        segments.append(_Segment(int(math.ceil(abs(x_exit - x_t) / run)) + 1, direction * run, 0.0, True))
    elif event.kind == "loitering":
        segments += [_Segment(event.duration - 1, 0.0, 0.0),
                     _Segment(int(math.ceil(abs(x_exit - x_t) / speed)) + 1, vx, 0.0)]
    else:  # crossing: turn across the path band, then walk on along it
        room_down, room_up = layout.path_bottom - y_t, y_t - layout.path_top
        down = room_down >= room_up
        frames = max(2, min(event.duration, int(max(room_down, room_up) / speed)))
        segments += [_Segment(frames, 0.0, speed if down else -speed, True),
                     _Segment(int(math.ceil(abs(x_exit - x_t) / speed)) + 1, vx, 0.0)]
    actor = _actor("person", walker.size, walker.colours, n, first, float(walker.x[first]), float(walker.y[first]),
                   segments, stride, float(walker.phase[first]), kind=event.kind)
    if event.kind == "loitering":
        _label_stop(actor, t, event.duration)
    if event.kind == "running":
        actor.anomalous &= (actor.x >= 0) & (actor.x < s)  # labelled while its centre is in view
        gone = _visible_span(actor)[1]
        if gone < n:
            walkers.append(_walk_through(rng, _person(rng, s), layout, n, gone))
    return actor


def _label_stop(actor: _Actor, arrival: int, duration: int) -> None:
    """Mark a loiterer anomalous from the LOITER_ONSET-th frame of its stop to its last.

    The stop segment lasts `duration` - 1 frames of zero velocity, so the actor stands on the spot
    it reached at frame `arrival` for `duration` frames: arrival .. arrival + duration - 1.
    """
    actor.anomalous[:] = False
    actor.anomalous[max(arrival + LOITER_ONSET, 0):max(arrival + duration, 0)] = True


def _event_actor(rng: np.random.Generator, event: _Event, start: int, config: _Config, layout: _Layout,
                 walkers: list[_Actor]) -> _Actor:
    """The actor of `event`, in its anomalous state from frame `start` on (a loiterer stops at
    `start` and is labelled from LOITER_ONSET frames later, see `_label_stop`).

    People events are a walker of the normal traffic turning anomalous (see `_turn_anomalous`); only
    when no walker is in view does a new pedestrian walk in to do it.
    """
    n, s = config.frames, config.image_size
    if event.kind != "object":
        walker = _take_walker(walkers, start, s)
        if walker is not None:
            return _turn_anomalous(rng, walker, event, start, config, layout, walkers)
    direction = 1 if rng.random() < 0.5 else -1
    band = (layout.path_top, layout.path_bottom)
    if event.kind in ("running", "object"):
        if event.kind == "running":
            actor = _walk_through(rng, event.person, layout, n, start, direction=direction,
                                  kind="running", anomalous=True)
        else:
            x0 = _entry_x(s, event.length // 2 + 2, direction)
            y0 = rng.uniform(band[0] + 0.1 * s, band[1])
            segments = [_Segment(event.duration, direction * event.speed, 0.0, True)]
            actor = _actor("vehicle", event.length, _vehicle_colours(rng), n, start, x0, y0, segments,
                           style=int(rng.integers(2)), kind="object")
        # Count it as in view while its centre is: the body there always covers the anchor pixel,
        # so the labelled frames form one unbroken run even while swinging limbs cross the border.
        actor.anomalous &= (actor.x >= 0) & (actor.x < s)
        return actor

    p = event.person
    x_event = rng.uniform(0.25, 0.75) * s
    x0 = _entry_x(s, p.half_width, direction)
    walk_in = max(1, int(math.ceil(abs(x_event - x0) / p.speed)))
    speed_in = abs(x_event - x0) / walk_in  # arrive exactly at x_event on frame `start`
    x_exit = s + p.half_width if direction > 0 else -p.half_width
    if event.kind == "loitering":
        y0 = rng.uniform(*band)
        walk_out = int(math.ceil(abs(x_exit - x_event) / p.speed)) + 1
        segments = [_Segment(walk_in, direction * speed_in, 0.0),
                    _Segment(event.duration - 1, 0.0, 0.0),
                    _Segment(walk_out, direction * p.speed, 0.0)]
        # Stop with both feet together (phase 0 or 1/2), a pose every walker passes through.
        phase0 = (-(walk_in * speed_in) / p.stride + 0.5 * rng.integers(2)) % 1.0
        actor = _actor("person", p.height, p.colours, n, start - walk_in, x0, y0, segments,
                       p.stride, phase0, kind="loitering")
        _label_stop(actor, start, event.duration)
        return actor
    # crossing: walk in along the path, turn and cross the band, turn back and walk out.
    rise = event.duration * p.speed
    down = rng.random() < 0.5
    y0 = rng.uniform(band[0], band[1] - rise) if down else rng.uniform(band[0] + rise, band[1])
    walk_out = int(math.ceil(abs(x_exit - x_event) / p.speed)) + 1
    segments = [_Segment(walk_in, direction * speed_in, 0.0),
                _Segment(event.duration, 0.0, p.speed if down else -p.speed, True),
                _Segment(walk_out, direction * p.speed, 0.0)]
    return _actor("person", p.height, p.colours, n, start - walk_in, x0, y0, segments,
                  p.stride, rng.uniform(0, 1), kind="crossing")


# ----------------------------------------------------------------------------------------------
# Rendering


def _paste(frame: np.ndarray, stamp: _Stamp, colours: np.ndarray, x: float, y: float,
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
    c = cov[:, y0 - top:y1 - top, x0 - left:x1 - left].astype(np.float32) * np.float32(1 / _SS**2)
    total = c.sum(axis=0)
    region = frame[y0:y1, x0:x1]
    region *= (1.0 - total)[..., None]
    region += np.tensordot(c, colours, axes=(0, 0))
    if mask is not None:
        mask[y0:y1, x0:x1] |= total >= 0.5


def _render(background: np.ndarray, walkers: list[_Actor], events: list[_Actor], n: int):
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


def _finish(rgb: np.ndarray, channels: int, noise_std: float, rng: np.random.Generator) -> np.ndarray:
    """Convert to the requested channels, add Gaussian sensor noise and quantise to uint8."""
    img = rgb if channels == 3 else (rgb @ _LUMA)[..., None]
    if noise_std > 0:
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise_std)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
