"""Attention statistics on hand-made weight matrices whose values follow from the definitions by hand."""

from __future__ import annotations

import csv
import math
import warnings

import numpy as np
import pytest
import torch

from vadlit.analysis.attention_stats import (
    ROW_KEYS,
    STATISTICS,
    clip_statistics,
    mean_maps,
    plot_mean_maps,
    rows_to_csv,
    summarize,
)
from vadlit.models.components.attention import TemporalAttention


def as_weights(*matrices: torch.Tensor) -> torch.Tensor:
    """One clip, one position, one head per matrix: (1, 1, heads, T, T)."""
    return torch.stack(matrices)[None, None]


def identity(t: int) -> torch.Tensor:
    return torch.eye(t, dtype=torch.float64)


def uniform(t: int) -> torch.Tensor:
    return torch.full((t, t), 1.0 / t, dtype=torch.float64)


def shift(t: int, k: int) -> torch.Tensor:
    """Every frame attends only to frame (i + k) mod t."""
    return torch.roll(identity(t), k, dims=1)


def values(weights: torch.Tensor) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in clip_statistics(weights).items()}


def approx(x) -> pytest.approx:
    return pytest.approx(x, abs=1e-12)


# ------------------------------------------------------------------------------------ clip_statistics

def test_identity():
    s = values(as_weights(identity(6)))
    assert set(s) == set(STATISTICS)
    assert all(v.shape == (1, 1) and v.dtype == np.float64 for v in s.values())
    assert s["self"][0, 0] == approx(1.0)
    assert s["local"][0, 0] == approx(0.0)
    assert s["long_range"][0, 0] == approx(0.0)
    assert s["entropy"][0, 0] == approx(0.0)
    assert s["consistency"][0, 0] == approx(0.0)


def test_uniform():
    s = values(as_weights(uniform(6)))
    for name in ("self", "local", "long_range"):
        assert s[name][0, 0] == approx(1 / 6)
    assert s["entropy"][0, 0] == approx(math.log(6))
    assert s["consistency"][0, 0] == approx(1.0)


def test_banded_tridiagonal():
    # T = 5, ones on |i - j| <= 1, normalised per row:
    # rows 0 and 4: two entries of 1/2; rows 1..3: three entries of 1/3
    w = torch.tensor([
        [1 / 2, 1 / 2, 0, 0, 0],
        [1 / 3, 1 / 3, 1 / 3, 0, 0],
        [0, 1 / 3, 1 / 3, 1 / 3, 0],
        [0, 0, 1 / 3, 1 / 3, 1 / 3],
        [0, 0, 0, 1 / 2, 1 / 2],
    ], dtype=torch.float64)
    s = values(as_weights(w))
    # diagonal: 1/2 + 3 * 1/3 + 1/2 = 2 over 5 entries
    assert s["self"][0, 0] == approx(2 / 5)
    # |i-j| == 1: 8 entries, 1/2 (0,1) + 1/2 (4,3) + six of 1/3 = 3
    assert s["local"][0, 0] == approx(3 / 8)
    # |i-j| > 2: (0,3) (0,4) (1,4) and mirrored, all zero
    assert s["long_range"][0, 0] == approx(0.0)
    assert s["entropy"][0, 0] == approx((2 * math.log(2) + 3 * math.log(3)) / 5)
    # cos(r0, r1) = (1/6 + 1/6) / (sqrt(1/2) sqrt(1/3)) = sqrt(6)/3; cos(r1, r2) = (2/9) / (1/3) = 2/3;
    # cos(r2, r3) = 2/3; cos(r3, r4) = sqrt(6)/3
    assert s["consistency"][0, 0] == approx((2 * math.sqrt(6) / 3 + 2 * 2 / 3) / 4)


def test_causal_band_rows_not_columns():
    # T = 5, frame 0 on itself, frame i > 0 half on itself and half on i - 1: rows sum to 1, columns do not,
    # so entropy and consistency catch a transposed implementation
    w = torch.tensor([
        [1, 0, 0, 0, 0],
        [1 / 2, 1 / 2, 0, 0, 0],
        [0, 1 / 2, 1 / 2, 0, 0],
        [0, 0, 1 / 2, 1 / 2, 0],
        [0, 0, 0, 1 / 2, 1 / 2],
    ], dtype=torch.float64)
    s = values(as_weights(w))
    assert s["self"][0, 0] == approx((1 + 4 * 0.5) / 5)
    assert s["local"][0, 0] == approx(4 * 0.5 / 8)
    assert s["long_range"][0, 0] == approx(0.0)
    assert s["entropy"][0, 0] == approx(4 * math.log(2) / 5)
    # cos(r0, r1) = (1/2) / (1 * sqrt(1/2)) = 1/sqrt(2); the other three: (1/4) / (1/2) = 1/2
    assert s["consistency"][0, 0] == approx((1 / math.sqrt(2) + 3 * 0.5) / 4)


def test_long_range_shift():
    # T = 6, i -> (i + 3) mod 6: all six ones at distance 3, among the 12 entries with |i-j| > 2
    s = values(as_weights(shift(6, 3)))
    assert s["self"][0, 0] == approx(0.0)
    assert s["local"][0, 0] == approx(0.0)
    assert s["long_range"][0, 0] == approx(6 / 12)
    assert s["entropy"][0, 0] == approx(0.0)
    assert s["consistency"][0, 0] == approx(0.0)


def test_heads_clips_and_positions_are_separated():
    t = 6
    w = torch.empty(2, 3, 2, t, t, dtype=torch.float64)
    w[0, :, 0] = identity(t)                # clip 0: head 0 identity, head 1 uniform, at every position
    w[0, :, 1] = uniform(t)
    w[1, 0, 0] = identity(t)                # clip 1, head 0: one pattern per position
    w[1, 1, 0] = uniform(t)
    w[1, 2, 0] = shift(t, 3)
    w[1, :, 1] = identity(t)                # clip 1, head 1: identity
    s = values(w)
    assert all(v.shape == (2, 2) for v in s.values())
    np.testing.assert_allclose(s["self"], [[1, 1 / 6], [(1 + 1 / 6 + 0) / 3, 1]], atol=1e-12)
    np.testing.assert_allclose(s["local"], [[0, 1 / 6], [(0 + 1 / 6 + 0) / 3, 0]], atol=1e-12)
    np.testing.assert_allclose(s["long_range"], [[0, 1 / 6], [(0 + 1 / 6 + 0.5) / 3, 0]], atol=1e-12)
    np.testing.assert_allclose(s["entropy"], [[0, math.log(6)], [math.log(6) / 3, 0]], atol=1e-12)
    np.testing.assert_allclose(s["consistency"], [[0, 1], [1 / 3, 0]], atol=1e-12)
    m = mean_maps(w)
    assert m.shape == (2, 2, t, t) and m.dtype == torch.float64
    torch.testing.assert_close(m[1, 0], (identity(t) + uniform(t) + shift(t, 3)) / 3)
    torch.testing.assert_close(m[0, 1], uniform(t))


def test_nan_where_a_statistic_has_no_entries():
    s = values(as_weights(uniform(3)))
    assert np.isnan(s["long_range"][0, 0])
    assert s["self"][0, 0] == approx(1 / 3) and s["local"][0, 0] == approx(1 / 3)
    assert s["consistency"][0, 0] == approx(1.0)
    s = values(as_weights(torch.ones(1, 1, dtype=torch.float64)))
    assert np.isnan(s["local"][0, 0]) and np.isnan(s["long_range"][0, 0]) and np.isnan(s["consistency"][0, 0])
    assert s["self"][0, 0] == approx(1.0) and s["entropy"][0, 0] == approx(0.0)


def test_real_attention_weights():
    torch.manual_seed(0)
    ta = TemporalAttention(16, heads=4, max_len=8).eval()
    with torch.no_grad():
        _, w = ta(torch.randn(3, 8, 16, 2, 2), return_weights=True)
    s = clip_statistics(w)
    assert all(v.shape == (3, 4) and v.dtype == torch.float64 and v.device.type == "cpu" for v in s.values())
    assert ((s["entropy"] >= 0) & (s["entropy"] <= math.log(8) + 1e-9)).all()
    assert ((s["consistency"] > 0) & (s["consistency"] <= 1 + 1e-9)).all()
    with pytest.raises(ValueError, match="B, P, heads, T, T"):
        clip_statistics(w[0])


# ------------------------------------------------------------------------------------------ summarize

def find(rows, group, statistic, head):
    (r,) = [r for r in rows if r["group"] == group and r["statistic"] == statistic and r["head"] == head]
    return r


def small_table():
    # 6 clips x 2 heads: clips 0..2 normal, 3..5 anomalous
    self_ = np.array([[1, 10], [2, 10], [3, 10], [4, 20], [5, 20], [6, 20]], dtype=float)
    long_range = np.full((6, 2), np.nan)
    normal = np.array([True, True, True, False, False, False])
    return {"self": self_, "long_range": long_range}, {"normal": normal, "anomalous": ~normal}


def test_summarize_means_std_and_difference():
    vals, groups = small_table()
    rows = summarize(vals, groups, n_boot=500)
    assert all(tuple(r) == ROW_KEYS for r in rows)
    # 2 groups + 1 difference, 2 statistics, heads 0, 1, "all"
    assert len(rows) == 3 * 2 * 3
    r = find(rows, "normal", "self", 0)
    assert (r["n"], r["mean"], r["std"], r["n_reference"]) == (3, 2.0, 1.0, None)
    assert r["ci_low"] <= 2.0 <= r["ci_high"] and 1.0 <= r["ci_low"] and r["ci_high"] <= 3.0
    r = find(rows, "normal", "self", 1)
    assert (r["mean"], r["std"], r["ci_low"], r["ci_high"]) == (10.0, 0.0, 10.0, 10.0)
    assert find(rows, "normal", "self", "all")["mean"] == pytest.approx((2 + 10) / 2)
    assert find(rows, "anomalous", "self", "all")["mean"] == pytest.approx((5 + 20) / 2)
    d = find(rows, "normal - anomalous", "self", 0)
    assert (d["n"], d["n_reference"]) == (3, 3) and math.isnan(d["std"])
    assert d["mean"] == pytest.approx(-3.0)
    # every resampled normal mean is in [1, 3] and every anomalous one in [4, 6]
    assert -5.0 <= d["ci_low"] <= -3.0 <= d["ci_high"] <= -1.0
    assert find(rows, "normal - anomalous", "self", "all")["mean"] == pytest.approx(6.0 - 12.5)
    assert all(isinstance(r[k], float) for r in rows for k in ("mean", "std", "ci_low", "ci_high"))


def test_summarize_nan_values_give_nan_without_warnings():
    vals, groups = small_table()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = summarize(vals, groups, n_boot=200)
    for group in ("normal", "anomalous", "normal - anomalous"):
        for head in (0, 1, "all"):
            r = find(rows, group, "long_range", head)
            assert all(math.isnan(r[k]) for k in ("mean", "ci_low", "ci_high"))
    assert not math.isnan(find(rows, "normal", "self", 0)["ci_low"])


def test_summarize_ci_narrows_with_n_and_is_seeded():
    rng = np.random.default_rng(1)
    x = rng.normal(0.5, 0.1, size=(2020, 1))
    small = np.zeros(2020, dtype=bool)
    small[:20] = True
    groups = {"normal": ~small, "few": small}
    rows = summarize({"entropy": x}, groups, n_boot=400, seed=3)
    big, few = find(rows, "normal", "entropy", 0), find(rows, "few", "entropy", 0)
    for r in (big, few):
        assert r["ci_low"] < r["mean"] < r["ci_high"]
    assert (big["ci_high"] - big["ci_low"]) < (few["ci_high"] - few["ci_low"]) / 3
    # a 95 % interval of the mean is about +- 1.96 std / sqrt(n)
    assert big["ci_high"] - big["ci_low"] == pytest.approx(2 * 1.96 * big["std"] / math.sqrt(2000), rel=0.2)
    again = summarize({"entropy": x}, groups, n_boot=400, seed=3)
    assert again == rows
    other = summarize({"entropy": x}, groups, n_boot=400, seed=4)
    assert find(other, "few", "entropy", 0)["ci_low"] != few["ci_low"]
    assert find(other, "few", "entropy", 0)["mean"] == few["mean"]


def test_summarize_empty_and_absent_groups():
    vals, groups = small_table()
    groups["anomalous:running"] = np.zeros(6, dtype=bool)
    groups["one"] = np.eye(6, dtype=bool)[4]
    rows = summarize(vals, groups, n_boot=100)
    r = find(rows, "anomalous:running", "self", 0)
    assert r["n"] == 0 and all(math.isnan(r[k]) for k in ("mean", "std", "ci_low", "ci_high"))
    d = find(rows, "normal - anomalous:running", "self", 0)
    assert d["n"] == 0 and d["n_reference"] == 3 and math.isnan(d["mean"]) and math.isnan(d["ci_low"])
    r = find(rows, "one", "self", 0)
    assert (r["n"], r["mean"], r["ci_low"], r["ci_high"]) == (1, 5.0, 5.0, 5.0) and math.isnan(r["std"])
    # reference absent or empty: no difference rows
    for ref_groups in ({"anomalous": groups["anomalous"]},
                       {"normal": np.zeros(6, dtype=bool), "anomalous": groups["anomalous"]}):
        rows = summarize(vals, ref_groups, n_boot=50)
        assert not [r for r in rows if " - " in r["group"]]
    with pytest.raises(ValueError, match="boolean mask"):
        summarize(vals, {"normal": np.arange(6)})


def test_rows_to_csv(tmp_path):
    vals, groups = small_table()
    rows = summarize(vals, groups, n_boot=50)
    path = rows_to_csv(rows, tmp_path / "attention_stats.csv")
    with open(path, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == len(rows) and tuple(read[0]) == ROW_KEYS
    r = [r for r in read if (r["group"], r["statistic"], r["head"]) == ("normal", "self", "0")][0]
    assert float(r["mean"]) == 2.0 and r["n_reference"] == ""
    r = [r for r in read if (r["group"], r["statistic"], r["head"]) == ("normal", "long_range", "all")][0]
    assert r["mean"] == "" and r["ci_low"] == ""


# --------------------------------------------------------------------------------------------- figure

def test_plot_mean_maps_shared_scale(tmp_path):
    t = 5
    normal = np.stack([identity(t).numpy(), uniform(t).numpy()])
    anomalous = np.stack([uniform(t).numpy(), 0.6 * identity(t).numpy() + 0.4 * uniform(t).numpy()])
    path = tmp_path / "attention_maps.png"
    images = plot_mean_maps({"normal": normal, "anomalous": anomalous}, path, "generator bottleneck")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    assert len(images) == 2 * 2
    assert {im.get_clim() for im in images} == {(0.0, 1.0)}
    # the maximum is taken over all panels, not per panel
    images = plot_mean_maps({"normal": 0.5 * normal, "anomalous": 0.2 * anomalous}, path, "discriminator")
    assert {im.get_clim() for im in images} == {(0.0, 0.5)}
    assert len(images[0].figure.axes) == 4 + 1  # the panels and one colorbar
    axes = [im.axes for im in images]
    assert [ax.get_title() for ax in axes[:2]] == ["normal", "anomalous"]
    assert axes[-1].get_xlabel() == "key frame" and "query frame" in axes[0].get_ylabel()
