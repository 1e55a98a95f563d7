"""Localisation metrics on small cases computed by hand: one true region, one false region, a track
missed in some frames, an all-correct map and one that misses everything."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vadlit.evaluation.localization import localization_metrics, pixel_metrics, region_track_metrics

H = W = 12


def _video(frames: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((frames, H, W), np.uint8), np.zeros((frames, H, W), bool)


def _square(a: np.ndarray, t: int, y: int, x: int, value=1, size: int = 3) -> None:
    a[t, y:y + size, x:x + size] = value


def test_an_all_correct_map_scores_one_and_a_map_that_misses_every_region_zero():
    m, g = _video(4)
    for t in range(4):
        _square(g, t, 2, 2 + t, True)  # one object moving right: one track of four regions
    right = (g * 200).astype(np.uint8)
    wrong = np.zeros_like(right)
    wrong[:, 8:11, 8:11] = 200  # bright, but never where the object is
    for maps, expected in (({"v": right}, 1.0), ({"v": wrong}, 0.0)):
        r = region_track_metrics(maps, {"v": g})
        assert r["rbdc"] == expected and r["tbdc"] == expected and r["n_regions"] == 4 and r["n_tracks"] == 1
    p = pixel_metrics({"v": right}, {"v": g})
    assert p["pixel_auroc"] == 1.0 and p["aupro"] == pytest.approx(1.0)
    # wrong: PRO stays 0 until the lowest level flags every pixel (FPR 1, PRO 1); linearly
    # interpolated at FPR 0.3, as the AUPRO of image benchmarks is, the area is small but not 0
    fpr0 = 36 / (4 * H * W - 36)
    pro_at_limit = (0.3 - fpr0) / (1 - fpr0)
    assert pixel_metrics({"v": wrong}, {"v": g})["aupro"] == pytest.approx(0.5 * pro_at_limit * (0.3 - fpr0) / 0.3)
    assert pixel_metrics({"v": wrong}, {"v": g})["pixel_auroc"] < 0.5


def test_one_true_region_and_one_false_region():
    m, g = _video(2)
    for t in range(2):
        _square(g, t, 2, 2, True)
        _square(m, t, 2, 2, 100)  # the true region, found at levels <= 100
    _square(m, 0, 8, 8, 200)  # a brighter false region in frame 0 only
    r = region_track_metrics({"v": m}, {"v": g}, levels=[150, 50])
    # level 150: no region found, 1 false positive in 2 frames (0.5 per frame); level 50: both regions
    # found, still 0.5 per frame. The best rate with at most x false positives per frame is 0 below
    # x = 0.5 and 1 from there: area 0.5 over [0, 1].
    assert r["rbdc"] == pytest.approx(0.5) and r["tbdc"] == pytest.approx(0.5)
    darker = m.copy()
    darker[0, 8:11, 8:11] = 20  # now found only below every level the true region is found at
    r = region_track_metrics({"v": darker}, {"v": g}, levels=[150, 50, 10])
    assert r["rbdc"] == pytest.approx(1.0)


def test_a_track_missed_in_most_frames_is_detected_when_alpha_allows_it():
    m, g = _video(10)
    for t in range(10):
        _square(g, t, 4, 4, True)
    _square(m, 0, 4, 4, 200)
    _square(m, 1, 4, 4, 200)  # found in 2 of its 10 frames
    r = region_track_metrics({"v": m}, {"v": g}, levels=[100])
    assert r["rbdc"] == pytest.approx(0.2) and r["tbdc"] == pytest.approx(1.0)  # 2/10 regions >= alpha 0.1
    assert region_track_metrics({"v": m}, {"v": g}, levels=[100], alpha=0.3)["tbdc"] == 0.0


def test_a_detection_overlapping_too_little_is_a_false_positive_not_a_hit():
    m, g = _video(1)
    _square(g, 0, 0, 0, True, size=2)  # 4 pixels
    m[0, :, :] = 0
    m[0, 1:12, 1:12] = 200  # 121 pixels sharing 1 with the region: IoU 1/124 < 0.1
    r = region_track_metrics({"v": m}, {"v": g}, levels=[100])
    assert r["rbdc"] == 0.0 and r["n_regions"] == 1
    assert region_track_metrics({"v": m}, {"v": g}, levels=[100], beta=0.005)["rbdc"] == 1.0


def test_pixel_auroc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    m = rng.integers(0, 6, size=(3, H, W)).astype(np.uint8)  # few levels: many ties
    g = rng.random((3, H, W)) < 0.2
    m[g] += 2
    expected = roc_auc_score(g.ravel(), m.ravel())
    assert pixel_metrics({"v": m}, {"v": g})["pixel_auroc"] == pytest.approx(expected, abs=1e-12)


def test_aupro_of_a_map_half_right_by_hand():
    m, g = _video(1)
    _square(g, 0, 0, 0, True, size=2)  # region A, 4 pixels, all at 200
    _square(g, 0, 6, 6, True, size=2)  # region B, 4 pixels, all at 0: found only with every pixel
    m[g & (np.arange(W)[None, None, :] < 4)] = 200
    p = pixel_metrics({"v": m}, {"v": g}, fpr_limit=0.3)
    # above 0: PRO 0.5 (A whole, B nothing) at FPR 0; at level 0 everything: FPR 1. Interpolated at
    # 0.3 the PRO is 0.5 + 0.3 * 0.5 = 0.65: area (0.5 + 0.65) / 2 * 0.3, divided by 0.3
    assert p["aupro"] == pytest.approx((0.5 + 0.65) / 2)
    assert p["n_regions"] == 2


def test_maps_of_the_wrong_type_are_refused():
    m, g = _video(1)
    with pytest.raises(ValueError, match="uint8"):
        pixel_metrics({"v": m.astype(np.float32)}, {"v": g})


def test_each_kind_is_judged_on_its_own_regions_against_every_normal_pixel():
    """One video's object is found, another's runner is missed: per kind 1 and 0, overall a half."""
    found_m, found_g = _video(2)
    missed_m, missed_g = _video(2)
    for t in range(2):
        _square(found_g, t, 2, 2, True)
        _square(missed_g, t, 6, 6, True)
    found_m[found_g] = 200
    maps, masks = {"a": found_m, "b": missed_m}, {"a": found_g, "b": missed_g}
    kinds = {"a": ["object", "object"], "b": ["running", "running"]}
    block = localization_metrics(maps, masks, n_videos=2, kinds=kinds)
    assert block["rbdc_by_kind"] == {"object": 1.0, "running": 0.0}
    assert block["tbdc_by_kind"] == {"object": 1.0, "running": 0.0}
    assert block["pixel_auroc_by_kind"]["object"] == 1.0
    assert block["pixel_auroc_by_kind"]["running"] == 0.5, "the runner's pixels tie with every normal pixel (all 0)"
    assert block["rbdc"] == pytest.approx(0.5) and block["tbdc"] == pytest.approx(0.5)


def test_intervals_resample_videos_and_need_two_of_them():
    m, g = _video(3)
    for t in range(3):
        _square(g, t, 2, 2, True)
    m[g] = 120
    one = localization_metrics({"v": m}, {"v": g}, n_videos=1)
    assert one["rbdc_ci"] is None and one["pixel_auroc_ci"] is None, "one video: no interval over videos"
    same = localization_metrics({"v": m, "w": m.copy()}, {"v": g, "w": g.copy()}, n_videos=2)
    assert same["rbdc_ci"] == [1.0, 1.0] and same["pixel_auroc_ci"] == [1.0, 1.0], "identical videos: no spread"
    missed = np.zeros_like(m)
    mixed = localization_metrics({"v": m, "w": missed}, {"v": g, "w": g.copy()}, n_videos=2)
    lo, hi = mixed["rbdc_ci"]
    assert lo == 0.0 and hi == 1.0 and lo <= mixed["rbdc"] <= hi, "a resample may draw either video twice"
    assert mixed["bootstrap"]["n_boot"] == 1000
