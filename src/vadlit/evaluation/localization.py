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

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import ndimage

LEVELS = 256
# Anomaly maps are in the score's units (validation standard deviations); these fixed bounds map them
# to uint8 levels, 0.16 of a standard deviation apart, without looking at any test statistic.
MAP_RANGE = (-10.0, 30.0)
_SPATIAL = np.ones((3, 3), dtype=bool)  # 8-connected regions within a frame
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


# -------------------------------------------------------------------------------- pixel level

def _above(hist: np.ndarray) -> np.ndarray:
    """Counts at or above each level, from level `LEVELS` (nothing) down to 0 (everything)."""
    return np.concatenate([[0], np.cumsum(hist[::-1])]).astype(np.float64)


def pixel_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], fpr_limit: float = 0.3) -> dict:
    """``pixel_auroc`` and ``aupro`` (up to ``fpr_limit``) over the videos in both ``maps`` and ``masks``;
    None where undefined (no anomalous or no normal pixel, no region)."""
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"fpr_limit={fpr_limit}: expected a false positive rate in (0, 1]")
    pos, neg = np.zeros(LEVELS, np.int64), np.zeros(LEVELS, np.int64)
    region_hists = []
    for name in _checked(maps, masks):
        m, g = np.asarray(maps[name]), np.asarray(masks[name]).astype(bool)
        pos += np.bincount(m[g], minlength=LEVELS)
        neg += np.bincount(m[~g], minlength=LEVELS)
        for frame_map, frame_mask in zip(m, g):
            if frame_mask.any():
                labels, n = ndimage.label(frame_mask, structure=_SPATIAL)
                joint = labels[frame_mask].astype(np.int64) * LEVELS + frame_map[frame_mask]
                region_hists.append(np.bincount(joint, minlength=(n + 1) * LEVELS).reshape(n + 1, LEVELS)[1:])
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    auroc = None
    if n_pos and n_neg:  # P(positive > negative) + half the ties, exactly, level by level
        below = np.concatenate([[0], np.cumsum(neg)[:-1]])
        auroc = float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))
    aupro = None
    if region_hists and n_neg:
        regions = np.concatenate(region_hists)
        fpr = _above(neg) / n_neg
        pro = (np.stack([_above(h) for h in regions]) / regions.sum(axis=1, keepdims=True)).mean(axis=0)
        aupro = _area(fpr, pro, fpr_limit)
    return {"pixel_auroc": auroc, "aupro": aupro, "aupro_fpr_limit": fpr_limit,
            "n_pixels": n_pos + n_neg, "n_anomalous_pixels": n_pos,
            "n_regions": int(sum(len(h) for h in region_hists))}


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


# -------------------------------------------------------------------------- regions and tracks

def _ground_truth(mask: np.ndarray):
    """Per frame: region labels (0 = background) and each region's track id; and the track count."""
    tracks, n_tracks = ndimage.label(mask, structure=_TRACKS)
    frames = []
    for t in range(mask.shape[0]):
        labels, n = ndimage.label(mask[t], structure=_SPATIAL)
        track_of = np.zeros(n, np.int64)
        if n:
            index = np.arange(1, n + 1)
            track_of = ndimage.maximum(tracks[t], labels, index).astype(np.int64)
        frames.append((labels, n, track_of))
    return frames, n_tracks


def _frame_counts(above: np.ndarray, gt_labels: np.ndarray, n_gt: int, beta: float) -> tuple[np.ndarray, int]:
    """Which ground-truth regions of one frame are detected (IoU >= beta with a detected region), and
    how many detected regions are false positives (IoU < beta with every ground-truth region)."""
    det, n_det = ndimage.label(above, structure=_SPATIAL)
    if n_det == 0:
        return np.zeros(n_gt, bool), 0
    if n_gt == 0:
        return np.zeros(0, bool), n_det
    inter = np.bincount((det * (n_gt + 1) + gt_labels).ravel(), minlength=(n_det + 1) * (n_gt + 1))
    inter = inter.reshape(n_det + 1, n_gt + 1)[1:, 1:].astype(np.float64)
    det_area = np.bincount(det.ravel(), minlength=n_det + 1)[1:].astype(np.float64)
    gt_area = np.bincount(gt_labels.ravel(), minlength=n_gt + 1)[1:].astype(np.float64)
    iou = inter / (det_area[:, None] + gt_area[None, :] - inter)
    return (iou >= beta).any(axis=0), int((~(iou >= beta).any(axis=1)).sum())


def region_track_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray],
                         levels: Sequence[int] | None = None, beta: float = 0.1, alpha: float = 0.1,
                         fp_limit: float = 1.0) -> dict:
    """``rbdc`` and ``tbdc`` over the videos in both ``maps`` and ``masks``; a threshold at each of
    ``levels`` (map >= level is detected; default: every 8th level). None without any region."""
    for key, value in {"beta": beta, "alpha": alpha}.items():
        if not 0.0 < value <= 1.0:
            raise ValueError(f"{key}={value}: expected an overlap fraction in (0, 1]")
    if not fp_limit > 0:
        raise ValueError(f"fp_limit={fp_limit}: expected a positive number of false positives per frame")
    levels = sorted({int(v) for v in (range(1, LEVELS, 8) if levels is None else levels)}, reverse=True)
    n_levels = len(levels)
    regions_hit = np.zeros(n_levels, np.int64)
    false_pos = np.zeros(n_levels, np.int64)
    n_regions = n_frames = n_tracks_total = 0
    track_rates = []  # per track: (regions, detected per level)
    for name in _checked(maps, masks):
        m, g = np.asarray(maps[name]), np.asarray(masks[name]).astype(bool)
        frames, n_tracks = _ground_truth(g)
        per_track = np.zeros((n_tracks + 1, n_levels), np.int64)
        track_size = np.zeros(n_tracks + 1, np.int64)
        for t, (gt_labels, n_gt, track_of) in enumerate(frames):
            np.add.at(track_size, track_of, 1)
            for i, level in enumerate(levels):
                hit, fp = _frame_counts(m[t] >= level, gt_labels, n_gt, beta)
                regions_hit[i] += int(hit.sum())
                false_pos[i] += fp
                np.add.at(per_track[:, i], track_of[hit], 1)
            n_regions += n_gt
        n_frames += len(frames)
        n_tracks_total += n_tracks
        track_rates.append(per_track[1:] >= alpha * track_size[1:, None])
    if n_regions == 0:
        return {"rbdc": None, "tbdc": None, "n_regions": 0, "n_tracks": 0, "n_frames": n_frames}
    fp_rate = false_pos / max(n_frames, 1)
    tracks_hit = np.concatenate(track_rates).sum(axis=0)
    return {"rbdc": _envelope_area(fp_rate, regions_hit / n_regions, fp_limit),
            "tbdc": _envelope_area(fp_rate, tracks_hit / max(n_tracks_total, 1), fp_limit),
            "beta": beta, "alpha": alpha, "fp_limit": fp_limit, "n_thresholds": n_levels,
            "n_regions": n_regions, "n_tracks": n_tracks_total, "n_frames": n_frames}


def _envelope_area(fp_rate: np.ndarray, rate: np.ndarray, limit: float) -> float:
    """The area under the best detection rate reachable with at most x false positives per frame,
    for x from 0 to ``limit``, divided by ``limit``: a step function, 0 before the first threshold."""
    order = np.argsort(fp_rate, kind="stable")
    x, best = fp_rate[order], np.maximum.accumulate(rate[order])
    edges = np.append(np.clip(x, 0.0, limit), limit)
    return float((best * np.diff(edges)).sum() / limit)


def quantise(z: np.ndarray, bounds: tuple[float, float] = MAP_RANGE) -> np.ndarray:
    """Maps in score units -> uint8 levels over the fixed ``bounds`` (values outside are clipped)."""
    lo, hi = bounds
    return np.clip(np.rint((np.asarray(z, np.float32) - lo) * ((LEVELS - 1) / (hi - lo))), 0, LEVELS - 1).astype(np.uint8)


MODEL_MAP = (f"the score's terms at every position in validation standard deviations, upsampled to the frame, "
             f"the largest per pixel; quantised to {LEVELS} levels over {list(MAP_RANGE)}")


def localization_metrics(maps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray], n_videos: int,
                         beta: float = 0.1, alpha: float = 0.1, fpr_limit: float = 0.3, fp_limit: float = 1.0,
                         levels: Sequence[int] | None = None, what: str = MODEL_MAP) -> dict:
    """metrics.json's ``localization`` block: pixel AUROC, AUPRO, RBDC, TBDC over the test videos with
    masks, how many of the ``n_videos`` that is, and the parameters. ``maps`` are in score units
    (quantised over `MAP_RANGE`) or already uint8 levels (a trivial map: a pixel difference)."""
    if not masks:
        return {"note": "no test video has pixel masks: nothing to localise", "n_videos_with_masks": 0,
                "n_videos": n_videos}
    levels_maps = {name: maps[name] if maps[name].dtype == np.uint8 else quantise(maps[name]) for name in masks}
    out = {"n_videos_with_masks": len(masks), "n_videos": n_videos, "map": what}
    out.update(pixel_metrics(levels_maps, masks, fpr_limit))
    regions = region_track_metrics(levels_maps, masks, levels, beta, alpha, fp_limit)
    out.update({k: v for k, v in regions.items() if k != "n_regions"})
    return out
