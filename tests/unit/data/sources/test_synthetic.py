"""The synthetic benchmark: deterministic, well-formed, and each anomaly kind behaves as described."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from vadlit.data.source import NORMAL
from vadlit.data.sources.synthetic import GENERATOR_VERSION, KINDS, LOITER_ONSET, NORMAL_SPEED, SyntheticSource
from vadlit.data.sources.synthetic.actors import Segment, make_actor, normal_traffic
from vadlit.data.sources.synthetic.events import _event_kinds
from vadlit.data.sources.synthetic.render import render
from vadlit.data.sources.synthetic.scene import static_background
from vadlit.data.sources.synthetic.source import _scene
from vadlit.errors import ConfigError, DataError

from tests.helpers.paths import CONF

SMALL = dict(image_size=32, frames=60, n_train=2, n_test=4)


def load(source: SyntheticSource, split: str):
    return [record.load() for record in source.videos(split)]


@pytest.fixture(scope="module")
def small_test():
    return load(SyntheticSource(seed=3, **SMALL), "test")


@pytest.fixture(scope="module")
def events():
    """Per-kind labelled runs from 8 test videos at 64 px: (kind, masks of the run's frames)."""
    videos = load(SyntheticSource(seed=11, image_size=64, frames=60, n_train=1, n_test=8), "test")
    runs = []
    for video in videos:
        labels = video.labels.astype(int)
        edges = np.flatnonzero(np.diff(np.r_[0, labels, 0]))
        for start, stop in edges.reshape(-1, 2):
            runs.append((video.kinds[start], video.masks[start:stop]))
    return runs


def runs(kinds: list[str]) -> list[tuple[str, int, int]]:
    """The events of one video: maximal runs of consecutive frames of one anomalous kind."""
    out, start = [], 0
    for t in range(1, len(kinds) + 1):
        if t == len(kinds) or kinds[t] != kinds[start]:
            if kinds[start] != NORMAL:
                out.append((kinds[start], start, t))
            start = t
    return out


@pytest.fixture(scope="module")
def default_test():
    """The default test set (what `data=synthetic` trains and tests on)."""
    return load(SyntheticSource(), "test")


def centroids(masks: np.ndarray) -> np.ndarray:
    ys, xs = np.indices(masks.shape[1:])
    area = masks.sum(axis=(1, 2))
    return np.stack([(masks * xs).sum(axis=(1, 2)) / area, (masks * ys).sum(axis=(1, 2)) / area], axis=1)


def inside(masks: np.ndarray) -> np.ndarray:
    """Frames whose mask does not touch the image border (the actor is fully in view)."""
    border = masks[:, 0].any(1) | masks[:, -1].any(1) | masks[:, :, 0].any(1) | masks[:, :, -1].any(1)
    return ~border


def aspect(mask: np.ndarray) -> float:
    ys, xs = np.nonzero(mask)
    return (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)


def test_same_seed_same_videos_and_other_seed_differs():
    a, b = SyntheticSource(seed=5, **SMALL), SyntheticSource(seed=5, **SMALL)
    va, vb = a.videos("test")[1].load(), b.videos("test")[1].load()
    np.testing.assert_array_equal(va.frames, vb.frames)
    np.testing.assert_array_equal(va.labels, vb.labels)
    np.testing.assert_array_equal(va.masks, vb.masks)
    assert va.kinds == vb.kinds
    np.testing.assert_array_equal(a.videos("train")[0].load().frames, b.videos("train")[0].load().frames)
    other = SyntheticSource(seed=6, **SMALL).videos("test")[1].load()
    assert not np.array_equal(va.frames, other.frames)


def test_videos_do_not_depend_on_load_order():
    source = SyntheticSource(seed=2, **SMALL)
    records = source.videos("train")
    second_first = records[1].load().frames
    records[0].load()
    np.testing.assert_array_equal(records[1].load().frames, second_first)
    assert not np.array_equal(records[0].load().frames, second_first)


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_dtypes(channels):
    source = SyntheticSource(seed=1, channels=channels, **SMALL)
    assert [r.name for r in source.videos("train")] == ["train_001", "train_002"]
    assert [r.name for r in source.videos("test")] == [f"test_{i:03d}" for i in range(1, 5)]
    video = source.videos("test")[0].load()
    assert video.frames.shape == (60, 32, 32, channels) and video.frames.dtype == np.uint8
    assert video.labels.shape == (60,) and video.labels.dtype == np.uint8
    assert video.masks.shape == (60, 32, 32) and video.masks.dtype == bool
    assert len(video.kinds) == 60
    assert video.frames.std() > 10  # a textured scene, not a flat grey
    if channels == 3:  # plausible colours: the channels are not all equal
        assert np.abs(video.frames[..., 0].astype(int) - video.frames[..., 2]).mean() > 5


def test_background_is_fixed_per_seed_and_people_move():
    source = SyntheticSource(seed=4, noise_std=0.0, **SMALL)
    a, b = (r.load().frames.astype(int) for r in source.videos("train"))
    # The camera is fixed: the per-pixel median over time (the empty scene) is shared by both videos.
    assert np.abs(np.median(a, 0) - np.median(b, 0)).mean() < 3
    assert np.abs(np.diff(a, axis=0)).mean() > 0.1  # ...and something moves


def test_training_videos_are_unlabelled():
    for video in load(SyntheticSource(seed=0, **SMALL), "train"):
        assert video.labels is None and video.kinds is None and video.masks is None


def test_labels_kinds_and_masks_agree(small_test):
    seen = set()
    for video in small_test:
        np.testing.assert_array_equal(video.labels, video.masks.any(axis=(1, 2)))
        normal = np.array([k == NORMAL for k in video.kinds])
        np.testing.assert_array_equal(normal, video.labels == 0)
        seen |= set(video.kinds) - {NORMAL}
        # 1-2 events, each one unbroken run of one kind, after a normal start.
        edges = np.flatnonzero(np.diff(np.r_[0, video.labels.astype(int), 0])).reshape(-1, 2)
        assert 1 <= len(edges) <= 2
        assert video.labels[0] == 0
        for start, stop in edges:
            assert len(set(video.kinds[start:stop])) == 1
    assert seen == set(KINDS)


def test_every_kind_appears_with_default_settings():
    source = SyntheticSource(image_size=32)
    kinds = {k for r in source.videos("test") for k in r.load().kinds}
    assert kinds == set(KINDS) | {NORMAL}


def test_default_test_set_has_seven_to_nine_events_of_every_kind(default_test):
    import inspect

    from omegaconf import OmegaConf

    conf = OmegaConf.load(CONF / "data" / "synthetic.yaml").source
    default = inspect.signature(SyntheticSource).parameters["n_test"].default
    assert conf.n_test == default == len(default_test) == 24
    assert conf.frames == inspect.signature(SyntheticSource).parameters["frames"].default
    counts = {kind: 0 for kind in KINDS}
    for video in default_test:
        for kind, _, _ in runs(video.kinds):
            counts[kind] += 1
    assert all(7 <= c <= 9 for c in counts.values()), counts


@pytest.mark.parametrize("k", [1, 2, 3, 4])
@pytest.mark.parametrize("n_test", [1, 2, 3, 4, 5, 6, 7, 12, 13, 24, 25, 40, 48])
def test_event_plan_balances_kinds(n_test, k):
    """Each test video plans 1-2 events; every kind is planned once there are videos enough, and
    the kinds' counts differ by at most one when the videos fill whole cycles of the kinds."""
    kinds = KINDS[:k]
    plans = [_event_kinds(i, n_test, kinds) for i in range(n_test)]
    assert all(1 <= len(p) <= 2 for p in plans)
    assert [p[0] for p in plans] == [kinds[i % k] for i in range(n_test)]
    if k > 1:
        assert all(len(set(p)) == len(p) for p in plans)  # the two events of a video differ
    counts = [sum(p.count(kind) for p in plans) for kind in kinds]
    assert max(counts) - min(counts) <= (1 if n_test % k == 0 else 2), counts
    if 2 * n_test >= k:
        assert min(counts) >= 1
    if n_test >= 3 * k:  # every third block of k videos holds second events
        assert sum(len(p) == 2 for p in plans) == k * (n_test // (3 * k)) + max(0, n_test % (3 * k) - 2 * k)
    if n_test == 24 and k == 4:  # the default: 8 of each, in 6 different pairs
        assert counts == [8] * 4 and len({frozenset(p) for p in plans if len(p) == 2}) == 6


def test_loitering_is_labelled_once_the_stop_is_visible(default_test):
    """A stop is labelled from its LOITER_ONSET-th frame to its last: the first frames of a stop look
    like walking in a short window, and a pause that short is normal."""
    onset = LOITER_ONSET
    assert onset == 4
    config = SyntheticSource().config
    stops = 0
    for index, video in enumerate(default_test):
        events = _scene(config, "test", index)[3]
        for actor in (a for a in events if a.kind == "loitering"):
            pos = np.stack([actor.x, actor.y], axis=1)
            still = np.r_[False, actor.alive[1:] & actor.alive[:-1] & (pos[1:] == pos[:-1]).all(axis=1)]
            (first, last), = [(s, e) for kind, s, e in runs(["stop" if x else NORMAL for x in still])]
            arrival, end = first - 1, last  # standing still on frames arrival..end-1
            stops += 1
            assert end - arrival - onset >= 10  # labelled frames
            assert (video.labels[arrival:arrival + onset] == 0).all()
            assert not video.masks[arrival:arrival + onset].any()
            assert (video.labels[arrival + onset:end] == 1).all()
            assert set(video.kinds[arrival + onset:end]) == {"loitering"}
            assert video.masks[arrival + onset:end].any(axis=(1, 2)).all()
            assert video.labels[arrival - 1] == 0 and (end == len(video.labels) or video.labels[end] == 0)
            assert (end - arrival - onset) in [e - s for kind, s, e in runs(video.kinds) if kind == "loitering"]
    assert stops >= 7


def test_vertical_motion_is_sub_pixel():
    """A pedestrian walking down the view at 0.64 px/frame glides: its rendered centroid moves by
    about that much every frame, not by whole-pixel jumps (0 or 1) as with rounded rows."""
    n, speed = 16, 0.64
    background = np.full((32, 32, 3), 200.0, np.float32)
    colours = np.zeros((7, 3), np.float32)  # black on light grey
    actor = make_actor("person", 12, colours, n, 0, 16.3, 14.1, [Segment(n, 0.0, speed, True)],
                       stride=1e9)  # one pose throughout: only the position changes
    frames, masks = render(background, [], [actor], n)
    weight = (background - frames).sum(axis=-1)
    ys = np.arange(32)[None, :, None]
    cy = (weight * ys).sum(axis=(1, 2)) / weight.sum(axis=(1, 2))
    steps = np.diff(cy)
    assert np.abs(steps - speed).max() < 0.3, steps
    assert abs(cy[-1] - cy[0] - (n - 1) * speed) < 0.5
    np.testing.assert_allclose(weight.sum(axis=(1, 2)), weight[0].sum(), rtol=0.03)  # the same sprite


def test_kinds_subset_and_single_string():
    source = SyntheticSource(seed=1, kinds="running", **SMALL)
    kinds = {k for video in load(source, "test") for k in video.kinds}
    assert kinds == {"running", NORMAL}


def test_runner_is_three_to_five_times_walking_speed(events):
    speeds = []
    for kind, masks in events:
        if kind == "running":
            c = centroids(masks)[inside(masks)]
            speeds.append(abs(c[-1, 0] - c[0, 0]) / (len(c) - 1))
    assert speeds
    ratio = np.array(speeds) / (64 * NORMAL_SPEED)
    assert ((ratio > 2.7) & (ratio < 5.3)).all(), ratio


def test_loiterer_stands_still_while_labelled(events):
    found = False
    for kind, masks in events:
        if kind == "loitering":
            found = True
            assert len(masks) > 5
            assert (masks == masks[0]).all()  # frozen pose, fixed place
    assert found


def test_crossing_moves_vertically(events):
    found = False
    for kind, masks in events:
        if kind == "crossing":
            found = True
            c = centroids(masks)
            dx, dy = np.abs(c[-1] - c[0])
            assert dy > 3 and dy > 3 * dx, (dx, dy)
    assert found


def test_object_is_shaped_unlike_a_pedestrian(events):
    shapes: dict[str, list[float]] = {"object": [], "person": []}
    for kind, masks in events:
        for mask in masks[inside(masks)]:
            shapes["object" if kind == "object" else "person"].append(aspect(mask))
    assert shapes["object"] and shapes["person"]
    assert min(shapes["object"]) > 1.3  # a vehicle is wider than tall
    assert max(shapes["person"]) < 0.9  # a pedestrian is taller than wide


def test_normal_traffic_keeps_one_to_max_people():
    source = SyntheticSource(seed=7, image_size=32, frames=200, max_people=3)
    _, layout = static_background(7, 32)
    for index in range(3):
        rng = np.random.default_rng([7, 0, index])
        walkers = normal_traffic(rng, source.config, layout)
        present = np.sum([w.alive for w in walkers], axis=0)
        assert present.min() >= 1 and present.max() <= 3
        assert len(walkers) > 3  # people keep entering and leaving


def test_cache_key_names_every_argument_and_changes_with_them():
    key = SyntheticSource(**SMALL).cache_key()
    assert key["generator_version"] == GENERATOR_VERSION
    assert key["kinds"] == list(KINDS) and key["image_size"] == 32 and key["noise_std"] == 2.0
    assert set(key) >= {"seed", "channels", "n_train", "n_test", "frames", "max_people"}
    json.dumps(key)
    assert SyntheticSource(seed=1, **SMALL).cache_key() != key


def test_accepts_omegaconf_lists():
    omegaconf = pytest.importorskip("omegaconf")
    kinds = omegaconf.OmegaConf.create({"k": ["object", "crossing"]}).k
    assert SyntheticSource(kinds=kinds, **SMALL).cache_key()["kinds"] == ["object", "crossing"]


@pytest.mark.parametrize(
    "args, key",
    [
        (dict(kinds=["flying"]), "kinds"),
        (dict(kinds=[]), "kinds"),
        (dict(image_size=8), "image_size"),
        (dict(channels=2), "channels"),
        (dict(frames=10), "frames"),
        (dict(n_test=0), "n_test"),
        (dict(max_people=0), "max_people"),
        (dict(noise_std=-1.0), "noise_std"),
    ],
)
def test_bad_arguments_name_the_key(args, key):
    with pytest.raises(ConfigError, match=rf"data\.source\.{key}"):
        SyntheticSource(**args)


def test_unknown_kind_message_lists_allowed_values():
    with pytest.raises(ConfigError) as info:
        SyntheticSource(kinds=["object", "flying"])
    assert "'flying'" in str(info.value) and "loitering" in str(info.value)


def test_loaders_pickle_for_worker_processes():
    record = SyntheticSource(seed=2, **SMALL).videos("test")[0]
    again = pickle.loads(pickle.dumps(record.load))
    np.testing.assert_array_equal(again().frames, record.load().frames)


def test_unknown_split():
    with pytest.raises(DataError, match="val"):
        SyntheticSource().videos("val")

