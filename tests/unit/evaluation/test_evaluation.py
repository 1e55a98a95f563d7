"""Evaluation layer: frame scores, post-processing, metrics (checked against sklearn) and result files."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from vadlit.errors import ConfigError, DataError, VadlitError
from vadlit.evaluation.frame_scores import FrameScores
from vadlit.evaluation.metrics import compute_metrics, roc_curve
from vadlit.evaluation.outputs import read_scores_csv, write_json, write_scores_csv
from vadlit.evaluation.postprocess import ScoreOptions, apply_options, options_record

TOL = 1e-6  # torchmetrics computes rates in float32


def _pool(d: dict) -> np.ndarray:
    return np.concatenate([np.asarray(v) for v in d.values()])


def _random_case(seed: int = 0, n_videos: int = 4, offset: float = 0.0):
    """Integer-valued scores (many ties), optionally shifted far outside [0, 1]."""
    rng = np.random.default_rng(seed)
    scores, labels = {}, {}
    for i in range(n_videos):
        n = int(rng.integers(20, 60))
        y = (rng.random(n) < 0.3).astype(np.int64)
        s = rng.integers(0, 8, n).astype(np.float64) + 2.0 * y + offset
        scores[f"v{i}"], labels[f"v{i}"] = s, y
    return scores, labels


# ---------------------------------------------------------------- metrics


@pytest.mark.parametrize("offset", [0.0, 1000.0, -50.0])
def test_micro_auroc_and_ap_match_sklearn_with_ties(offset):
    # Offsets far outside [0, 1] would be squashed to ties by torchmetrics' automatic sigmoid.
    scores, labels = _random_case(seed=1, offset=offset)
    m = compute_metrics(scores, labels)
    s, y = _pool(scores), _pool(labels)
    assert m["auroc"] == pytest.approx(roc_auc_score(y, s), abs=TOL)
    assert m["ap"] == pytest.approx(average_precision_score(y, s), abs=TOL)
    assert m["n_frames"] == len(s)
    assert m["n_videos"] == len(scores)
    assert m["n_anomalous_frames"] == int(y.sum())
    assert m["warnings"] == []


def test_perfect_and_reversed_separation():
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 1])}
    perfect = {"a": np.array([0.1, 0.2, 0.8, 0.9]), "b": np.array([0.0, 1.0])}
    m = compute_metrics(perfect, labels)
    assert m["auroc"] == 1.0 and m["ap"] == 1.0 and m["auroc_macro"] == 1.0
    assert m["eer"] == 0.0
    assert m["eer_threshold"] == pytest.approx(0.8)  # lowest anomalous score: catches all, no false alarm
    reversed_ = {k: -v for k, v in perfect.items()}
    r = compute_metrics(reversed_, labels)
    assert r["auroc"] == 0.0 and r["auroc_macro"] == 0.0
    assert r["eer"] == pytest.approx(1.0)


def test_eer_hand_computed_with_interpolation():
    # Descending: 0.5(A) 0.4(A) 0.3(N) 0.2(A) 0.1(N); P=3, N=2.
    # ROC: (0,0) (0,1/3) (0,2/3) (1/2,2/3) (1/2,1) (1,1).  FNR-FPR changes sign between
    # (0,2/3) [gap 1/3, thr 0.4] and (1/2,2/3) [gap -1/6, thr 0.3]: t = 2/3 -> EER 1/3, thr 0.4 - 0.1*2/3.
    scores = {"v": np.array([0.1, 0.3, 0.2, 0.4, 0.5])}
    labels = {"v": np.array([0, 0, 1, 1, 1])}
    m = compute_metrics(scores, labels)
    assert m["eer"] == pytest.approx(1 / 3)
    assert m["eer_threshold"] == pytest.approx(0.4 - 0.1 * 2 / 3)


def test_eer_exact_roc_point():
    # sklearn's doc example: ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1); FPR = FNR = 0.5 at threshold 0.4.
    m = compute_metrics({"v": np.array([0.1, 0.4, 0.35, 0.8])}, {"v": np.array([0, 0, 1, 1])})
    assert m["eer"] == pytest.approx(0.5)
    assert m["eer_threshold"] == pytest.approx(0.4)


def test_macro_auroc_skips_one_class_videos():
    scores, labels = _random_case(seed=2, n_videos=3)
    scores["all_normal"], labels["all_normal"] = np.arange(10.0), np.zeros(10, dtype=np.int64)
    scores["all_anomalous"], labels["all_anomalous"] = np.arange(5.0), np.ones(5, dtype=np.int64)
    m = compute_metrics(scores, labels)
    expected = [roc_auc_score(labels[k], scores[k]) for k in ("v0", "v1", "v2")]
    assert m["n_videos_macro"] == 3
    assert m["n_videos_skipped_macro"] == 2
    assert m["auroc_macro"] == pytest.approx(np.mean(expected), abs=TOL)
    assert m["auroc_per_video"]["all_normal"] is None
    assert m["auroc_per_video"]["all_anomalous"] is None
    assert m["auroc_per_video"]["v1"] == pytest.approx(expected[1], abs=TOL)
    assert list(m["auroc_per_video"]) == list(scores)
    assert any("2 of 5 videos" in w for w in m["warnings"])


def test_auroc_by_kind_uses_that_kinds_positives_against_all_normal_frames():
    scores, labels = _random_case(seed=3, n_videos=4)
    rng = np.random.default_rng(4)
    kinds = {}
    for name, y in labels.items():
        # Per-video kind on anomalous frames; one video mixes two kinds.
        pool = ["fighting", "arson"] if name == "v3" else [["fighting", "arson", "arson"][int(name[1]) % 3]]
        kinds[name] = ["normal" if v == 0 else str(rng.choice(pool)) for v in y]
    m = compute_metrics(scores, labels, kinds)
    s, y = _pool(scores), _pool(labels)
    k = np.concatenate([np.array(kinds[n], dtype=object) for n in scores])
    assert set(m["auroc_by_kind"]) == {"fighting", "arson"}
    for kind in ("fighting", "arson"):
        subset = (y == 0) | (k == kind)
        assert m["auroc_by_kind"][kind] == pytest.approx(roc_auc_score(y[subset], s[subset]), abs=TOL)


def test_auroc_by_kind_with_per_video_kinds_on_normal_frames_too():
    # A video-level kind repeated on every frame: normal frames of "fighting" videos are still negatives.
    scores = {"f": np.array([0.1, 0.9, 0.8]), "n": np.array([0.2, 0.3])}
    labels = {"f": np.array([0, 1, 1]), "n": np.array([0, 0])}
    kinds = {"f": ["fighting"] * 3, "n": ["normal"] * 2}
    m = compute_metrics(scores, labels, kinds)
    assert m["auroc_by_kind"] == {"fighting": 1.0}
    assert compute_metrics(scores, labels)["auroc_by_kind"] == {}


@pytest.mark.parametrize("label", [0, 1])
def test_undefined_metrics_are_none_with_warning_never_nan(label):
    scores = {"a": np.array([0.1, 0.5, 0.3]), "b": np.array([0.2, 0.2])}
    labels = {"a": np.full(3, label), "b": np.full(2, label)}
    kinds = {"a": ["fighting"] * 3, "b": ["normal"] * 2}
    m = compute_metrics(scores, labels, kinds)
    for key in ("auroc", "auroc_macro", "ap", "eer", "eer_threshold"):
        assert m[key] is None, key
    assert m["auroc_per_video"] == {"a": None, "b": None}
    assert m["n_videos_macro"] == 0 and m["n_videos_skipped_macro"] == 2
    assert m["warnings"] and all(isinstance(w, str) for w in m["warnings"])
    assert any("auroc, ap, eer" in w for w in m["warnings"])
    if label == 1:
        assert m["auroc_by_kind"] == {"fighting": None}
    json.dumps(m, allow_nan=False)


def test_metrics_are_plain_json_types():
    scores, labels = _random_case(seed=5)
    kinds = {n: ["normal" if v == 0 else "theft" for v in y] for n, y in labels.items()}
    m = compute_metrics(scores, labels, kinds)

    def check(x):
        if isinstance(x, dict):
            for key, value in x.items():
                assert type(key) is str
                check(value)
        elif isinstance(x, list):
            for value in x:
                check(value)
        else:
            assert x is None or type(x) in (int, float, str, bool), type(x)
            assert not (isinstance(x, float) and not math.isfinite(x))

    check(m)
    json.dumps(m, allow_nan=False)


def test_empty_input_gives_none():
    m = compute_metrics({}, {})
    assert m["auroc"] is None and m["n_frames"] == 0 and m["warnings"]
    json.dumps(m, allow_nan=False)


def test_metrics_validation_errors_name_the_video():
    good_s, good_y = {"a": np.array([0.1, 0.2])}, {"a": np.array([0, 1])}
    with pytest.raises(DataError, match="'b'"):
        compute_metrics({**good_s, "b": np.zeros(2)}, good_y)
    with pytest.raises(DataError, match="'a'.*3 scores but 2 labels"):
        compute_metrics({"a": np.zeros(3)}, good_y)
    with pytest.raises(DataError, match="'a'.*labels contain 2"):
        compute_metrics(good_s, {"a": np.array([0, 2])})
    with pytest.raises(DataError, match="'a'.*NaN or infinite"):
        compute_metrics({"a": np.array([0.1, np.nan])}, good_y)
    with pytest.raises(DataError, match="'a'.*inf"):
        compute_metrics({"a": np.array([np.inf, 0.1])}, good_y)
    with pytest.raises(DataError, match="'a'.*kinds"):
        compute_metrics(good_s, good_y, {"a": ["normal"]})
    # bool and float 0/1 labels are accepted
    assert compute_metrics(good_s, {"a": np.array([False, True])})["auroc"] == 1.0
    assert compute_metrics(good_s, {"a": np.array([0.0, 1.0])})["auroc"] == 1.0


def test_roc_curve_matches_sklearn():
    scores, labels = _random_case(seed=6, offset=100.0)
    fpr, tpr, thr = roc_curve(scores, labels)
    s, y = _pool(scores), _pool(labels)
    sk_fpr, sk_tpr, sk_thr = sk_roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert np.isinf(thr[0])
    np.testing.assert_array_equal(thr[1:], sk_thr[1:])
    with pytest.raises(DataError, match="both classes"):
        roc_curve({"a": np.zeros(3)}, {"a": np.zeros(3)})


# ---------------------------------------------------------------- frame scores


def test_frame_scores_overlapping_windows_hand_checked():
    # Length 11, windows of 4 with stride 2, last window aligned to the end: starts 0, 2, 4, 6, 7.
    starts = [0, 2, 4, 6, 7]
    clip_scores = [1.0, 2.0, 3.0, 4.0, 5.0]
    expected_a = np.array([1, 1, 1.5, 1.5, 2.5, 2.5, 3.5, (3 + 4 + 5) / 3, 4.5, 4.5, 5])
    fs = FrameScores(["a", "b"], [11, 4])
    # Video b: one window covering it all, frame-varying scores.
    video = torch.tensor([0] * 5 + [1])
    frames = torch.tensor([[s + i for i in range(4)] for s in starts] + [[0, 1, 2, 3]])
    scores = torch.tensor([[c] * 4 for c in clip_scores] + [[0.5, 0.25, 0.125, 1.0]], dtype=torch.float32)
    fs.update(video[:3], frames[:3], scores[:3])  # split over two batches
    fs.update(video[3:], frames[3:], scores[3:].to(torch.float16))
    out = fs.compute()
    assert list(out) == ["a", "b"]
    np.testing.assert_allclose(out["a"], expected_a)
    np.testing.assert_allclose(out["b"], [0.5, 0.25, 0.125, 1.0])
    assert out["a"].dtype == np.float64
    fs.reset()
    with pytest.raises(VadlitError):
        fs.compute()


def test_frame_scores_one_frame_per_clip_predict_case():
    fs = FrameScores(["v"], [5])
    # Predict-style: each clip scores only its last frame; frames 0-1 come from padded clips.
    fs.update(torch.tensor([0, 0, 0]), torch.tensor([[0], [1], [2]]), torch.tensor([[0.1], [0.2], [0.3]]))
    fs.update(torch.tensor([0, 0, 0]), torch.tensor([3, 4, 4]), torch.tensor([0.4, 0.5, 0.7]))  # 1-D form
    np.testing.assert_allclose(fs.compute()["v"], [0.1, 0.2, 0.3, 0.4, 0.6])


def test_whole_clips_under_predict_score_their_last_frame_and_warm_up_from_the_first():
    # Video of 6 frames, clips of 3 at stride 1: starts 0..3, each judging its last frame only.
    fs = FrameScores(["v"], [6])
    frames = torch.tensor([[s, s + 1, s + 2] for s in range(4)])
    fs.add_clips(torch.zeros(4, dtype=torch.long), frames, torch.tensor([[1.0], [2.0], [3.0], [4.0]]), last_only=True)
    # frames 0 and 1 have no history: they take the first prediction's score (frame 2's)
    np.testing.assert_allclose(fs.compute()["v"], [1, 1, 1, 2, 3, 4])
    whole = FrameScores(["v"], [6])  # reconstruct: every frame of every clip is judged
    whole.add_clips(torch.zeros(2, dtype=torch.long), torch.tensor([[0, 1, 2], [3, 4, 5]]),
                    torch.arange(6.0).view(2, 3), last_only=False)
    np.testing.assert_allclose(whole.compute()["v"], np.arange(6.0))


def test_frame_scores_missing_frames_name_the_video():
    fs = FrameScores(["full", "gappy"], [2, 5])
    fs.update(torch.tensor([0, 1]), torch.tensor([[0, 1], [0, 1]]), torch.ones(2, 2))
    fs.update(torch.tensor([1]), torch.tensor([[3, 3]]), torch.ones(1, 2))
    with pytest.raises(VadlitError, match=r"'gappy' \(2 of 5 frames") as info:
        fs.compute()
    assert "'full'" not in str(info.value)


def test_frame_scores_rejects_bad_indices():
    fs = FrameScores(["v"], [3])
    with pytest.raises(DataError, match="'v'.*frame index 3"):
        fs.update(torch.tensor([0]), torch.tensor([[1, 3]]), torch.zeros(1, 2))
    with pytest.raises(DataError, match="video index 1"):
        fs.update(torch.tensor([1]), torch.tensor([[0]]), torch.zeros(1, 1))
    with pytest.raises(DataError, match="shape"):
        fs.update(torch.tensor([0]), torch.tensor([[0, 1]]), torch.zeros(1, 3))
    with pytest.raises(DataError):
        FrameScores(["a", "b"], [3])


# ---------------------------------------------------------------- post-processing


def test_defaults_change_nothing():
    scores, _ = _random_case(seed=7)
    out = apply_options(scores, ScoreOptions())
    assert list(out) == list(scores)
    for name in scores:
        np.testing.assert_array_equal(out[name], scores[name])
        assert out[name] is not scores[name]
    assert options_record(ScoreOptions())["uses_test_statistics"] is False


def test_smoothing_keeps_length_and_reduces_variance():
    rng = np.random.default_rng(8)
    scores = {"a": rng.random(200), "b": rng.random(37)}
    out = apply_options(scores, ScoreOptions(smooth_sigma=3.0))
    for name in scores:
        assert out[name].shape == scores[name].shape
        assert out[name].var() < scores[name].var()


def test_normalisation_per_video_and_constant_video():
    scores = {"a": np.array([2.0, 5.0, 3.0]), "b": np.array([-1.0, 10.0]), "c": np.full(4, 7.0)}
    out = apply_options(scores, ScoreOptions(normalize=True))
    for name in ("a", "b"):
        assert out[name].min() == 0.0 and out[name].max() == 1.0
    np.testing.assert_allclose(out["a"], [0, 1, 1 / 3])
    np.testing.assert_array_equal(out["c"], np.zeros(4))
    both = apply_options(scores, ScoreOptions(normalize=True, smooth_sigma=1.0))
    assert both["a"].min() == 0.0 and both["a"].max() == 1.0  # normalised after smoothing


def test_negative_sigma_is_a_config_error():
    with pytest.raises(ConfigError, match="eval.smooth_sigma"):
        apply_options({"a": np.zeros(3)}, ScoreOptions(smooth_sigma=-1.0))


def test_options_record():
    rec = options_record(ScoreOptions(normalize=True, smooth_sigma=2))
    assert rec == {
        "per_video_normalization": True,
        "smoothing_sigma": 2.0,
        "uses_test_statistics": True,
        "order": "smooth, then normalise",
    }
    json.dumps(rec, allow_nan=False)


# ---------------------------------------------------------------- result files


def test_csv_round_trip_is_bit_exact(tmp_path):
    rng = np.random.default_rng(9)
    scores = {"vid_b": rng.standard_normal(7) * 1e-7, "vid,a": rng.random(3) * 1e9, "c": np.array([0.1, 1 / 3])}
    labels = {k: (rng.random(len(v)) < 0.5).astype(np.int64) for k, v in scores.items()}
    kinds = {k: ["normal" if y == 0 else "road accident" for y in labels[k]] for k in scores}
    path = tmp_path / "scores.csv"
    write_scores_csv(path, scores, labels, kinds)
    s2, y2, k2 = read_scores_csv(path)
    assert list(s2) == list(scores)
    for name in scores:
        assert s2[name].view(np.int64).tolist() == scores[name].view(np.int64).tolist()  # bit-exact
        np.testing.assert_array_equal(y2[name], labels[name])
        assert k2[name] == kinds[name]
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["video", "frame", "score", "label", "kind"]
    assert [r[1] for r in rows[1:8]] == [str(i) for i in range(1, 8)]  # 1-based
    assert rows[8][:2] == ["vid,a", "1"]


def test_csv_without_labels_has_empty_cells(tmp_path):
    path = tmp_path / "scores.csv"
    write_scores_csv(path, {"v": np.array([0.5, 0.25])})
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1] == ["v", "1", "0.5", "", ""]
    scores, labels, kinds = read_scores_csv(path)
    assert labels is None and kinds is None
    np.testing.assert_array_equal(scores["v"], [0.5, 0.25])


def test_csv_reader_rejects_gaps(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("video,frame,score,label,kind\nv,1,0.5,,\nv,3,0.5,,\n")
    with pytest.raises(DataError, match="expected frame 2"):
        read_scores_csv(path)


def test_write_json_atomic_and_strict(tmp_path):
    path = tmp_path / "out" / "metrics.json"
    write_json(path, {"auroc": np.float64(0.5), "n": np.int64(3), "x": None, "l": [1, 2]})
    assert json.loads(path.read_text()) == {"auroc": 0.5, "n": 3, "x": None, "l": [1, 2]}
    assert "\n  " in path.read_text()  # indented
    write_json(path, {"auroc": 0.75})
    assert json.loads(path.read_text()) == {"auroc": 0.75}
    with pytest.raises(ValueError):
        write_json(path, {"auroc": float("nan")})
    assert json.loads(path.read_text()) == {"auroc": 0.75}  # old file intact
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temp files left


def test_padded_macro_equals_a_hand_computation_and_the_papers_literal_padding():
    scores = {"a": np.array([0.1, 0.4, 0.35, 0.8]), "b": np.array([0.2, 0.3, 0.3])}
    labels = {"a": np.array([0, 0, 1, 1]), "b": np.array([0, 0, 0])}
    m = compute_metrics(scores, labels, n_boot=10)
    # a: pseudo-frames at 0.1 (normal) and 0.8 (anomalous): 8 of 9 pairs ordered; b: 2 of 4 ordered, 2 ties
    assert m["auroc_macro_padded"] == pytest.approx((8 / 9 + 0.75) / 2)
    assert m["n_videos_skipped_macro"] == 1 and m["auroc_macro"] == pytest.approx(m["auroc_per_video"]["a"])
    assert set(m["conventions"]) == {"auroc", "auroc_macro", "auroc_macro_padded"}

    rng = np.random.default_rng(3)  # as AI-VAD / SSMTL++ code does it: min-max scale, pad with 0 and 1
    for _ in range(5):
        s, y = rng.normal(size=30) * 7 + 2, (rng.random(30) < 0.3).astype(int)
        scaled = (s - s.min()) / (s.max() - s.min())
        literal = roc_auc_score(np.concatenate(([0], y, [1])), np.concatenate(([0], scaled, [1])))
        assert compute_metrics({"v": s}, {"v": y}, n_boot=10)["auroc_macro_padded"] == pytest.approx(literal, abs=TOL)
