"""Trivial scores (foreground, frame difference): their definitions, and a guard on the benchmark.

A benchmark where one of them finds a motion-only kind would credit a model with motion it never saw.
"""

from __future__ import annotations

import numpy as np
import pytest

from vadlit.data.cache import CachedVideo, load_split
from vadlit.data.datamodule import ClipDataModule
from vadlit.data.sources.synthetic import SyntheticSource
from vadlit.errors import DataError
from vadlit.evaluation import trivial
from vadlit.evaluation.postprocess import ScoreOptions
from vadlit.evaluation.test_result import TestResult
from vadlit.evaluation.trivial import (background, foreground_maps, foreground_scores, frame_difference_maps,
                                       frame_difference_scores, run_baselines,
                                       trivial_baselines, trivial_scores)


def _video(name: str, values, size=(2, 3), channels=1) -> CachedVideo:
    """Frames that are constant images of the given values, (N, H, W, C) uint8 like the cache's."""
    frames = np.stack([np.full((*size, channels), v, dtype=np.uint8) for v in values])
    return CachedVideo(frames, name=name)


# ---------------------------------------------------------------------------------- definitions

def test_background_is_the_per_pixel_median_of_training_frames():
    frames = np.zeros((3, 2, 2, 1), dtype=np.uint8)
    frames[:, 0, 0, 0] = [1, 8, 3]
    frames[:, 1, 1, 0] = [200, 0, 100]
    bg, n = background([CachedVideo(frames, name="t")])
    assert n == 3 and bg.dtype == np.float32 and bg.shape == (2, 2, 1)
    assert bg[0, 0, 0] == 3 and bg[1, 1, 0] == 100 and bg[0, 1, 0] == 0


def test_background_subsample_is_evenly_spaced_over_all_training_videos():
    videos = [_video("a", [0, 0, 0]), _video("b", [50, 50, 90, 90, 90])]
    bg, n = background(videos, max_frames=3)  # frames 0, 4 and 7 of the 8: values 0, 50, 90
    assert n == 3 and bg[0, 0, 0] == 50


def test_background_ignores_test_frames():
    """Training frames are 10, test frames 200: a background that saw the test frames would be 200."""
    train = [_video("train", [10, 10, 10])]
    test = {"test": _video("test", [200] * 5)}
    scores, note = trivial_scores(train, test)
    np.testing.assert_array_equal(scores["foreground"]["test"], np.full(5, 190.0))
    assert note == "per-pixel median of 3 normal training frames"


def test_foreground_is_the_mean_absolute_difference_over_pixels():
    bg = np.array([[[10.0], [20.0]]], dtype=np.float32)  # (1, 2, 1)
    frames = np.array([[[[10], [20]]], [[[0], [40]]], [[[255], [0]]]], dtype=np.uint8)
    np.testing.assert_allclose(foreground_scores(frames, bg), [0.0, 15.0, (245 + 20) / 2])


def test_frame_difference_first_frame_takes_the_seconds_value():
    frames = _video("v", [0, 10, 30, 30]).frames
    np.testing.assert_array_equal(frame_difference_scores(frames), [10.0, 10.0, 20.0, 0.0])
    assert frame_difference_scores(frames[:1]).tolist() == [0.0]
    uneven = np.zeros((2, 1, 2, 3), dtype=np.uint8)
    uneven[1, 0, 0] = [255, 0, 3]  # no uint8 wrap-around, mean over all pixels and channels
    assert frame_difference_scores(uneven).tolist() == [43.0, 43.0]


def test_chunked_scores_equal_unchunked(monkeypatch):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(23, 5, 4, 3), dtype=np.uint8)
    bg = rng.uniform(0, 255, size=(5, 4, 3)).astype(np.float32)
    whole = foreground_scores(frames, bg), frame_difference_scores(frames)
    monkeypatch.setattr(trivial, "CHUNK_BYTES", 4 * 5 * 4 * 3 * 3)  # 3 frames per chunk, 2 rows per block
    np.testing.assert_allclose(foreground_scores(frames, bg), whole[0], rtol=1e-6)
    np.testing.assert_allclose(frame_difference_scores(frames), whole[1], rtol=1e-6)
    train = [CachedVideo(rng.integers(0, 256, size=(7, 5, 4, 3), dtype=np.uint8), name="t")]
    np.testing.assert_array_equal(background(train)[0], np.median(train[0].frames, axis=0))


def test_baselines_have_the_models_metric_keys_and_postprocessing():
    train = [_video("train", [10] * 4)]
    test = {"v": _video("v", [10, 10, 90, 90, 10, 10])}
    labels = {"v": np.array([0, 0, 1, 1, 0, 0])}
    kinds = {"v": ["normal", "normal", "object", "object", "normal", "normal"]}
    out = trivial_baselines(train, test, labels, kinds)
    assert set(out) == {"foreground", "frame_difference", "background"}
    fg = out["foreground"]
    assert fg["auroc"] == 1.0 and fg["auroc_by_kind"] == {"object": 1.0} and fg["n_events_by_kind"] == {"object": 1}
    assert {"auroc_macro", "auroc_by_kind_ci", "auroc_by_kind_within_video", "ap", "eer"} <= set(fg)
    assert "auroc_per_video" not in fg
    # frame difference: 0, 0, 80, 0, 80, 0 (first takes the second's): the jumps, not the event;
    # anomalous {80, 0} against normal {0, 0, 80, 0}: (3.5 + 1.5) / 8 pairs
    assert out["frame_difference"]["auroc"] == pytest.approx(0.625)
    smoothed = trivial_baselines(train, test, labels, kinds, ScoreOptions(smooth_sigma=1.0))
    assert smoothed["frame_difference"]["auroc"] != out["frame_difference"]["auroc"]


def test_no_training_frames_means_no_foreground_score():
    test = {"v": _video("v", [10, 90])}
    out = trivial_baselines([], test, {"v": np.array([0, 1])}, None)
    assert out["foreground"] is None and out["frame_difference"]["auroc"] is not None
    assert out["background"].startswith("none")
    with pytest.raises(DataError, match="no normal training frames"):
        background([])


def test_eval_mode_takes_the_background_from_the_cached_train_split(tmp_path, array_source):
    """vadlit-eval never sets up the train split: the baselines open it from the same cache."""
    dm = ClipDataModule(array_source, image_size=[24, 20], channels=3, clip_len=4, cache_dir=str(tmp_path))
    dm.setup("test")
    assert dm.train_split is None

    result = TestResult(scores={v.name: np.zeros(len(v)) for v in dm.test_videos},
                        labels={v.name: v.labels for v in dm.test_videos},
                        kinds={v.name: v.kinds for v in dm.test_videos}, metrics=None, skipped_videos=[])
    out = run_baselines(dm, result)
    assert out["background"] == f"per-pixel median of {sum(array_source.train_lengths)} normal training frames"
    assert out["foreground"]["n_frames"] == sum(array_source.test_lengths)
    assert "localization" not in out["foreground"], "no maps were made, so no trivial map is scored"
    result.labels = None
    assert run_baselines(dm, result) is None


def test_trivial_maps_are_the_per_pixel_differences_and_are_localised_against_the_masks():
    """The pixel maps behind the frame scores: |x - background| and |x_t - x_(t-1)|, channel means in 0..255."""
    frames = np.zeros((3, 4, 4, 3), np.uint8)
    frames[1, 1:3, 1:3] = 90  # a square appears in frame 1 and stays in frame 2
    frames[2, 1:3, 1:3] = 90
    frames[2, 0, 0] = [30, 60, 90]
    bg = np.zeros((4, 4, 3), np.float32)
    fg = foreground_maps(frames, bg)
    assert fg.dtype == np.uint8 and fg.shape == (3, 4, 4)
    assert fg[1, 1, 1] == 90 and fg[0].max() == 0 and fg[2, 0, 0] == 60
    diff = frame_difference_maps(frames)
    np.testing.assert_array_equal(diff[0], diff[1])  # the first frame takes the second's map
    assert diff[1, 1, 1] == 90 and diff[2, 1, 1] == 0 and diff[2, 0, 0] == 60
    masks = np.zeros((3, 4, 4), bool)
    masks[1:, 1:3, 1:3] = True
    video = CachedVideo(name="v", frames=frames, labels=np.array([0, 1, 1], np.uint8),
                        kinds=["normal", "object", "object"], masks=masks)
    train = [CachedVideo(name="t", frames=np.zeros((2, 4, 4, 3), np.uint8))]
    out = trivial_baselines(train, {"v": video}, {"v": video.labels}, {"v": video.kinds}, masks={"v": masks})
    found = out["foreground"]["localization"]
    assert found["pixel_auroc"] > 0.9 and found["rbdc"] == pytest.approx(1.0) and found["n_videos_with_masks"] == 1
    assert out["frame_difference"]["localization"]["rbdc"] < 1.0, "a square that stops moving is missed in frame 2"


def test_console_summary_shows_intervals_and_trivial_scores(capsys, tmp_path):
    from vadlit.tasks.results import print_summary

    kinds = {"crossing": 0.55, "object": 0.9}
    metrics = {"auroc": 0.6, "auroc_macro": 0.5, "ap": 0.4, "eer": 0.3, "auroc_by_kind": kinds,
               "auroc_by_kind_ci": {"crossing": [0.412, 0.68], "object": None},
               "trivial_baselines": {"foreground": {"auroc": 0.521, "auroc_by_kind": kinds},
                                     "frame_difference": None, "background": "per-pixel median of 3 frames"}}
    print_summary(metrics, tmp_path)
    out = capsys.readouterr().out
    assert "AUROC by kind: crossing 55.0 [41.2, 68.0], object 90.0\n" in out
    assert "trivial: foreground 52.1 (crossing 55.0, object 90.0)\n" in out


# ---------------------------------------------------------------------------------- benchmark guard

@pytest.fixture(scope="module", params=[0, 1], ids=["seed0", "seed1"])
def synthetic_baselines(request, tmp_path_factory):
    """The trivial baselines on the default synthetic benchmark (default size and videos), via the cache."""
    source = SyntheticSource(seed=request.param)
    cache = tmp_path_factory.mktemp("trivial-cache")
    train, test = (load_split(source, split, cache, 64, 1) for split in ("train", "test"))
    return trivial_baselines(train.videos, {v.name: v for v in test.videos}, {v.name: v.labels for v in test.videos},
                             {v.name: v.kinds for v in test.videos})


def test_foreground_cannot_see_running_or_loitering(synthetic_baselines):
    """The anomalous pedestrian is a walker who turns anomalous, not an extra person."""
    by_kind = synthetic_baselines["foreground"]["auroc_by_kind"]
    assert by_kind["running"] < 0.7 and by_kind["loitering"] < 0.7, by_kind
    assert by_kind["object"] > 0.85, "the appearance kind stays visible in single frames"


def test_frame_difference_cannot_see_loitering_or_crossing(synthetic_baselines):
    """How much changes between frames must not give away a pedestrian who stops or turns."""
    by_kind = synthetic_baselines["frame_difference"]["auroc_by_kind"]
    assert by_kind["loitering"] < 0.7 and by_kind["crossing"] < 0.7, by_kind
