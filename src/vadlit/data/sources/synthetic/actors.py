"""Actors of the synthetic benchmark: sprites on piecewise-constant trajectories, and the normal
traffic of pedestrians walking along the path that every video shows.

An `Actor` holds per-frame arrays (position, pose, state) integrated from `Segment`s; the anomalous
events (`events`) are actors built the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from vadlit.data.source import NORMAL
from vadlit.data.sources.synthetic.config import Config
from vadlit.data.sources.synthetic.scene import Layout
from vadlit.data.sources.synthetic.sprites import (BACK, FRONT, PHASE_BINS, SIDE, SUBPIX, Stamp, person_colours,
                                                   person_stamp, vehicle_stamp)

NORMAL_SPEED = 0.01
"""Base walking speed as a fraction of ``image_size`` per frame (0.64 px/frame at 64 px)."""


@dataclass
class Actor:
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

    def stamp(self, t: int) -> Stamp:
        """The sprite at frame t; the fractional parts of x and y pick its sub-pixel offsets, and
        `render._paste` places it at (floor(x), floor(y))."""
        x, y = float(self.x[t]), float(self.y[t])
        subpix = min(int((x - math.floor(x)) * SUBPIX), SUBPIX - 1)
        subpix_y = min(int((y - math.floor(y)) * SUBPIX), SUBPIX - 1)
        if self.body == "vehicle":
            return vehicle_stamp(self.size, self.style, int(self.facing[t]), subpix, subpix_y)
        phase_bin = int(round(self.phase[t] * PHASE_BINS)) % PHASE_BINS
        return person_stamp(self.size, phase_bin, int(self.view[t]), int(self.facing[t]), subpix, subpix_y)


@dataclass
class Segment:
    """A stretch of constant velocity (px/frame) lasting `frames` frames."""

    frames: int
    vx: float
    vy: float
    anomalous: bool = False


def make_actor(body: str, size: int, colours: np.ndarray, n: int, start: int, x0: float, y0: float,
               segments: list[Segment], stride: float = 1.0, phase0: float = 0.0, style: int = 0,
               kind: str = NORMAL) -> Actor:
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
    last_view, last_facing = SIDE, 1
    for i, (vx, vy) in enumerate(vel):
        if vx != 0:
            last_view, last_facing = SIDE, int(np.sign(vx))
        elif vy != 0:
            last_view = FRONT if vy > 0 else BACK
        view[i], facing[i] = last_view, last_facing

    times = np.arange(start, start + len(vel))
    keep = (times >= 0) & (times < n)
    idx = times[keep]

    def spread(values, fill):
        out = np.full(n, fill, dtype=np.asarray(values).dtype)
        out[idx] = values[keep]
        return out

    return Actor(
        body=body, size=size, style=style, colours=colours,
        x=spread(pos[:, 0], 0.0), y=spread(pos[:, 1], 0.0),
        phase=spread(phase0 + dist / stride, 0.0), view=spread(view, SIDE), facing=spread(facing, 1),
        alive=spread(np.ones(len(vel), bool), False), anomalous=spread(flags, False), kind=kind,
    )


@dataclass
class Person:
    """A pedestrian's fixed traits: height, speed, gait stride, colours and stamp half-width."""

    height: int
    speed: float
    colours: np.ndarray
    stride: float = field(init=False)
    half_width: int = field(init=False)

    def __post_init__(self):
        self.stride = 0.8 * self.height  # px per gait cycle (two steps)
        self.half_width = (int(math.ceil(0.7 * self.height)) + 2) // 2 + 1


def person(rng: np.random.Generator, size: int, speed_factor: float = 1.0) -> Person:
    """A new pedestrian: 1/4..1/3 of the image tall, walking at about NORMAL_SPEED."""
    height = int(round(size * rng.uniform(0.25, 0.32)))
    speed = size * NORMAL_SPEED * rng.uniform(0.85, 1.15) * speed_factor
    return Person(height, speed, person_colours(rng))


def entry_x(size: int, half_width: float, direction: int) -> float:
    """The anchor x at which a sprite entering from the edge first shows a sliver of itself."""
    return -half_width + 1.0 if direction > 0 else size + half_width - 1.0


def walk_through(rng, p: Person, layout: Layout, n: int, start: int, x0: float | None = None,
                 direction: int | None = None, kind: str = NORMAL, anomalous: bool = False) -> Actor:
    """A pedestrian walking straight along the path from x0 (default: entering at an edge) until
    fully out of view on the other side."""
    s = layout.size
    direction = direction if direction is not None else (1 if rng.random() < 0.5 else -1)
    x0 = entry_x(s, p.half_width, direction) if x0 is None else x0
    x_exit = s + p.half_width if direction > 0 else -p.half_width
    frames = int(math.ceil(abs(x_exit - x0) / p.speed)) + 1
    y0 = rng.uniform(layout.path_top, layout.path_bottom)
    return make_actor("person", p.height, p.colours, n, start, x0, y0,
                      [Segment(frames, direction * p.speed, 0.0, anomalous)], p.stride,
                      rng.uniform(0, 1), kind=kind)


def visible_span(actor: Actor) -> tuple[int, int]:
    """First frame and one past the last frame in which `actor` exists."""
    alive = np.flatnonzero(actor.alive)
    return (int(alive[0]), int(alive[-1]) + 1) if len(alive) else (0, 0)


def normal_traffic(rng: np.random.Generator, config: Config, layout: Layout) -> list[Actor]:
    """Pedestrians walking along the path: 1..max_people at any time, entering and leaving.

    Some are mid-way at the first frame; then newcomers enter at random times (one at once when
    the path would otherwise be empty, none while max_people are present).
    """
    n, s = config.frames, config.image_size
    actors: list[Actor] = []
    for _ in range(int(rng.integers(1, config.max_people + 1))):
        p = person(rng, s)
        actors.append(walk_through(rng, p, layout, n, 0, x0=rng.uniform(0.05, 0.95) * s))
    lifetime = 1.15 / NORMAL_SPEED  # frames a walker needs to cross the view
    rate = 0.5 * (1 + config.max_people) / lifetime
    spans = [visible_span(a) for a in actors]
    for t in range(1, n):
        present = sum(a <= t < b for a, b in spans)
        if present < config.max_people and (present == 0 or rng.random() < rate):
            actors.append(walk_through(rng, person(rng, s), layout, n, t))
            spans.append(visible_span(actors[-1]))
    return actors
