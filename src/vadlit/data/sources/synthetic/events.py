"""Anomalous events of the synthetic benchmark: which kinds each test video holds, when they happen,
and the actors that perform them (a walker of the normal traffic turning anomalous, or a newcomer),
with the frames they are labelled anomalous in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from vadlit.data.sources.synthetic.actors import (NORMAL_SPEED, Actor, Person, Segment, entry_x, make_actor, person,
                                                  visible_span, walk_through)
from vadlit.data.sources.synthetic.config import Config
from vadlit.data.sources.synthetic.scene import Layout
from vadlit.data.sources.synthetic.sprites import vehicle_colours

RUN_FACTOR = (3.0, 5.0)
"""Running speed range, in multiples of the base walking speed."""

LOITER_ONSET = 4
"""Frames a pedestrian stands still before the stop counts as loitering (labels, kinds and masks).

A walker covers 0.64 px/frame at 64 px, so in the first frames after stopping the person is where a
walker would still nearly be: only after ~4 frames (~2.5 px a walker would have covered) does the
stop show in a short causal window. Those first frames are labelled normal; a pause that short is
not loitering. The labelled part of a stop lasts at least 10 frames.
"""


@dataclass
class _Event:
    """A planned anomalous event: its kind, how many frames its anomalous state lasts (for
    loitering: the whole stop, its LOITER_ONSET unlabelled first frames included), and the traits
    drawn for it (so the duration is known before the timeline is laid out)."""

    kind: str
    duration: int
    person: Person | None = None
    speed: float = 0.0
    length: int = 0


def _draw_event(rng: np.random.Generator, kind: str, config: Config, layout: Layout) -> _Event:
    """Draw an event's traits; loitering/crossing/object last 15-35% of the video (at least 10
    frames; a loiterer stands still LOITER_ONSET frames longer), a runner as long as it takes to
    cross the view (its speed is fixed by the 3-5x rule)."""
    n, s = config.frames, config.image_size
    planned = max(10, int(round(n * rng.uniform(0.15, 0.35))))
    if kind == "running":
        p = person(rng, s)
        p.speed = s * NORMAL_SPEED * rng.uniform(*RUN_FACTOR)
        return _Event(kind, int(math.ceil((s + 2 * p.half_width) / p.speed)) + 1, person=p)
    if kind == "object":
        length = int(round(s * rng.uniform(0.32, 0.4)))
        travel = s + length + 2
        speed = float(np.clip(travel / planned, 1.5 * s * NORMAL_SPEED, 8 * s * NORMAL_SPEED))
        return _Event(kind, int(math.ceil(travel / speed)) + 1, speed=speed, length=length)
    p = person(rng, s)
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


def plan_events(rng: np.random.Generator, config: Config, layout: Layout, index: int,
                walkers: list[Actor]) -> list[Actor]:
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


def _take_walker(walkers: list[Actor], t: int, size: int) -> Actor | None:
    """Remove and return the normal walker nearest the centre of the view at frame t (None if none
    is well inside it): that pedestrian is the one who turns anomalous."""
    inside = [a for a in walkers if a.body == "person" and a.alive[t] and 0.15 * size <= a.x[t] <= 0.85 * size]
    if not inside:
        return None
    chosen = min(inside, key=lambda a: abs(a.x[t] - size / 2))
    del walkers[next(i for i, a in enumerate(walkers) if a is chosen)]  # by identity: actors hold arrays
    return chosen


def _turn_anomalous(rng: np.random.Generator, walker: Actor, event: _Event, t: int, config: Config,
                    layout: Layout, walkers: list[Actor]) -> Actor:
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
    segments = [Segment(t - first, vx, 0.0)] if t > first else []
    if event.kind == "running":
        run = event.person.speed
        segments.append(Segment(int(math.ceil(abs(x_exit - x_t) / run)) + 1, direction * run, 0.0, True))
    elif event.kind == "loitering":
        segments += [Segment(event.duration - 1, 0.0, 0.0),
                     Segment(int(math.ceil(abs(x_exit - x_t) / speed)) + 1, vx, 0.0)]
    else:  # crossing: turn across the path band, then walk on along it
        room_down, room_up = layout.path_bottom - y_t, y_t - layout.path_top
        down = room_down >= room_up
        frames = max(2, min(event.duration, int(max(room_down, room_up) / speed)))
        segments += [Segment(frames, 0.0, speed if down else -speed, True),
                     Segment(int(math.ceil(abs(x_exit - x_t) / speed)) + 1, vx, 0.0)]
    actor = make_actor("person", walker.size, walker.colours, n, first, float(walker.x[first]),
                       float(walker.y[first]), segments, stride, float(walker.phase[first]), kind=event.kind)
    if event.kind == "loitering":
        _label_stop(actor, t, event.duration)
    if event.kind == "running":
        actor.anomalous &= (actor.x >= 0) & (actor.x < s)  # labelled while its centre is in view
        gone = visible_span(actor)[1]
        if gone < n:
            walkers.append(walk_through(rng, person(rng, s), layout, n, gone))
    return actor


def _label_stop(actor: Actor, arrival: int, duration: int) -> None:
    """Mark a loiterer anomalous from the LOITER_ONSET-th frame of its stop to its last.

    The stop segment lasts `duration` - 1 frames of zero velocity, so the actor stands on the spot
    it reached at frame `arrival` for `duration` frames: arrival .. arrival + duration - 1.
    """
    actor.anomalous[:] = False
    actor.anomalous[max(arrival + LOITER_ONSET, 0):max(arrival + duration, 0)] = True


def _event_actor(rng: np.random.Generator, event: _Event, start: int, config: Config, layout: Layout,
                 walkers: list[Actor]) -> Actor:
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
            actor = walk_through(rng, event.person, layout, n, start, direction=direction,
                                 kind="running", anomalous=True)
        else:
            x0 = entry_x(s, event.length // 2 + 2, direction)
            y0 = rng.uniform(band[0] + 0.1 * s, band[1])
            segments = [Segment(event.duration, direction * event.speed, 0.0, True)]
            actor = make_actor("vehicle", event.length, vehicle_colours(rng), n, start, x0, y0, segments,
                               style=int(rng.integers(2)), kind="object")
        # Count it as in view while its centre is: the body there always covers the anchor pixel,
        # so the labelled frames form one unbroken run even while swinging limbs cross the border.
        actor.anomalous &= (actor.x >= 0) & (actor.x < s)
        return actor

    p = event.person
    x_event = rng.uniform(0.25, 0.75) * s
    x0 = entry_x(s, p.half_width, direction)
    walk_in = max(1, int(math.ceil(abs(x_event - x0) / p.speed)))
    speed_in = abs(x_event - x0) / walk_in  # arrive exactly at x_event on frame `start`
    x_exit = s + p.half_width if direction > 0 else -p.half_width
    if event.kind == "loitering":
        y0 = rng.uniform(*band)
        walk_out = int(math.ceil(abs(x_exit - x_event) / p.speed)) + 1
        segments = [Segment(walk_in, direction * speed_in, 0.0),
                    Segment(event.duration - 1, 0.0, 0.0),
                    Segment(walk_out, direction * p.speed, 0.0)]
        # Stop with both feet together (phase 0 or 1/2), a pose every walker passes through.
        phase0 = (-(walk_in * speed_in) / p.stride + 0.5 * rng.integers(2)) % 1.0
        actor = make_actor("person", p.height, p.colours, n, start - walk_in, x0, y0, segments,
                           p.stride, phase0, kind="loitering")
        _label_stop(actor, start, event.duration)
        return actor
    # crossing: walk in along the path, turn and cross the band, turn back and walk out.
    rise = event.duration * p.speed
    down = rng.random() < 0.5
    y0 = rng.uniform(band[0], band[1] - rise) if down else rng.uniform(band[0] + rise, band[1])
    walk_out = int(math.ceil(abs(x_exit - x_event) / p.speed)) + 1
    segments = [Segment(walk_in, direction * speed_in, 0.0),
                Segment(event.duration, 0.0, p.speed if down else -p.speed, True),
                Segment(walk_out, direction * p.speed, 0.0)]
    return make_actor("person", p.height, p.colours, n, start - walk_in, x0, y0, segments,
                      p.stride, rng.uniform(0, 1), kind="crossing")
