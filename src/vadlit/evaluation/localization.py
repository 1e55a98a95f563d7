"""Where is the anomaly: pixel-level AUROC and AUPRO, and the region- and track-based detection
criteria RBDC and TBDC (Ramachandra & Jones, "Street Scene", WACV 2020), from anomaly maps and masks.

Maps are quantised to `LEVELS` uint8 levels (higher = more anomalous), so every pixel metric is
computed exactly from per-level histograms, in memory independent of the number of pixels. No
library computes these for video: torchmetrics and anomalib have pixel AUROC/PRO for images only,
and RBDC/TBDC exist only in an unmaintained GPL package, hence this module.

Definitions (the parameters are arguments, their defaults the published ones):
- **pixel AUROC**: every pixel of every frame of the videos with masks, pooled.
- **AUPRO**: per-region overlap (the mean over ground-truth regions — connected components of each
  frame's mask — of the fraction of the region above the threshold) against the pixel false
  positive rate, integrated up to ``fpr_limit`` (0.3) and divided by it.
- **RBDC**: detected regions are the connected components of a frame's map above a threshold. A
  ground-truth region is detected when a detected region overlaps it with IoU >= ``beta`` (0.1); a
  detected region whose IoU with every ground-truth region of its frame is below ``beta`` is a
  false positive. The detection rate (detected / all ground-truth regions) is a function of the
  false positives per frame (over all frames of those videos), integrated from 0 to ``fp_limit``
  (1) and divided by it.
- **TBDC**: the same, but the unit is a ground-truth *track*: the regions of one anomalous object
  linked over time (a region continues a track when it shares a pixel with one of the track's
  regions in the previous frame). A track is detected when at least ``alpha`` (0.1) of its regions
  are.

One difference from the published evaluation code: the detection rate at a false-positive rate x
is the best rate of any threshold with at most x false positives per frame (the curve's upper
envelope), so the area is that of a non-decreasing curve; the published code integrates the raw
points, which need not be monotone when lowering the threshold merges regions. Both agree on
monotone curves, and both give 1 to a map that finds every region without false positives and 0
to one that finds none.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

from vadlit.data.source import NORMAL
from vadlit.evaluation.events import LEVEL, MIN_EVENTS, N_BOOT

LEVELS = 256
# Anomaly maps are in the score's units (validation standard deviations); these fixed bounds map them
# to uint8 levels, 0.16 of a standard deviation apart, without looking at any test statistic.
MAP_RANGE = (-10.0, 30.0)
_FRAMES = np.zeros((3, 3, 3), dtype=bool)  # 8-connected regions within a frame, never across frames
_FRAMES[1] = True
# linked over time only through a shared pixel position in consecutive frames
_TRACKS = np.zeros((3, 3, 3), dtype=bool)
_TRACKS[1] = True
_TRACKS[0, 1, 1] = _TRACKS[2, 1, 1] = True


def _checked(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]) -> list[str]:
    names = [n for n in maps if n in masks]
    for name in names:
        m, g = np.asarray(maps[name]), np.asarray(masks[name])
        if m.dtype != np.uint8 or m.ndim != 3 or m.shape != g.shape:
            raise ValueError(f"video {name!r}: map {m.dtype} {m.shape} and mask {g.shape}; expected a uint8 "
                             "(frames, height, width) map of the mask's shape")
    return names


# ---------------------------------------------------------------------------- per-video counts

@dataclass
class Counts:
    """What every metric needs of a set of videos, as sums over them: a video's counts are computed
    once, and any set's (all videos, or a bootstrap resample) are their weighted sum."""

    pos: np.ndarray         # (LEVELS,) anomalous pixels per level
    neg: np.ndarray         # (LEVELS,) normal pixels per level
    pro: np.ndarray         # (LEVELS + 1,) sum over ground-truth regions of the fraction at or above each level
    hit: np.ndarray         # (n_levels,) ground-truth regions detected at each threshold
    false_pos: np.ndarray   # (n_levels,) false-positive regions at each threshold
    tracks_hit: np.ndarray  # (n_levels,) ground-truth tracks detected at each threshold
    n_regions: int
    n_tracks: int
    n_frames: int
    # kind -> the counts of that kind's regions and tracks (pos, hit, tracks_hit, n_regions, n_tracks;
    # the normal pixels and false positives are the whole set's, filled in by `_kind_totals`)
    by_kind: dict = field(default_factory=dict)

    FIELDS = ("pos", "neg", "pro", "hit", "false_pos", "tracks_hit", "n_regions", "n_tracks", "n_frames")

    def vector(self) -> np.ndarray:
        return np.concatenate([np.atleast_1d(np.asarray(getattr(self, f), np.float64)) for f in self.FIELDS])

    @classmethod
    def from_vector(cls, v: np.ndarray, n_levels: int) -> "Counts":
        sizes = (LEVELS, LEVELS, LEVELS + 1, n_levels, n_levels, n_levels, 1, 1, 1)
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return cls(*parts[:6], *(float(p[0]) for p in parts[6:]))


def _above(hist: np.ndarray) -> np.ndarray:
    """Counts at or above each level, from level `LEVELS` (nothing) down to 0 (everything)."""
    return np.concatenate([[0], np.cumsum(hist[::-1])]).astype(np.float64)


def _matches(det: np.ndarray, n_det: int, gt: np.ndarray, gt_area: np.ndarray, beta: float) -> tuple[np.ndarray, int]:
    """Which ground-truth regions are detected (IoU >= beta with a detected region), and how many
    detected regions are false positives (IoU < beta with every ground-truth region). Labels are
    numbered over the whole video; a region never spans two frames, so only pairs of one frame overlap."""
    both = (det > 0) & (gt > 0)
    pairs, inter = np.unique(det[both].astype(np.int64) * (len(gt_area) + 1) + gt[both], return_counts=True)
    d, r = np.divmod(pairs, len(gt_area) + 1)
    det_area = np.bincount(det.ravel(), minlength=n_det + 1)
    good = inter / (det_area[d] + gt_area[r - 1] - inter) >= beta
    found = np.zeros(len(gt_area), bool)
    found[r[good] - 1] = True
    return found, n_det - len(np.unique(d[good]))


def video_counts(m: np.ndarray, g: np.ndarray, levels: Sequence[int], beta: float, alpha: float,
                 regions: bool = True, kinds: Sequence[str] | None = None) -> Counts:
    """The `Counts` of one video: uint8 map ``m`` and bool mask ``g`` (frames, H, W); thresholds at
    ``levels`` (descending; map >= level is detected). Without ``regions``, the pixel counts only.
    With the frames' ``kinds``, also per kind (a region has its frame's kind, a track its first frame's).

    Each threshold labels the whole video in one call (`_FRAMES` keeps frames apart), not frame by frame."""
    n_levels, n_frames = len(levels), len(m)
    pos = np.bincount(m[g], minlength=LEVELS)
    neg = np.bincount(m[~g], minlength=LEVELS)
    gt, n_regions = ndimage.label(g, structure=_FRAMES)
    tracks, n_tracks = ndimage.label(g, structure=_TRACKS)
    index = np.arange(1, n_regions + 1)
    frame_of = np.array([s[0].start for s in ndimage.find_objects(gt)], np.int64) if n_regions else np.zeros(0, np.int64)
    track_of = ndimage.maximum(tracks, gt, index).astype(np.int64) if n_regions else np.zeros(0, np.int64)
    gt_area = np.bincount(gt.ravel(), minlength=n_regions + 1)[1:]
    # each region's overlap curve (the fraction of its pixels at or above each level), summed
    hists = np.bincount(gt[g].astype(np.int64) * LEVELS + m[g], minlength=(n_regions + 1) * LEVELS)
    hists = hists.reshape(n_regions + 1, LEVELS)[1:]
    pro = (np.cumsum(hists[:, ::-1], axis=1) / gt_area[:, None]).sum(axis=0) if n_regions else np.zeros(LEVELS)
    pro = np.concatenate([[0.0], pro])
    found_at = np.zeros((n_regions, n_levels), bool)
    false_pos = np.zeros(n_levels, np.int64)
    if regions:
        low, high = (int(m.min()), int(m.max())) if m.size else (0, -1)
        everything = None  # every level <= the map's minimum detects the same thing: whole frames
        for i, level in enumerate(levels):
            if level > high:
                continue  # nothing detected
            if level <= low and everything is not None:
                found_at[:, i], false_pos[i] = everything
                continue
            det, n_det = ndimage.label(m >= level, structure=_FRAMES)
            found_at[:, i], false_pos[i] = _matches(det, n_det, gt, gt_area, beta) if n_regions else (
                np.zeros(0, bool), n_det)
            if level <= low:
                everything = (found_at[:, i], false_pos[i])
    per_track = np.zeros((n_tracks + 1, n_levels), np.int64)
    np.add.at(per_track, track_of, found_at.astype(np.int64))
    track_size = np.bincount(track_of, minlength=n_tracks + 1)
    found_tracks = per_track[1:] >= alpha * track_size[1:, None]
    counts = Counts(pos, neg, pro, found_at.sum(axis=0), false_pos, found_tracks.sum(axis=0),
                    n_regions, n_tracks, n_frames)
    if kinds is not None and n_regions:
        names = np.asarray([str(k) for k in kinds], dtype=object)
        first = np.full(n_tracks + 1, n_frames, np.int64)  # each track's first frame
        np.minimum.at(first, track_of, frame_of)
        region_kind, track_kind = names[frame_of], names[np.minimum(first[1:], n_frames - 1)]
        for kind in sorted(set(region_kind) - {NORMAL}):
            mine, frames = region_kind == kind, names == kind
            counts.by_kind[kind] = Counts(np.bincount(m[frames][g[frames]], minlength=LEVELS), np.zeros(LEVELS, np.int64),
                                          np.zeros(LEVELS + 1), found_at[mine].sum(axis=0), np.zeros(n_levels, np.int64),
                                          found_tracks[track_kind == kind].sum(axis=0), int(mine.sum()),
                                          int((track_kind == kind).sum()), 0)
    return counts


def _levels(levels: Sequence[int] | None) -> list[int]:
    return sorted({int(v) for v in (range(1, LEVELS, 8) if levels is None else levels)}, reverse=True)


def _all_counts(maps, masks, levels, beta, alpha, regions: bool = True, kinds=None) -> list[Counts]:
    """Every video's `Counts`, videos on threads: scipy's labelling and numpy's counting release the
    GIL for much of their time, and the cores are idle after the predict loop."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name: str) -> Counts:
        return video_counts(np.asarray(maps[name]), np.asarray(masks[name]).astype(bool), levels, beta, alpha,
                            regions, None if kinds is None else kinds.get(name))

    names = _checked(maps, masks)
    with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        return list(pool.map(one, names))


def _kind_totals(counts: Sequence[Counts], total: Counts, n_levels: int) -> dict[str, Counts]:
    """Per kind: its regions and tracks summed over the videos that have it, against the normal
    pixels and the false positives of every video (a kind is found at the whole set's false-alarm rate)."""
    kinds = sorted({k for c in counts for k in c.by_kind})
    return {k: replace(_sum([c.by_kind[k] for c in counts if k in c.by_kind], n_levels),
                       neg=total.neg, false_pos=total.false_pos, n_frames=total.n_frames) for k in kinds}


def _sum(counts: Sequence[Counts], n_levels: int) -> Counts:
    if not counts:
        return Counts.from_vector(np.zeros(3 * LEVELS + 1 + 3 * n_levels + 3), n_levels)
    return Counts.from_vector(np.sum([c.vector() for c in counts], axis=0), n_levels)


# ------------------------------------------------------------------------------ the metrics

def _pixel(c: Counts, fpr_limit: float) -> dict:
    n_pos, n_neg = c.pos.sum(), c.neg.sum()
    auroc = None
    if n_pos and n_neg:  # P(positive > negative) + half the ties, exactly, level by level
        below = np.concatenate([[0], np.cumsum(c.neg)[:-1]])
        auroc = float((c.pos * (below + 0.5 * c.neg)).sum() / (n_pos * n_neg))
    aupro = None
    if c.n_regions and n_neg:
        aupro = _area(_above(c.neg) / n_neg, c.pro / c.n_regions, fpr_limit)
    return {"pixel_auroc": auroc, "aupro": aupro}


def _regions(c: Counts, fp_limit: float) -> dict:
    if not c.n_regions:
        return {"rbdc": None, "tbdc": None}
    fp_rate = c.false_pos / max(c.n_frames, 1)
    return {"rbdc": _envelope_area(fp_rate, c.hit / c.n_regions, fp_limit),
            "tbdc": _envelope_area(fp_rate, c.tracks_hit / max(c.n_tracks, 1), fp_limit)}


def _check_limits(fpr_limit: float = 0.3, beta: float = 0.1, alpha: float = 0.1, fp_limit: float = 1.0) -> None:
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"fpr_limit={fpr_limit}: expected a false positive rate in (0, 1]")
    for key, value in {"beta": beta, "alpha": alpha}.items():
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{key}={value}: expected an overlap fraction in (0, 1]")
    if not fp_limit > 0:
        raise ValueError(f"fp_limit={fp_limit}: expected a positive number of false positives per frame")


def pixel_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], fpr_limit: float = 0.3) -> dict:
    """``pixel_auroc`` and ``aupro`` (up to ``fpr_limit``) over the videos in both ``maps`` and ``masks``;
    None where undefined (no anomalous or no normal pixel, no region)."""
    _check_limits(fpr_limit)
    c = _sum(_all_counts(maps, masks, [], 0.1, 0.1, regions=False), 0)
    return {**_pixel(c, fpr_limit), "aupro_fpr_limit": fpr_limit, "n_pixels": int(c.pos.sum() + c.neg.sum()),
            "n_anomalous_pixels": int(c.pos.sum()), "n_regions": int(c.n_regions)}


def _area(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoid area under (x, y) (x non-decreasing) from 0 to ``limit``, y interpolated at the limit,
    divided by ``limit``."""
    keep = x <= limit
    xs, ys = list(x[keep]), list(y[keep])
    if xs[-1] < limit and (~keep).any():
        j = int(np.flatnonzero(~keep)[0])
        t = (limit - x[j - 1]) / (x[j] - x[j - 1])
        xs.append(limit)
        ys.append(y[j - 1] + t * (y[j] - y[j - 1]))
    return float(np.trapezoid(ys, xs) / limit)


def region_track_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray],
                         levels: Sequence[int] | None = None, beta: float = 0.1, alpha: float = 0.1,
                         fp_limit: float = 1.0) -> dict:
    """``rbdc`` and ``tbdc`` over the videos in both ``maps`` and ``masks``; a threshold at each of
    ``levels`` (map >= level is detected; default: every 8th level). None without any region."""
    _check_limits(beta=beta, alpha=alpha, fp_limit=fp_limit)
    levels = _levels(levels)
    c = _sum(_all_counts(maps, masks, levels, beta, alpha), len(levels))
    out = {"n_regions": int(c.n_regions), "n_tracks": int(c.n_tracks), "n_frames": int(c.n_frames)}
    if not c.n_regions:
        return {**_regions(c, fp_limit), **out}
    return {**_regions(c, fp_limit), "beta": beta, "alpha": alpha, "fp_limit": fp_limit,
            "n_thresholds": len(levels), **out}


def _envelope_area(fp_rate: np.ndarray, rate: np.ndarray, limit: float) -> float:
    """The area under the best detection rate reachable with at most x false positives per frame,
    for x from 0 to ``limit``, divided by ``limit``: a step function, 0 before the first threshold."""
    order = np.argsort(fp_rate, kind="stable")
    x, best = fp_rate[order], np.maximum.accumulate(rate[order])
    edges = np.append(np.clip(x, 0.0, limit), limit)
    return float((best * np.diff(edges)).sum() / limit)


def video_intervals(counts: Sequence[Counts], n_levels: int, fpr_limit: float, fp_limit: float,
                    n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """95% percentile intervals of the four metrics over videos: a video (its regions, tracks and
    normal pixels, all correlated) is the unit resampled, as events are for the frame AUROC
    (`events`). A resample is a multiplicity per video, so its counts are one matrix product
    (hand-written: scipy.stats.bootstrap would recompute every resample from the pixels). None for
    a metric with fewer than `MIN_EVENTS` videos, or undefined in some resample."""
    keys = ("pixel_auroc", "aupro", "rbdc", "tbdc")
    if len(counts) < MIN_EVENTS:
        return {f"{k}_ci": None for k in keys}
    matrix = np.stack([c.vector() for c in counts])
    rng = np.random.default_rng([int(seed), len(counts)])
    weights = rng.multinomial(len(counts), np.full(len(counts), 1 / len(counts)), size=n_boot).astype(np.float64)
    values: dict[str, list] = {k: [] for k in keys}
    for row in weights @ matrix:
        c = Counts.from_vector(row, n_levels)
        for k, v in {**_pixel(c, fpr_limit), **_regions(c, fp_limit)}.items():
            values[k].append(v)
    tail = 100 * (1 - LEVEL) / 2
    return {f"{k}_ci": None if any(x is None for x in v) else [float(q) for q in np.percentile(v, [tail, 100 - tail])]
            for k, v in values.items()}


def quantise(z: np.ndarray, bounds: tuple[float, float] = MAP_RANGE) -> np.ndarray:
    """Maps in score units -> uint8 levels over the fixed ``bounds`` (values outside are clipped)."""
    lo, hi = bounds
    return np.clip(np.rint((np.asarray(z, np.float32) - lo) * ((LEVELS - 1) / (hi - lo))), 0, LEVELS - 1).astype(np.uint8)


MODEL_MAP = (f"the score's terms at every position in validation standard deviations, upsampled to the frame, "
             f"the largest per pixel; quantised to {LEVELS} levels over {list(MAP_RANGE)}")


def localization_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], n_videos: int,
                         beta: float = 0.1, alpha: float = 0.1, fpr_limit: float = 0.3, fp_limit: float = 1.0,
                         levels: Sequence[int] | None = None, what: str = MODEL_MAP,
                         kinds: Mapping[str, Sequence[str]] | None = None) -> dict:
    """metrics.json's ``localization`` block: pixel AUROC, AUPRO, RBDC, TBDC over the test videos with
    masks, their intervals over videos, per anomaly kind (with the frames' ``kinds``: that kind's
    regions against every normal pixel and false positive), how many of the ``n_videos`` that is, and
    the parameters.
    ``maps`` are in score units (quantised over `MAP_RANGE`) or already uint8 levels (a trivial map:
    a pixel difference)."""
    if not masks:
        return {"note": "no test video has pixel masks: nothing to localise", "n_videos_with_masks": 0,
                "n_videos": n_videos}
    _check_limits(fpr_limit, beta, alpha, fp_limit)
    levels_maps = {name: maps[name] if maps[name].dtype == np.uint8 else quantise(maps[name]) for name in masks}
    levels = _levels(levels)
    counts = _all_counts(levels_maps, masks, levels, beta, alpha, kinds=kinds)
    c = _sum(counts, len(levels))
    by_kind = {k: {**_pixel(kc, fpr_limit), **_regions(kc, fp_limit)} for k, kc in _kind_totals(counts, c, len(levels)).items()}
    return {"n_videos_with_masks": len(masks), "n_videos": n_videos, "map": what,
            **_pixel(c, fpr_limit), **_regions(c, fp_limit),
            **video_intervals(counts, len(levels), fpr_limit, fp_limit),
            **{f"{key}_by_kind": {k: v[key] for k, v in by_kind.items()} for key in ("pixel_auroc", "rbdc", "tbdc")},
            "aupro_fpr_limit": fpr_limit, "beta": beta, "alpha": alpha, "fp_limit": fp_limit,
            "n_thresholds": len(levels), "n_pixels": int(c.pos.sum() + c.neg.sum()),
            "n_anomalous_pixels": int(c.pos.sum()), "n_regions": int(c.n_regions), "n_tracks": int(c.n_tracks),
            "n_frames": int(c.n_frames),
            "bootstrap": {"n_boot": N_BOOT, "seed": 0, "level": LEVEL,
                          "resampled": "the test videos with masks (each with its regions, tracks and normal pixels)"}}
