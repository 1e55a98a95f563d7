"""Sprites of the synthetic benchmark: what people and vehicles look like, as cached stamps.

A shape is drawn once as supersampled part labels (pedestrians over a gait cycle in side, front and
back view; cars and vans), cropped into sub-pixel offsets and box-filtered into anti-aliased part
coverage; colours are drawn per actor and applied when a stamp is pasted (`render`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

SS = 4  # supersampling factor of sprite stamps (anti-aliased edges)
PHASE_BINS = 16  # gait poses per cycle
SUBPIX = 4  # sub-pixel positions per stamp and axis, so slow movers glide instead of jumping
_SHIFT = SS // SUBPIX  # subsamples per sub-pixel step: a sub-pixel offset shifts the subsample grid
_MARGIN = (SUBPIX - 1) * _SHIFT  # extra subsample rows/columns drawn above and left of a stamp
assert SS % SUBPIX == 0

# Views of a person: side view while walking horizontally, front/back while walking down/up.
SIDE, FRONT, BACK = 0, 1, 2
# Person parts, in colour order; the "far" limbs are a shade darker so the legs read as two.
_SKIN, _HAIR, _SHIRT, _SHIRT_FAR, _TROUSERS, _TROUSERS_FAR, _SHOES = range(7)
_PERSON_PARTS = 7
# Vehicle parts.
_BODY, _TRIM, _WINDOW, _TYRE, _HUB, _LIGHT = range(6)
_VEHICLE_PARTS = 6


@dataclass(frozen=True)
class Stamp:
    """Per-part coverage (P, h, w) as counts of covered subsamples out of SS**2 (uint8 keeps the
    stamp cache small; parts are exclusive, so they sum to <= SS**2) and the offset from the
    stamp's top-left corner to the actor's anchor pixel (feet / wheels centre), the pixel that
    holds the actor's (x, y) position."""

    coverage: np.ndarray
    anchor_row: int
    anchor_col: int


def _grid(hs: int, ws: int, ax: float, ay: float) -> tuple[np.ndarray, np.ndarray]:
    """Supersampled sample coordinates (x, y) in pixels relative to the anchor point, for an
    (hs, ws) pixel stamp plus _MARGIN subsamples above and to the left (see `_coverage`)."""
    v = (np.arange(-_MARGIN, hs * SS, dtype=np.float32) + 0.5) / SS - ay
    u = (np.arange(-_MARGIN, ws * SS, dtype=np.float32) + 0.5) / SS - ax
    return u[None, :], v[:, None]


def _coverage(labels: np.ndarray, parts: int, hs: int, ws: int, subpix: int, subpix_y: int) -> np.ndarray:
    """Box-filter the supersampled part-label image into per-part pixel coverage counts (P, hs, ws),
    with the shape moved `subpix` and `subpix_y` sub-pixel steps right and down.

    A sub-pixel step is a whole number of subsamples, so moving the shape is cropping the label
    image drawn with a margin (`_grid`): one drawing serves all SUBPIX**2 offsets, the same
    samples as drawing each offset anew.
    """
    r0, c0 = _MARGIN - subpix_y * _SHIFT, _MARGIN - subpix * _SHIFT
    lab = labels[r0:r0 + hs * SS, c0:c0 + ws * SS]
    pixel = (np.arange(hs * SS)[:, None] // SS) * ws + np.arange(ws * SS)[None, :] // SS
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
def person_stamp(height: int, phase_bin: int, view: int, facing: int, subpix: int, subpix_y: int) -> Stamp:
    """A pedestrian's stamp, its feet `subpix` and `subpix_y` quarters of a pixel right of and
    below the anchor pixel's top-left corner (see `_person_shape`)."""
    hs, ws = _person_size(height)
    labels = _person_shape(height, phase_bin, view, facing)
    return Stamp(_coverage(labels, _PERSON_PARTS, hs, ws, subpix, subpix_y), height + 1, ws // 2)


@functools.lru_cache(maxsize=512)
def _person_shape(height: int, phase_bin: int, view: int, facing: int) -> np.ndarray:
    """The supersampled part labels (-1: empty) of a pedestrian `height` px tall at gait phase
    `phase_bin`/PHASE_BINS, with the margin `_coverage` crops sub-pixel offsets from.

    Side view: the legs swing by +-A*sin(phase) around the hip, the arms swing opposite, and the
    hip drops as the legs spread so the feet stay on the ground (a natural bob). Front/back view:
    the legs lift alternately. The pose depends only on the phase, never on speed, which is what
    makes a runner indistinguishable from a walker in any single frame.
    """
    h = float(height)
    hs, ws = _person_size(height)
    u, v = _grid(hs, ws, ws // 2, height + 1)
    u = u * facing  # draw facing +x, mirror for walkers going left
    phi = 2 * math.pi * phase_bin / PHASE_BINS
    lab = np.full((v.shape[0], u.shape[1]), -1, dtype=np.int8)

    def paint(mask, part):
        lab[np.broadcast_to(mask, lab.shape)] = part

    ankle_y = -0.035 * h
    leg_len, leg_r = 0.46 * h, 0.045 * h
    if view == SIDE:
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
        hair_line = head_y - 0.04 * h if view == FRONT else head_y + 0.05 * h
        paint(head & (v < hair_line), _HAIR)
    lab.flags.writeable = False
    return lab


def _vehicle_size(length: int, style: int) -> tuple[int, int]:
    """Stamp rows and columns for a vehicle `length` px long."""
    return int(math.ceil(length * (0.42 if style == 0 else 0.55))) + 2, length + 2


@functools.lru_cache(maxsize=512)
def vehicle_stamp(length: int, style: int, facing: int, subpix: int, subpix_y: int) -> Stamp:
    """A vehicle's stamp, its anchor (wheels' ground line, centre) `subpix` and `subpix_y` quarters
    of a pixel right of and below the anchor pixel's top-left corner (see `_vehicle_shape`)."""
    hs, ws = _vehicle_size(length, style)
    labels = _vehicle_shape(length, style, facing)
    return Stamp(_coverage(labels, _VEHICLE_PARTS, hs, ws, subpix, subpix_y), hs - 1, ws // 2)


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


def person_colours(rng: np.random.Generator) -> np.ndarray:
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


def vehicle_colours(rng: np.random.Generator) -> np.ndarray:
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
