"""Intervals over events and the within-video AUROC: the honesty keys of metrics.json."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadlit.errors import ConfigError
from vadlit.evaluation.events import bootstrap_auroc, find_events
from vadlit.evaluation.metrics import compute_metrics

KINDS = ("object", "running", "loitering", "crossing")


def _case(n_videos: int = 25, frames: int = 120, seed: int = 0):
    """Videos with one event each, kinds cycling, scores shifted up in the event (with ties)."""
    rng = np.random.default_rng(seed)
    scores, labels, kinds = {}, {}, {}
    for v in range(n_videos):
        y = np.zeros(frames, dtype=np.int64)
        k = np.array(["normal"] * frames, dtype=object)
        a = int(rng.integers(10, 60))
        b = a + int(rng.integers(10, 40))
        y[a:b], k[a:b] = 1, KINDS[v % len(KINDS)]
        scores[f"v{v}"] = np.round(rng.normal(size=frames) + 0.8 * y + 0.3 * rng.normal(), 1)
        labels[f"v{v}"], kinds[f"v{v}"] = y, list(k)
    return scores, labels, kinds


def test_events_are_maximal_runs_of_one_kind_within_a_video():
    y = np.array([0, 1, 1, 1, 0, 1, 0, 0, 1, 1])
    k = np.array(["normal", "a", "a", "b", "normal", "a", "normal", "normal", "b", "b"], dtype=object)
    assert find_events(y, k) == [(1, 3, "a"), (3, 4, "b"), (5, 6, "a"), (8, 10, "b")]
    assert find_events(y, None) == [(1, 4, "anomaly"), (5, 6, "anomaly"), (8, 10, "anomaly")]
    assert find_events(np.zeros(0), None) == []


def test_event_counts_per_kind_and_across_videos():
    scores = {"v1": np.arange(8.0), "v2": np.arange(6.0)}
    labels = {"v1": np.array([0, 1, 1, 0, 1, 1, 1, 0]), "v2": np.array([1, 1, 0, 0, 1, 0])}
    kinds = {"v1": ["normal", "a", "a", "normal", "a", "b", "b", "normal"],
             "v2": ["a", "a", "normal", "normal", "b", "normal"]}
    m = compute_metrics(scores, labels, kinds)
    # v1: a (1-2), a (4), b (5-6); v2: a (0-1), b (4): two runs of `a` in v1 are two events
    assert m["n_events_by_kind"] == {"a": 3, "b": 2}
    assert m["n_events"] == 5


def test_interval_contains_the_pooled_auroc_and_is_reproducible():
    scores, labels, kinds = _case()
    m = compute_metrics(scores, labels, kinds)
    assert m["n_events_by_kind"] == {"crossing": 6, "loitering": 6, "object": 7, "running": 6}
    for kind, (lo, hi) in m["auroc_by_kind_ci"].items():
        assert lo < m["auroc_by_kind"][kind] < hi, kind
        assert hi - lo > 0.02, "events resampled: a real spread, not a frame-level sliver"
    assert m["auroc_ci"][0] < m["auroc"] < m["auroc_ci"][1]
    again = compute_metrics(scores, labels, kinds)
    assert again["auroc_by_kind_ci"] == m["auroc_by_kind_ci"], "fixed seed"
    other = compute_metrics(scores, labels, kinds, seed=1)
    assert other["auroc_by_kind_ci"] != m["auroc_by_kind_ci"]


def test_a_kinds_interval_does_not_depend_on_the_other_kinds():
    """One random stream per kind: renaming (or adding) another kind leaves this kind's interval alone."""
    scores, labels, kinds = _case()
    m = compute_metrics(scores, labels, kinds)
    renamed = {n: ["vehicle" if x == "object" else x for x in k] for n, k in kinds.items()}
    again = compute_metrics(scores, labels, renamed)
    assert again["auroc_by_kind_ci"]["running"] == m["auroc_by_kind_ci"]["running"]
    assert again["auroc_by_kind_ci"]["vehicle"] != m["auroc_by_kind_ci"]["object"]


def test_a_kind_with_one_event_has_a_null_interval_and_a_warning():
    scores = {"a": np.array([0.1, 0.9, 0.8, 0.2]), "b": np.array([0.3, 0.7, 0.1, 0.6])}
    labels = {"a": np.array([0, 1, 1, 0]), "b": np.array([0, 1, 0, 1])}
    kinds = {"a": ["normal", "fight", "fight", "normal"], "b": ["normal", "arson", "normal", "arson"]}
    m = compute_metrics(scores, labels, kinds)
    assert m["n_events_by_kind"] == {"arson": 2, "fight": 1}
    assert m["auroc_by_kind_ci"]["fight"] is None
    assert m["auroc_by_kind_ci"]["arson"] is not None
    assert any("fight" in w and "fewer than 2 events" in w for w in m["warnings"])


def test_weighted_resample_auroc_matches_sklearn_with_sample_weights(monkeypatch):
    """A resample is a multiplicity per event and per video: its AUROC is sklearn's weighted AUROC."""
    rng = np.random.default_rng(3)
    pos = [np.round(rng.normal(size=int(rng.integers(1, 6))) + 0.5, 1) for _ in range(5)]
    neg = [np.round(rng.normal(size=int(rng.integers(1, 8))), 1) for _ in range(4)]
    a = rng.multinomial(5, np.full(5, 0.2), size=1)[0]
    b = rng.multinomial(4, np.full(4, 0.25), size=1)[0]
    weights = np.r_[np.repeat(a, [len(p) for p in pos]), np.repeat(b, [len(n) for n in neg])]
    s = np.r_[np.concatenate(pos), np.concatenate(neg)]
    y = np.r_[np.ones(sum(map(len, pos))), np.zeros(sum(map(len, neg)))]
    expected = roc_auc_score(y, s, sample_weight=weights)

    class Fixed:  # replay exactly this resample
        def multinomial(self, n, p, size):
            return np.repeat((a if n == len(pos) else b)[None], size, axis=0)

    import vadlit.evaluation.events as events

    monkeypatch.setattr(events, "_rng", lambda seed, kind: Fixed())
    lo, hi = bootstrap_auroc(pos, neg, n_boot=3)
    assert lo == pytest.approx(expected) and hi == pytest.approx(expected)


def test_within_video_auroc_compares_a_kind_with_its_own_videos_normal_frames():
    # video a: its normal frames are high, video b's low; `fight` beats each video's own normal frames
    scores = {"a": np.array([5.0, 6.0, 7.0, 4.0]), "b": np.array([0.0, 1.0, 2.0, 0.5, 3.0])}
    labels = {"a": np.array([0, 1, 1, 0]), "b": np.array([0, 0, 1, 0, 1])}
    kinds = {"a": ["normal", "fight", "fight", "normal"], "b": ["normal", "normal", "fight", "normal", "run"]}
    m = compute_metrics(scores, labels, kinds)
    assert m["auroc_by_kind_within_video"] == {"fight": pytest.approx(1.0), "run": pytest.approx(1.0)}
    assert m["n_videos_by_kind_within_video"] == {"fight": 2, "run": 1}
    # pooled, b's fight frame (2.0) ranks below a's normal frames (4, 5): the pooled AUROC is lower
    assert m["auroc_by_kind"]["fight"] < 1.0
    # a kind whose only video has no normal frames has no within-video AUROC
    only = compute_metrics({"c": np.array([1.0, 2.0]), "d": np.array([0.0, 1.0])},
                           {"c": np.array([1, 1]), "d": np.array([0, 0])},
                           {"c": ["fight", "fight"], "d": ["normal", "normal"]})
    assert only["auroc_by_kind_within_video"] == {"fight": None}
    assert any("within_video" in w for w in only["warnings"])


def test_existing_keys_keep_their_meaning():
    scores, labels, kinds = _case(n_videos=8)
    m = compute_metrics(scores, labels, kinds)
    y = np.concatenate(list(labels.values()))
    s = np.concatenate(list(scores.values()))
    assert m["auroc"] == pytest.approx(roc_auc_score(y, s), abs=1e-6)
    k = np.concatenate([np.array(v, dtype=object) for v in kinds.values()])
    subset = (y == 0) | (k == "running")
    assert m["auroc_by_kind"]["running"] == pytest.approx(roc_auc_score(y[subset], s[subset]), abs=1e-6)


def test_bad_number_of_resamples_is_one_clear_error():
    scores, labels, kinds = _case(n_videos=4)
    with pytest.raises(ConfigError, match="n_boot"):
        compute_metrics(scores, labels, kinds, n_boot=0)


def test_four_kinds_1000_resamples_on_3000_frames_take_well_under_a_second():
    scores, labels, kinds = _case(n_videos=25)  # 3000 frames
    start = time.perf_counter()
    compute_metrics(scores, labels, kinds)
    assert time.perf_counter() - start < 2.0  # ~0.05 s measured on 2 busy CPU cores
