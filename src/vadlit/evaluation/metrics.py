"""Frame-level anomaly detection metrics (AUROC micro/macro/per kind, AP, EER), intervals over events.

Every value is plain Python and JSON-safe: a metric that is undefined on the given data (e.g. a
test set with one class only) is ``None`` and ``warnings`` says why, never NaN.

Scores are replaced by their ranks before they reach torchmetrics: torchmetrics treats inputs
outside [0, 1] as logits and applies a float sigmoid, which would merge distinct large scores into
ties. Ranks keep order and ties exactly, and AUROC, AP and the ROC depend on nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torchmetrics.functional.classification import (binary_auroc, binary_average_precision,
                                                    binary_precision_recall_curve, binary_roc)

from vadlit.errors import DataError
from vadlit.evaluation.events import N_BOOT, event_intervals

_NORMAL_KIND = "normal"


def _names(keys: Sequence[str], limit: int = 5) -> str:
    keys = sorted(keys)
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(repr(k) for k in keys[:limit]) + more


def _validate(
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    kinds: Mapping[str, Sequence[str]] | None,
) -> tuple[list[str], list[np.ndarray], list[np.ndarray], list[np.ndarray] | None]:
    """Check shapes and values; return names (scores' order), float64 scores, int64 labels, kinds."""
    missing, extra = set(scores) - set(labels), set(labels) - set(scores)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no labels for video(s) {_names(missing)}")
        if extra:
            parts.append(f"labels but no scores for video(s) {_names(extra)}")
        raise DataError("; ".join(parts) + "; expected scores and labels for the same videos")
    if kinds is not None and set(kinds) != set(scores):
        diff = set(kinds) ^ set(scores)
        raise DataError(f"kinds and scores name different videos ({_names(diff)}); expected the same videos")
    names = list(scores)
    out_s, out_y, out_k = [], [], [] if kinds is not None else None
    for name in names:
        s = np.asarray(scores[name], dtype=np.float64)
        y = np.asarray(labels[name])
        if s.ndim != 1 or y.ndim != 1:
            raise DataError(
                f"video {name!r}: scores have shape {s.shape} and labels {y.shape}; expected 1-D arrays (one per frame)"
            )
        if len(s) != len(y):
            raise DataError(f"video {name!r}: {len(s)} scores but {len(y)} labels; expected one label per frame")
        bad = ~np.isin(y, (0, 1))
        if bad.any():
            values = sorted({repr(v) for v in y[bad].tolist()})[:5]
            raise DataError(
                f"video {name!r}: labels contain {', '.join(values)}; expected only 0 (normal) or 1 (anomalous)"
            )
        finite = np.isfinite(s)
        if not finite.all():
            first = int(np.flatnonzero(~finite)[0])
            raise DataError(
                f"video {name!r}: {int((~finite).sum())} scores are NaN or infinite "
                f"(first at 0-based frame {first}: {s[first]!r}); expected finite scores"
            )
        out_s.append(s)
        out_y.append(y.astype(np.int64))
        if out_k is not None:
            k = np.asarray([str(x) for x in kinds[name]], dtype=object)
            if len(k) != len(s):
                raise DataError(f"video {name!r}: {len(s)} scores but {len(k)} kinds; expected one kind per frame")
            out_k.append(k)
    return names, out_s, out_y, out_k


def _ranks(s: np.ndarray) -> tuple[torch.Tensor, np.ndarray, int]:
    """Scores -> dense ranks scaled to [0, 1] (exact order and ties), the unique scores and the scale."""
    unique, inverse = np.unique(s, return_inverse=True)
    scale = max(len(unique) - 1, 1)
    return torch.from_numpy(inverse.reshape(-1) / scale), unique, scale


def _target(y: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(y, dtype=np.int64))


def _both_classes(y: np.ndarray) -> bool:
    return bool(y.size) and 0 < int(y.sum()) < y.size


def _auroc(s: np.ndarray, y: np.ndarray) -> float:
    return float(binary_auroc(_ranks(s)[0], _target(y), validate_args=False))


def _ap(s: np.ndarray, y: np.ndarray) -> float:
    return float(binary_average_precision(_ranks(s)[0], _target(y), validate_args=False))


def _roc(s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC (fpr, tpr, thresholds in score units); the first point (0, 0) has threshold +inf."""
    r, unique, scale = _ranks(s)
    fpr, tpr, thr = binary_roc(r, _target(y), validate_args=False)
    idx = np.rint(thr.numpy().astype(np.float64) * scale).astype(np.int64)
    thresholds = unique[np.clip(idx, 0, len(unique) - 1)].astype(np.float64)
    thresholds[0] = np.inf  # torchmetrics' artificial first threshold: nothing is called anomalous
    return fpr.numpy().astype(np.float64), tpr.numpy().astype(np.float64), thresholds


def _eer(fpr: np.ndarray, tpr: np.ndarray, thr: np.ndarray) -> tuple[float, float]:
    """Equal error rate: where FPR = 1 - TPR (miss rate), linearly interpolated along the ROC.

    Not torchmetrics' `binary_eer`, which takes the ROC point nearest to FPR = FNR and reports their
    mean: on a coarse ROC (few frames, many ties) that point can be far from the crossing (its own
    docstring example gives 0.583 where the curves cross at 0.5). Interpolating along the segment
    that crosses gives the rate at which both errors really are equal, and its threshold."""
    gap = (1.0 - tpr) - fpr  # 1 at (0, 0), -1 at (1, 1), non-increasing along the curve
    i = int(np.flatnonzero(gap <= 0)[0])
    if gap[i] == 0 or i == 0:
        return float(fpr[i]), float(thr[i])
    t = gap[i - 1] / (gap[i - 1] - gap[i])
    eer = fpr[i - 1] + t * (fpr[i] - fpr[i - 1])
    if np.isfinite(thr[i - 1]):
        threshold = thr[i - 1] + t * (thr[i] - thr[i - 1])
    else:  # segment from the artificial (0, 0) point: the nearest real threshold
        threshold = thr[i]
    return float(eer), float(threshold)


# How each frame-level AUROC pools the test frames, recorded with every result: published numbers use
# different ones, and the same scores can differ by several points between them.
CONVENTIONS = {
    "auroc": "micro: all test frames of all videos pooled into one ROC",
    "auroc_macro": "macro: the mean of the per-video AUROCs, videos with one class only skipped",
    "auroc_macro_padded": "padded macro (as AI-VAD and SSMTL++ evaluate): each video's frames joined by one "
                          "normal pseudo-frame at the video's lowest score and one anomalous pseudo-frame at "
                          "its highest, then the mean of the per-video AUROCs over every video",
}


def _padded_auroc(s: np.ndarray, y: np.ndarray) -> float | None:
    """One video's AUROC with a normal pseudo-frame at its minimum score and an anomalous one at its
    maximum. Those papers pad with scores 0 and 1 after scaling each video's scores to [0, 1]; the
    video's own minimum and maximum are the same points for any scale, so no scaling is needed here."""
    if s.size == 0:
        return None
    return _auroc(np.concatenate([[s.min()], s, [s.max()]]), np.concatenate([[0], y, [1]]))


def _within_video(y_list: list[np.ndarray], s_list: list[np.ndarray], k_list: list[np.ndarray], kinds) -> tuple:
    """Per kind: the mean over videos of the AUROC of the video's kind frames against its own normal
    frames, and how many videos that is. A pooled AUROC also rewards a score that merely tells videos
    (or scenes) apart; this one cannot."""
    values: dict[str, list[float]] = {kind: [] for kind in kinds}
    for s, y, k in zip(s_list, y_list, k_list):
        for kind in kinds:
            mine = (y == 1) & (k == kind)
            if mine.any() and (y == 0).any():
                subset = mine | (y == 0)
                values[kind].append(_auroc(s[subset], y[subset]))
    means = {kind: float(np.mean(v)) if v else None for kind, v in values.items()}
    return means, {kind: len(v) for kind, v in values.items()}


def compute_metrics(
    scores: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    kinds: Mapping[str, Sequence[str]] | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict:
    """Frame-level metrics of per-frame ``scores`` against 0/1 ``labels`` (1 = anomalous), per video name.

    ``kinds`` (optional) gives each frame's anomaly kind (e.g. "fighting"; "normal" for normal frames)
    for ``auroc_by_kind``: each kind's anomalous frames against all normal frames of all videos; and
    for ``auroc_by_kind_within_video``. ``auroc_ci`` and ``auroc_by_kind_ci`` are 95% bootstrap
    intervals over events (``n_boot`` resamples, fixed ``seed``; see vadlit.evaluation.events).
    """
    names, s_list, y_list, k_list = _validate(scores, labels, kinds)
    warnings: list[str] = []
    s_all = np.concatenate(s_list) if s_list else np.zeros(0)
    y_all = np.concatenate(y_list) if y_list else np.zeros(0, dtype=np.int64)
    n_pos = int(y_all.sum())
    n_neg = int(y_all.size - n_pos)

    auroc = ap = eer = eer_threshold = None
    if _both_classes(y_all):
        auroc = _auroc(s_all, y_all)
        ap = _ap(s_all, y_all)
        eer, eer_threshold = _eer(*_roc(s_all, y_all))
    else:
        what = "no test frames" if y_all.size == 0 else f"all {y_all.size} test frames have label {int(y_all[0])}"
        warnings.append(
            f"auroc, ap, eer: undefined because there are {what}; both normal and anomalous frames are needed"
        )

    per_video: dict[str, float | None] = {}
    for name, s, y in zip(names, s_list, y_list):
        per_video[name] = _auroc(s, y) if _both_classes(y) else None
    used = [v for v in per_video.values() if v is not None]
    n_skipped = len(per_video) - len(used)
    auroc_macro = float(np.mean(used)) if used else None
    if not used:
        warnings.append("auroc_macro: undefined because no video has both normal and anomalous frames")
    elif n_skipped:
        warnings.append(
            f"auroc_macro: {n_skipped} of {len(per_video)} videos have one class only and were skipped "
            "(their auroc_per_video is null)"
        )

    padded = [_padded_auroc(s, y) for s, y in zip(s_list, y_list)]
    auroc_macro_padded = float(np.mean(padded)) if padded else None

    by_kind: dict[str, float | None] = {}
    if k_list is not None:
        k_all = np.concatenate(k_list) if k_list else np.zeros(0, dtype=object)
        anomalous_kinds = k_all[y_all == 1]
        is_normal_name = np.array([k.lower() in (_NORMAL_KIND, "") for k in anomalous_kinds], dtype=bool)
        if is_normal_name.any():
            warnings.append(
                f"auroc_by_kind: {int(is_normal_name.sum())} anomalous frames have kind 'normal' or no kind "
                "and count towards no kind"
            )
        negatives = y_all == 0
        for kind in sorted(set(anomalous_kinds[~is_normal_name].tolist())):
            if n_neg == 0:
                by_kind[kind] = None
                continue
            subset = negatives | ((y_all == 1) & (k_all == kind))
            by_kind[kind] = _auroc(s_all[subset], y_all[subset])
        if by_kind and n_neg == 0:
            warnings.append("auroc_by_kind: undefined because there are no normal frames to compare against")
    within, n_within = _within_video(y_list, s_list, k_list, list(by_kind)) if k_list is not None else ({}, {})
    alone = [kind for kind, v in within.items() if v is None]
    if alone:
        warnings.append(f"auroc_by_kind_within_video: null for {', '.join(alone)}: no video holds both "
                        "frames of that kind and normal frames")
    intervals, interval_warnings = event_intervals(s_list, y_list, k_list, n_boot, seed)
    warnings += interval_warnings

    return {
        "auroc": auroc,
        "auroc_macro": auroc_macro,
        "n_videos_macro": len(used),
        "n_videos_skipped_macro": n_skipped,
        "auroc_macro_padded": auroc_macro_padded,
        "conventions": CONVENTIONS,
        "ap": ap,
        "eer": eer,
        "eer_threshold": eer_threshold,
        "auroc_by_kind": by_kind,
        "auroc_ci": intervals["auroc_ci"],
        "auroc_by_kind_ci": {kind: intervals["auroc_by_kind_ci"].get(kind) for kind in by_kind},
        "n_events": intervals["n_events"],
        "n_events_by_kind": {kind: intervals["n_events_by_kind"].get(kind, 0) for kind in by_kind},
        "auroc_by_kind_within_video": within,
        "n_videos_by_kind_within_video": n_within,
        "bootstrap": intervals["bootstrap"],
        "auroc_per_video": per_video,
        "n_frames": int(y_all.size),
        "n_videos": len(names),
        "n_anomalous_frames": n_pos,
        "warnings": warnings,
    }


def roc_curve(
    scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pooled ROC over all videos: (fpr, tpr, thresholds); thresholds decrease, the first is +inf.

    Raises DataError when the frames are all one class (no ROC curve exists).
    """
    _, s_list, y_list, _ = _validate(scores, labels, None)
    s_all = np.concatenate(s_list) if s_list else np.zeros(0)
    y_all = np.concatenate(y_list) if y_list else np.zeros(0, dtype=np.int64)
    if not _both_classes(y_all):
        raise DataError(
            f"no ROC curve: the {y_all.size} test frames are not a mix of normal (0) and anomalous (1) labels; "
            "expected both classes"
        )
    return _roc(s_all, y_all)


HEADLINE = ("auroc", "auroc_macro", "ap", "eer")


def headline(metrics: Mapping, prefix: str = "") -> dict[str, float]:
    """The scalar metrics worth a chart: AUROC (micro, macro), AP, EER and AUROC per kind, defined ones only."""
    values = {name: metrics.get(name) for name in HEADLINE}
    values.update({f"auroc_{kind}": v for kind, v in (metrics.get("auroc_by_kind") or {}).items()})
    return {f"{prefix}{name}": float(v) for name, v in values.items() if v is not None}


def pr_curve(scores: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled precision-recall curve over all videos: (precision, recall), recall decreasing to 0;
    the one `ap` summarises. Raises DataError when the frames are all one class."""
    roc_curve(scores, labels)  # the same checks, the same error
    _, s_list, y_list, _ = _validate(scores, labels, None)
    r, _, _ = _ranks(np.concatenate(s_list))
    precision, recall, _ = binary_precision_recall_curve(r, _target(np.concatenate(y_list)), validate_args=False)
    return precision.numpy().astype(np.float64), recall.numpy().astype(np.float64)
