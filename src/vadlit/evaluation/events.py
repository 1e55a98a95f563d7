"""Intervals over events: a bootstrap of the AUROC (overall and per kind) that resamples events.

Frames of one event are strongly correlated, so an interval that resamples frames is far too
narrow: with a handful of events per kind, the honest unit is the event. An *event* is a maximal run
of consecutive anomalous frames of one kind within one video. The interval of a kind resamples that
kind's events with replacement and, independently, the test videos' normal frames by video (a
cluster bootstrap), and recomputes the pooled AUROC of the kind each time.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from vadlit.errors import ConfigError

N_BOOT = 1000
LEVEL = 0.95
MIN_EVENTS = 2  # with one event, resampling events gives that event every time: no interval over events
NO_KIND = ("normal", "")


def find_events(y: np.ndarray, k: np.ndarray | None) -> list[tuple[int, int, str]]:
    """(start, stop, kind) of each maximal run of anomalous frames of one kind (stop exclusive)."""
    y = np.asarray(y)
    if y.size == 0:
        return []
    kinds = np.full(y.shape, "anomaly", dtype=object) if k is None else np.asarray(k, dtype=object)
    key = np.where(y == 1, kinds, None)
    change = np.flatnonzero(key[1:] != key[:-1]) + 1
    bounds = np.concatenate([[0], change, [len(y)]]).astype(int)
    return [(int(a), int(b), str(key[a])) for a, b in zip(bounds[:-1], bounds[1:]) if key[a] is not None]


def _rng(seed: int, kind: str | None) -> np.random.Generator:
    """One stream per kind, so a kind's interval does not depend on which other kinds exist."""
    return np.random.default_rng([int(seed), zlib.crc32(str(kind).encode())])


def bootstrap_auroc(
    pos: Sequence[np.ndarray], neg: Sequence[np.ndarray], n_boot: int = N_BOOT, seed: int = 0, kind: str | None = None
) -> tuple[float, float]:
    """Percentile interval of the pooled AUROC of positive clusters ``pos`` (events) against negative
    clusters ``neg`` (each video's normal frames), resampling both with replacement.

    A resample is a multiplicity per cluster, so its AUROC is a weighted Mann-Whitney statistic:
    ``M[e, v]`` counts the pairs (frame of event e, normal frame of video v) ranked correctly (ties
    1/2) once, and every resample is then two matrix products.
    """
    n_pos = np.array([len(p) for p in pos], dtype=np.float64)
    n_neg = np.array([len(n) for n in neg], dtype=np.float64)
    s_pos = np.concatenate(pos).astype(np.float64)
    event = np.repeat(np.arange(len(pos)), n_pos.astype(int))
    pairs = np.empty((len(pos), len(neg)))
    for j, normal in enumerate(neg):
        normal = np.sort(np.asarray(normal, dtype=np.float64))
        below = np.searchsorted(normal, s_pos, side="left")
        ties = np.searchsorted(normal, s_pos, side="right") - below
        pairs[:, j] = np.bincount(event, weights=below + 0.5 * ties, minlength=len(pos))
    rng = _rng(seed, kind)
    a = rng.multinomial(len(pos), np.full(len(pos), 1 / len(pos)), size=n_boot).astype(np.float64)
    b = rng.multinomial(len(neg), np.full(len(neg), 1 / len(neg)), size=n_boot).astype(np.float64)
    auroc = ((a @ pairs) * b).sum(axis=1) / ((a @ n_pos) * (b @ n_neg))
    tail = 100 * (1 - LEVEL) / 2
    lo, hi = np.percentile(auroc, [tail, 100 - tail])
    return float(lo), float(hi)


def event_intervals(
    s_list: Sequence[np.ndarray],
    y_list: Sequence[np.ndarray],
    k_list: Sequence[np.ndarray] | None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> tuple[dict, list[str]]:
    """``auroc_ci``, ``auroc_by_kind_ci`` and the event counts for metrics.json, and their warnings.

    ``auroc_ci`` resamples the events of every kind together; a kind with fewer than MIN_EVENTS
    events gets a null interval (and a warning) rather than one that only reflects the normal frames.
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise ConfigError(f"n_boot={n_boot!r}: expected a positive number of bootstrap resamples")
    negatives = [s[y == 0] for s, y in zip(s_list, y_list) if (y == 0).any()]
    events: dict[str | None, list[np.ndarray]] = {None: []}
    for v, (s, y) in enumerate(zip(s_list, y_list)):
        for a, b, kind in find_events(y, None if k_list is None else k_list[v]):
            events[None].append(s[a:b])
            if k_list is not None and kind.lower() not in NO_KIND:
                events.setdefault(kind, []).append(s[a:b])

    def interval(kind: str | None) -> list[float] | None:
        if not negatives or len(events[kind]) < MIN_EVENTS:
            return None
        return list(bootstrap_auroc(events[kind], negatives, n_boot, seed, kind))

    kinds = sorted(k for k in events if k is not None)
    out = {
        "auroc_ci": interval(None),
        "n_events": len(events[None]),
        "auroc_by_kind_ci": {k: interval(k) for k in kinds},
        "n_events_by_kind": {k: len(events[k]) for k in kinds},
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": LEVEL,
                      "resampled": "events (runs of anomalous frames of one kind) and the test videos' normal frames"},
    }
    warnings = []
    few = [k for k in kinds if len(events[k]) < MIN_EVENTS]
    if few:
        warnings.append(f"auroc_by_kind_ci: null for {', '.join(few)}: fewer than {MIN_EVENTS} events, "
                        "so there is no interval over events")
    if 0 < len(events[None]) < MIN_EVENTS:
        warnings.append(f"auroc_ci: null: {len(events[None])} anomalous event only, no interval over events")
    return out, warnings
