"""A `Sweep` -> a `Summary`: per-variant statistics over seeds and the paired tests against the baseline.

A variant is one combination of the sweep's factors; its finished seeds give mean and sample std of
every metric (overall and per anomaly kind). Each attention variant (heads > 0) is paired, seed by
seed, with the baseline (heads = 0) of the same other factors. Numbers only: rendering is elsewhere.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vadlit.reporting.jobs import Job, as_number
from vadlit.reporting.sweep import Sweep

METRICS = ("auroc", "auroc_macro", "auroc_macro_padded", "ap", "eer")
# metrics.json's `localization` block: where the anomaly is (runs with anomaly maps and pixel masks)
LOCALIZATION = ("pixel_auroc", "aupro", "rbdc", "tbdc")


def localization_value(job: Job, key: str) -> float | None:
    block = job.metrics.get("localization")
    return as_number(block.get(key)) if isinstance(block, dict) else None


@dataclass
class Stat:
    """Mean and sample std (ddof=1; None with one value) of one metric over a variant's finished seeds."""

    values: list[float]

    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.values)) if self.values else None

    @property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=1)) if len(self.values) >= 2 else None


@dataclass
class VariantSummary:
    key: tuple                                  # the factor values (grouping key)
    factors: dict[str, Any]                     # factor -> override value
    display: dict[str, str]                     # factor -> display value (model: metrics.model.variant)
    label: str                                  # "model=ta4, model.objective=predict"
    jobs: list[Job]                             # its primary jobs (all statuses)
    finished: list[Job]
    heads: int | None
    stats: dict[str, Stat]
    by_kind: dict[str, Stat]
    test_statistics: list[Job]                  # finished runs that used test statistics
    localization: dict[str, Stat]               # LOCALIZATION key -> over the seeds that recorded it

    @property
    def n(self) -> int:
        return len(self.finished)

    @property
    def n_expected(self) -> int:
        return len(self.jobs)

    @property
    def seeds(self) -> list:
        return [j.seed for j in self.finished]


@dataclass
class Pair:
    """An attention variant against the baseline of the same other factors, over seeds both finished."""

    variant: VariantSummary
    baseline: VariantSummary
    seeds: list
    diffs: list[float]                          # e.g. AUROC(variant) - AUROC(baseline) per seed (fraction)
    p_value: float | None

    @property
    def n(self) -> int:
        return len(self.diffs)

    @property
    def mean(self) -> float | None:
        return Stat(self.diffs).mean

    @property
    def std(self) -> float | None:
        return Stat(self.diffs).std

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.diffs)

    @property
    def losses(self) -> int:
        return sum(d < 0 for d in self.diffs)

    @property
    def ties(self) -> int:
        return sum(d == 0 for d in self.diffs)


@dataclass
class Summary:
    sweep: Sweep
    variants: list[VariantSummary]
    kinds: list[str]
    heads_factors: list[str]                    # factors that change the number of heads
    other_factors: list[str]                    # the rest: a pair shares them
    has_baseline: bool
    pairs: list[Pair]
    unpaired: list[VariantSummary]              # attention variants with no baseline of the same factors
    test_statistics: list[Job]


def _display_value(factor: str, value: Any, finished: list[Job]) -> str:
    if factor == "model":
        names = [j.model_name for j in finished if j.model_name]
        if names:
            return Counter(names).most_common(1)[0][0]
    return "(default)" if value is None else str(value)


def summarize(sweep: Sweep) -> Summary:
    """Per-variant mean ± std over seeds, per-kind AUROC, and the paired comparison with the baseline."""
    groups: dict[tuple, list[Job]] = {}
    for job in sweep.primary():
        groups.setdefault(job.variant, []).append(job)
    keys = list(groups)  # the order in which variants first appear among the jobs (Hydra's launch order)

    kinds: list[str] = []
    variants: list[VariantSummary] = []
    for key in keys:
        jobs = groups[key]
        finished = [j for j in jobs if j.status == "finished"]
        factors = dict(zip(sweep.factors, key))
        display = {f: _display_value(f, v, finished) for f, v in factors.items()}
        label = ", ".join(f"{f}={display[f]}" for f in sweep.factors) or "(all runs)"
        heads_seen = [j.heads for j in finished if j.heads is not None]
        heads = Counter(heads_seen).most_common(1)[0][0] if heads_seen else None
        stats = {m: Stat([v for v in (as_number(j.metrics.get(m)) for j in finished) if v is not None])
                 for m in METRICS}
        by_kind: dict[str, list[float]] = {}
        for j in finished:
            per_kind = j.metrics.get("auroc_by_kind") or {}
            if isinstance(per_kind, dict):
                for kind, value in per_kind.items():
                    if kind not in kinds:
                        kinds.append(kind)
                    by_kind.setdefault(kind, [])
                    if as_number(value) is not None:
                        by_kind[kind].append(as_number(value))
        variants.append(VariantSummary(
            key=key, factors=factors, display=display, label=label, jobs=jobs, finished=finished, heads=heads,
            stats=stats, by_kind={k: Stat(v) for k, v in by_kind.items()},
            test_statistics=[j for j in finished if j.uses_test_statistics],
            localization={k: Stat([x for x in (localization_value(j, k) for j in finished) if x is not None])
                          for k in LOCALIZATION}))
    kinds.sort()
    _disambiguate(variants, sweep.factors)

    # Which factors change the number of heads: two variants that differ only in that factor, heads differ.
    heads_factors = []
    known = [v for v in variants if v.heads is not None]
    for i, factor in enumerate(sweep.factors):
        for a in known:
            if any(b.heads != a.heads and b.key[i] != a.key[i]
                   and all(b.key[j] == a.key[j] for j in range(len(sweep.factors)) if j != i) for b in known):
                heads_factors.append(factor)
                break
    other = [f for f in sweep.factors if f not in heads_factors]
    other_idx = [sweep.factors.index(f) for f in other]

    baselines = [v for v in variants if v.heads == 0]
    pairs: list[Pair] = []
    unpaired: list[VariantSummary] = []
    for v in variants:
        if v.heads is None or v.heads == 0:
            continue
        matches = [b for b in baselines if all(b.key[i] == v.key[i] for i in other_idx)]
        if not matches:
            unpaired.append(v)
        for b in matches:
            pairs.append(paired(v, b))
    return Summary(sweep=sweep, variants=variants, kinds=kinds, heads_factors=heads_factors,
                   other_factors=other, has_baseline=bool(baselines), pairs=pairs, unpaired=unpaired,
                   test_statistics=[j for v in variants for j in v.test_statistics])


def _disambiguate(variants: list[VariantSummary], factors: list[str]) -> None:
    """Two override values shown under the same name (e.g. `model` left at its default and `model=ta4`,
    both `ta4` in metrics.json) keep their override value in the name."""
    for f in factors:
        shown: dict[str, set] = {}
        for v in variants:
            shown.setdefault(v.display[f], set()).add(v.factors[f])
        for v in variants:
            value = "(default)" if v.factors[f] is None else str(v.factors[f])
            if len(shown[v.display[f]]) > 1 and value != v.display[f]:
                v.display[f] = f"{value} [{v.display[f]}]"
    for v in variants:
        v.label = ", ".join(f"{f}={v.display[f]}" for f in factors) or "(all runs)"


def _auroc(job: Job) -> float | None:
    return as_number(job.metrics.get("auroc"))


def paired(variant: VariantSummary, baseline: VariantSummary, value: Callable[[Job], float | None] = _auroc) -> Pair:
    """``variant`` against ``baseline`` seed by seed on one number of each run (default: its AUROC)."""
    from scipy import stats

    base = {j.seed: value(j) for j in baseline.finished}
    seeds, a, b = [], [], []
    for j in variant.finished:
        x, y = value(j), base.get(j.seed)
        if j.seed in base and x is not None and y is not None:
            seeds.append(j.seed)
            a.append(x)
            b.append(y)
    diffs = [x - y for x, y in zip(a, b)]
    p = None
    if len(diffs) >= 2 and len(set(diffs)) > 1:
        p = float(stats.ttest_rel(a, b).pvalue)
    return Pair(variant=variant, baseline=baseline, seeds=seeds, diffs=diffs, p_value=p)
