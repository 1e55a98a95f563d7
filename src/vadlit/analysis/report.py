"""An ablation sweep folder -> a results table: `report.md`, `results.csv` and `report.png`.

`load_sweep` reads every job folder of a Hydra multirun (its overrides, `run_info.json` status and
`metrics.json`), expands the grid the sweep was launched with (`multirun.yaml`: the sweep overrides of
`hydra.overrides.task` plus `hydra.sweeper.params`, exactly as Hydra's BasicSweeper does) and marks the
jobs of that grid that have no folder as missing. `summarize` aggregates the finished runs per variant
over seeds and pairs each attention variant with the baseline of the same other factors seed by seed.
`write_report` writes the three files. Nothing found or expected is dropped silently: every job is either
in the results table or listed as failed / unfinished / missing / superseded.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from vadlit.errors import VadlitError

REPLICATE = "seed"
METRICS = ("auroc", "auroc_macro", "ap", "eer")
METRIC_TITLES = {"auroc": "AUROC", "auroc_macro": "AUROC macro", "ap": "AP", "eer": "EER ↓"}
LOWER_IS_BETTER = {"eer"}
DASH = "—"
MAX_DEPTH = 4  # how deep under the sweep folder job folders are looked for
# Overrides that say where or how a job ran, not what it computed: they neither identify a job of the
# grid (a sweep re-run with `resume=true` or on another machine finds its jobs) nor make a factor.
# They stay in the listed overrides. (As conf/hydra/default.yaml's override_dirname.exclude_keys.)
BOOKKEEPING_KEYS = ("resume", "trainer", "hydra/launcher", "data.root")
BOOKKEEPING_PREFIXES = ("hydra.", "hydra/", "paths.")


# ----------------------------------------------------------------------------------------- data types

@dataclass
class Job:
    """One job of the sweep: a folder found on disk, or a job of the grid with no folder (`missing`)."""

    name: str                                   # path relative to the sweep folder ("—" when missing)
    path: Path | None
    overrides: dict[str, str]                   # normalised key -> value, as Hydra prints it
    override_list: list[str]                    # the overrides as written (`.hydra/overrides.yaml`)
    status: str                                 # finished | failed | unfinished | missing
    reason: str | None = None                   # the error (failed) or the state (unfinished)
    metrics: dict | None = None
    run_info: dict | None = None
    seed: Any = None
    in_grid: bool = True                        # False: found, but not a job of the expected grid
    superseded_by: str | None = None            # another folder with the same overrides is used instead
    variant: tuple = ()                         # its values of the sweep's factors

    @property
    def used(self) -> bool:
        return self.superseded_by is None

    @property
    def error(self) -> str | None:
        return self.reason if self.status == "failed" else None

    @property
    def heads(self) -> int | None:
        model = (self.metrics or {}).get("model") or {}
        heads = model.get("heads") if isinstance(model, dict) else None
        return int(heads) if isinstance(heads, (int, float)) and not isinstance(heads, bool) else None

    @property
    def model_name(self) -> str | None:
        model = (self.metrics or {}).get("model") or {}
        name = model.get("variant") if isinstance(model, dict) else None
        return str(name) if name not in (None, "") else None

    def overrides_text(self) -> str:
        return " ".join(self.override_list) if self.override_list else "(no overrides)"


@dataclass
class Sweep:
    """Everything `load_sweep` found: jobs (found and missing), the study's factors, how the grid was known."""

    path: Path
    jobs: list[Job]
    factors: list[str]                          # override keys with more than one value, minus `seed`
    factor_values: dict[str, list]              # each factor's values in grid order (None = not overridden)
    fixed: dict[str, str]                       # override keys with one value across the sweep
    n_expected: int                             # jobs of the grid (or distinct jobs found, without a grid)
    grid_source: str                            # how the expected jobs were known
    notes: list[str] = field(default_factory=list)

    def primary(self) -> list[Job]:
        """One job per expected grid point (found or missing) plus found jobs outside the grid."""
        return [j for j in self.jobs if j.used]

    def by_status(self, status: str) -> list[Job]:
        return [j for j in self.primary() if j.status == status]

    @property
    def superseded(self) -> list[Job]:
        return [j for j in self.jobs if not j.used]

    @property
    def outside_grid(self) -> list[Job]:
        return [j for j in self.primary() if not j.in_grid]

    def counts(self) -> dict[str, int]:
        return {
            "expected": self.n_expected,
            "finished": len(self.by_status("finished")),
            "failed": len(self.by_status("failed")),
            "unfinished": len(self.by_status("unfinished")),
            "missing": len(self.by_status("missing")),
            "outside_grid": len(self.outside_grid),
            "superseded": len(self.superseded),
        }


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
    diffs: list[float]                          # AUROC(variant) - AUROC(baseline) per seed (fraction)
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


# ----------------------------------------------------------------------------------------- reading

def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text()), None
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"{path.name} unreadable ({type(exc).__name__}: {_one_line(str(exc))})"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _norm_key(key: str) -> str:
    return key.lstrip("+")


def _parse_one(parser, text: str) -> tuple[str, str]:
    try:
        override = parser.parse_overrides([text])[0]
        key = _norm_key(override.get_key_element())
        if override.is_sweep_override():
            return key, text.split("=", 1)[1] if "=" in text else ""
        return key, override.get_value_element_as_str()
    except Exception:  # noqa: BLE001 - an odd override is kept as written, never fatal
        key, _, value = text.partition("=")
        return _norm_key(key.strip()), value.strip()


def _parse_overrides(parser, items: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in items:
        key, value = _parse_one(parser, str(text))
        if key not in BOOKKEEPING_KEYS and not key.startswith(BOOKKEEPING_PREFIXES):
            out[key] = value
    return out


def expand_grid(multirun_yaml: Path) -> tuple[list[list[str]] | None, str]:
    """The jobs (lists of overrides) Hydra's BasicSweeper launched for this `multirun.yaml`, or None and
    the reason they cannot be known. Sweeper params come first, the command line wins for the same key."""
    from omegaconf import OmegaConf

    try:
        cfg = OmegaConf.load(multirun_yaml)
    except Exception as exc:  # noqa: BLE001
        return None, f"multirun.yaml unreadable ({type(exc).__name__}: {_one_line(exc)})"
    target = OmegaConf.select(cfg, "hydra.sweeper._target_", default=None)
    if target and "BasicSweeper" not in str(target):
        return None, f"sweeper {target} is not Hydra's BasicSweeper"
    task = OmegaConf.select(cfg, "hydra.overrides.task", default=None)
    params = OmegaConf.select(cfg, "hydra.sweeper.params", default=None)
    task = [str(t) for t in OmegaConf.to_container(task, resolve=False)] if task is not None else []
    params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
    arguments = [f"{k}={v}" for k, v in (params or {}).items()] + task
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        overrides = _parser().parse_overrides(arguments)
        batches = BasicSweeper.split_arguments(overrides, None)[0]
    except Exception as exc:  # noqa: BLE001 - e.g. glob() needs the config tree
        return None, f"grid of multirun.yaml not expandable ({type(exc).__name__}: {_one_line(exc)})"
    return [list(b) for b in batches], "multirun.yaml (hydra.sweeper.params + hydra.overrides.task)"


def _is_job_dir(path: Path) -> bool:
    return (path / ".hydra" / "overrides.yaml").is_file() or (path / "run_info.json").is_file()


def _find_job_dirs(root: Path) -> list[Path]:
    if _is_job_dir(root):
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        depth = len(here.relative_to(root).parts)
        keep = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            child = here / name
            if _is_job_dir(child):
                found.append(child)
            elif depth + 1 < MAX_DEPTH:
                keep.append(name)
        dirnames[:] = keep
    return sorted(found, key=_natural_key)


def _natural_key(path: Path):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path))]


def _read_job(path: Path, root: Path, parser) -> Job:
    from omegaconf import OmegaConf

    name = "." if path == root else str(path.relative_to(root))
    override_list: list[str] = []
    problems = []
    ov_path = path / ".hydra" / "overrides.yaml"
    if ov_path.is_file():
        try:
            loaded = OmegaConf.to_container(OmegaConf.load(ov_path), resolve=False)
            override_list = [str(o) for o in (loaded or [])]
        except Exception as exc:  # noqa: BLE001
            problems.append(f"overrides.yaml unreadable ({type(exc).__name__})")
    overrides = _parse_overrides(parser, override_list)

    info, info_error = _read_json(path / "run_info.json")
    info = info if isinstance(info, dict) else None
    metrics, metrics_error = _read_json(path / "metrics.json")
    metrics = metrics if isinstance(metrics, dict) else None
    raw = info.get("status") if info else None

    if raw == "failed":
        status, reason = "failed", _one_line(info.get("error") or "(no error recorded in run_info.json)")
        if (path / "error.txt").is_file():
            reason += f" (traceback: {name}/error.txt)"
    elif raw == "finished" and metrics is not None:
        status, reason = "finished", None
    else:
        status = "unfinished"
        if info_error:
            reason = info_error
        elif info is None:
            reason = "no run_info.json" + (" (metrics.json present)" if metrics is not None else "")
        elif raw == "running":
            reason = f"status running since {info.get('start') or '?'}, no metrics.json (still running or killed)"
        elif raw == "finished":
            reason = metrics_error or "finished without metrics.json (test step not run?)"
        else:
            reason = f"status {raw!r} in run_info.json"
    if problems:
        reason = "; ".join(filter(None, [reason, *problems]))

    seed = overrides.get(REPLICATE)
    if seed is None:
        seed = (metrics or {}).get("seed", (info or {}).get("seed"))
    return Job(name=name, path=path, overrides=overrides, override_list=override_list, status=status,
               reason=reason, metrics=metrics, run_info=info,
               seed=_seed_value(seed))


def _seed_value(seed: Any) -> Any:
    if isinstance(seed, str):
        try:
            return int(seed)
        except ValueError:
            return seed
    return seed


def _job_rank(job: Job) -> tuple:
    """Which of several folders with the same overrides is used: finished first, then the latest."""
    order = {"finished": 3, "failed": 1, "unfinished": 2}
    info = job.run_info or {}
    return order.get(job.status, 0), str(info.get("end") or info.get("start") or ""), job.name


def load_sweep(sweep_dir: str | os.PathLike) -> Sweep:
    """Read a sweep folder (or a folder of run folders, or one run folder). Raises VadlitError when the
    folder does not exist or holds no job."""
    root = Path(sweep_dir)
    if not root.exists():
        raise VadlitError(f"no such folder: {root}")
    if not root.is_dir():
        raise VadlitError(f"not a folder: {root} (give the sweep folder, the one with multirun.yaml)")
    parser = _parser()
    found = [_read_job(p, root, parser) for p in _find_job_dirs(root)]
    if not found:
        raise VadlitError(f"no job folder in {root} (expected subfolders with .hydra/overrides.yaml or "
                          "run_info.json, as a Hydra multirun writes)")

    notes: list[str] = []
    grid = None
    multirun = root / "multirun.yaml"
    if multirun.is_file():
        grid, grid_source = expand_grid(multirun)
        if grid is None:
            grid_source = "the jobs found (" + grid_source + ")"
    else:
        grid_source = "the jobs found (no multirun.yaml)"

    # Expected grid points, in Hydra's launch order.
    points: list[dict[str, str]] = []
    if grid is not None:
        seen = set()
        for overrides in grid:
            parsed = _parse_overrides(parser, overrides)
            key = frozenset(parsed.items())
            if key not in seen:
                seen.add(key)
                points.append(parsed)
        grid_lists = {frozenset(_parse_overrides(parser, o).items()): list(o) for o in grid}

    # Group found folders by their override set; keep one per set, the others are superseded.
    groups: dict[frozenset, list[Job]] = {}
    for job in found:
        groups.setdefault(frozenset(job.overrides.items()), []).append(job)
    for members in groups.values():
        if len(members) > 1:
            best = max(members, key=_job_rank)
            for job in members:
                if job is not best:
                    job.superseded_by = best.name

    jobs: list[Job] = []
    if grid is not None:
        point_keys = set()
        for point in points:
            key = frozenset(point.items())
            point_keys.add(key)
            members = groups.get(key)
            if members:
                jobs.extend(members)
            else:
                jobs.append(Job(name=DASH, path=None, overrides=point, override_list=grid_lists[key],
                                status="missing", reason="no job folder", seed=_seed_value(point.get(REPLICATE))))
        for key, members in groups.items():
            if key not in point_keys:
                for job in members:
                    job.in_grid = False
                    jobs.append(job)
        n_expected = len(points)
    else:
        jobs = list(found)
        n_expected = len(groups)

    # Factors: override keys with more than one value over the jobs (expected and found), minus the seed.
    primary = [j for j in jobs if j.used]
    keys: list[str] = []
    for job in primary:  # in Hydra's launch order when the grid is known
        for k in job.overrides:
            if k not in keys:
                keys.append(k)
    values: dict[str, list] = {k: [] for k in keys}
    for job in primary:
        for k in keys:
            v = job.overrides.get(k)
            if v not in values[k]:
                values[k].append(v)
    factors = [k for k in keys if k != REPLICATE and len(values[k]) > 1]
    fixed = {k: values[k][0] for k in keys if k != REPLICATE and len(values[k]) == 1}
    for job in jobs:
        job.variant = tuple(job.overrides.get(k) for k in factors)
    if grid is not None and any(not j.in_grid for j in primary):
        notes.append(f"{sum(not j.in_grid for j in primary)} job folder(s) do not match the grid of "
                     "multirun.yaml; they are reported with the others")
    return Sweep(path=root, jobs=jobs, factors=factors, factor_values={k: values[k] for k in factors},
                 fixed=fixed, n_expected=n_expected, grid_source=grid_source, notes=notes)


# ----------------------------------------------------------------------------------------- aggregation

def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _display_value(factor: str, value: Any, finished: list[Job]) -> str:
    if factor == "model":
        names = [j.model_name for j in finished if j.model_name]
        if names:
            return Counter(names).most_common(1)[0][0]
    return "(default)" if value is None else str(value)


def _test_statistic_options(job: Job) -> dict[str, Any]:
    """The post-processing options of a run that are switched on (the ones that use test statistics)."""
    options = (job.metrics or {}).get("options") or {}
    on = {}
    for k, v in options.items():
        if k == "uses_test_statistics":
            continue
        if v is True or (_number(v) is not None and not isinstance(v, bool) and _number(v) != 0):
            on[k] = v
    return on


def _uses_test_statistics(job: Job) -> bool:
    options = (job.metrics or {}).get("options") or {}
    return isinstance(options, dict) and bool(options.get("uses_test_statistics"))


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
        stats = {m: Stat([v for v in (_number(j.metrics.get(m)) for j in finished) if v is not None])
                 for m in METRICS}
        by_kind: dict[str, list[float]] = {}
        for j in finished:
            per_kind = j.metrics.get("auroc_by_kind") or {}
            if isinstance(per_kind, dict):
                for kind, value in per_kind.items():
                    if kind not in kinds:
                        kinds.append(kind)
                    by_kind.setdefault(kind, [])
                    if _number(value) is not None:
                        by_kind[kind].append(_number(value))
        variants.append(VariantSummary(
            key=key, factors=factors, display=display, label=label, jobs=jobs, finished=finished, heads=heads,
            stats=stats, by_kind={k: Stat(v) for k, v in by_kind.items()},
            test_statistics=[j for j in finished if _uses_test_statistics(j)]))
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
            pairs.append(_pair(v, b))
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


def _pair(variant: VariantSummary, baseline: VariantSummary) -> Pair:
    from scipy import stats

    base = {j.seed: _number(j.metrics.get("auroc")) for j in baseline.finished}
    seeds, a, b = [], [], []
    for j in variant.finished:
        x, y = _number(j.metrics.get("auroc")), base.get(j.seed)
        if j.seed in base and x is not None and y is not None:
            seeds.append(j.seed)
            a.append(x)
            b.append(y)
    diffs = [x - y for x, y in zip(a, b)]
    p = None
    if len(diffs) >= 2 and len(set(diffs)) > 1:
        p = float(stats.ttest_rel(a, b).pvalue)
    return Pair(variant=variant, baseline=baseline, seeds=seeds, diffs=diffs, p_value=p)


# ----------------------------------------------------------------------------------------- formatting

def _pct(value: float | None, sign: bool = False) -> str:
    if value is None:
        return DASH
    return f"{100 * value:+.1f}" if sign else f"{100 * value:.1f}"


def format_stat(stat: Stat | None, n_finished: int | None = None) -> str:
    """`67.0 ± 1.2` in %, `67.0 ± —` with one value, `—` with none; `(k values)` when some were null."""
    if stat is None or not stat.count:
        return DASH
    text = f"{_pct(stat.mean)} ± {_pct(stat.std)}"
    if n_finished is not None and stat.count < n_finished:
        text += f" ({stat.count} value{'s' if stat.count != 1 else ''})"
    return text


def format_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[Any]], align: list[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _factor_header(sweep: Sweep) -> list[str]:
    return list(sweep.factors) or ["runs"]


def _factor_cells(summary: Summary, v: VariantSummary, mark: bool = True) -> list[str]:
    cells = [v.display[f] for f in summary.sweep.factors] or ["(all)"]
    if mark and v.test_statistics:
        cells[0] += " ‡"
    return cells


def results_table(summary: Summary) -> str:
    """The main table (Markdown): one row per variant, mean ± std over seeds in %, best mean in bold."""
    best = {}
    for m in METRICS:
        means = [v.stats[m].mean for v in summary.variants if v.stats[m].mean is not None]
        if len(means) >= 2:
            best[m] = min(means) if m in LOWER_IS_BETTER else max(means)
    rows = []
    for v in summary.variants:
        row = _factor_cells(summary, v) + [f"{v.n}/{v.n_expected}"]
        for m in METRICS:
            text = format_stat(v.stats[m], v.n)
            if m in best and v.stats[m].mean == best[m]:
                text = f"**{text}**"
            row.append(text)
        rows.append(row)
    header = _factor_header(summary.sweep) + ["n"] + [f"{METRIC_TITLES[m]} (%)" for m in METRICS]
    return _md_table(header, rows, ["l"] * len(_factor_header(summary.sweep)) + ["r"] * (1 + len(METRICS)))


def paired_table(summary: Summary) -> str:
    """Attention variants against the baseline of the same other factors (Markdown), or why there is none."""
    if not summary.has_baseline:
        return ("No baseline (a variant with `model.heads` = 0) in this study: no paired comparison.")
    if not summary.pairs and not summary.unpaired:
        return "No attention variant (`model.heads` > 0) with finished runs: no paired comparison."
    sweep = summary.sweep
    rows = []
    for p in summary.pairs:
        row = [p.variant.display[f] for f in sweep.factors]
        row.append(" ".join(f"{f}={p.baseline.display[f]}" for f in summary.heads_factors) or p.baseline.label)
        diff = DASH if p.mean is None else f"{_pct(p.mean, sign=True)} ± {_pct(p.std)}"
        wl = f"{p.wins}/{p.losses}" + (f" ({p.ties} ties)" if p.ties else "")
        row += [p.n, diff, wl if p.n else DASH, format_p(p.p_value)]
        rows.append(row)
    for v in summary.unpaired:
        row = [v.display[f] for f in sweep.factors]
        row += ["no baseline with the same " + (", ".join(summary.other_factors) or "factors"), 0, DASH, DASH, DASH]
        rows.append(row)
    header = list(sweep.factors) + ["vs", "pairs", "ΔAUROC (pp)", "wins/losses", "p (paired t)"]
    return _md_table(header, rows, ["l"] * (len(sweep.factors) + 1) + ["r"] * 4)


def kinds_table(summary: Summary) -> str:
    if not summary.kinds:
        return "No `auroc_by_kind` in the finished runs."
    rows = []
    for v in summary.variants:
        rows.append(_factor_cells(summary, v, mark=False)
                    + [format_stat(v.by_kind.get(k), v.n) for k in summary.kinds])
    header = _factor_header(summary.sweep) + [f"{k} (%)" for k in summary.kinds]
    return _md_table(header, rows, ["l"] * len(_factor_header(summary.sweep)) + ["r"] * len(summary.kinds))


def _setup_lines(summary: Summary) -> list[str]:
    """What the finished runs were tested on; anything that differs between them is named."""
    finished = [j for v in summary.variants for j in v.finished]
    if not finished:
        return []
    fields: dict[str, list] = {}

    def add(name, value):
        value = "x".join(map(str, value)) if isinstance(value, list) else value
        fields.setdefault(name, [])
        if value not in fields[name]:
            fields[name].append(value)

    for j in finished:
        data = j.metrics.get("data") or {}
        if isinstance(data, dict):
            for k in ("source", "image_size", "channels", "clip_len", "test_stride"):
                if k in data:
                    add(k, data[k])
        for k in ("n_videos", "n_frames"):
            if k in j.metrics:
                add(k, j.metrics[k])
    parts, varies = [], []
    for k, vals in fields.items():
        if len(vals) == 1:
            parts.append(f"{k} {vals[0]}")
        else:
            varies.append(f"{k} ({', '.join(map(str, vals))})")
    lines = []
    if parts:
        lines.append("- Test data: " + ", ".join(parts))
    if varies:
        lines.append("- Differs between runs: " + ", ".join(varies) + " (check that this is a factor of the study)")
    return lines


def _runs_table(jobs: list[Job], what: str) -> str:
    rows = [[f"`{j.name}`" if j.path else DASH, f"`{j.overrides_text()}`", j.reason or ""] for j in jobs]
    return _md_table(["run folder", "overrides", what], rows)


def render_markdown(summary: Summary) -> str:
    sweep = summary.sweep
    c = sweep.counts()
    lines = [f"# Results: `{sweep.path}`", ""]
    counts = (f"{c['expected']} expected · {c['finished']} finished · {c['failed']} failed · "
              f"{c['unfinished']} unfinished · {c['missing']} missing")
    if c["outside_grid"]:
        counts += f" · {c['outside_grid']} outside the grid"
    if c["superseded"]:
        counts += f" · {c['superseded']} superseded"
    lines.append(f"- Runs: {counts}")
    lines.append(f"- Expected jobs from: {sweep.grid_source}")
    if sweep.factors:
        lines.append("- Factors: " + "; ".join(
            f"`{f}` ({', '.join('(default)' if v is None else str(v) for v in sweep.factor_values[f])})"
            for f in sweep.factors))
    else:
        lines.append("- Factors: none (every run has the same overrides apart from the seed)")
    seeds = sorted({j.seed for j in sweep.primary() if j.seed is not None}, key=str)
    lines.append(f"- Replicates: `{REPLICATE}` ({', '.join(map(str, seeds)) or 'not recorded'})")
    if sweep.fixed:
        lines.append("- Fixed overrides: " + " ".join(f"`{k}={v}`" for k, v in sweep.fixed.items()))
    lines += _setup_lines(summary)
    lines += [f"- Note: {n}" for n in sweep.notes]
    if summary.test_statistics:
        lines += ["", f"> **⚠ Test statistics used** by {len(summary.test_statistics)} finished run(s) "
                      "(marked ‡): their scores were post-processed with statistics of the test videos, "
                      "so they are not comparable with runs that were not."]
        for v in summary.variants:
            if v.test_statistics:
                opts = {}
                for j in v.test_statistics:
                    for k, val in _test_statistic_options(j).items():
                        opts.setdefault(k, [])
                        if val not in opts[k]:
                            opts[k].append(val)
                text = (", ".join(f"`{k}={'/'.join(map(str, vals))}`" for k, vals in opts.items())
                        or "(options not recorded)")
                seeds_ts = ", ".join(str(j.seed) for j in v.test_statistics)
                lines.append(f"> - {v.label} (seeds {seeds_ts}): {text}")

    lines += ["", "## Results (mean ± std over seeds, %)", "", results_table(summary), "",
              "n = finished seeds / expected seeds. ± is the sample standard deviation over seeds (ddof=1; "
              "— with one seed). AUROC is frame-level over all test frames (micro), AUROC macro the mean "
              "per-video AUROC. Best mean per column in bold (lowest for EER)."]
    if summary.test_statistics:
        lines.append("‡ used test statistics (see above).")

    lines += ["", "## Attention vs baseline (paired over seeds)", "", paired_table(summary)]
    if summary.has_baseline and summary.pairs:
        same = ", ".join(f"`{f}`" for f in summary.other_factors)
        lines += ["", "ΔAUROC = AUROC(variant) − AUROC(baseline" + (f" with the same {same}" if same else "")
                  + ") on the same seed, in percentage points: mean ± std over the seeds both finished. "
                  "wins/losses count seeds where the variant is better/worse. p: two-sided paired t-test "
                  "(scipy.stats.ttest_rel); — with fewer than 2 pairs or identical differences."]

    lines += ["", "## AUROC per anomaly kind (mean ± std over seeds, %)", "", kinds_table(summary)]

    from vadlit.analysis.trivial_table import trivial_section  # here: it uses this module's formatting

    lines += ["", "## Trivial baselines on the same test frames (%)", "", *trivial_section(summary)]

    lines += ["", "## Runs not in the table", ""]
    failed, unfinished, missing = sweep.by_status("failed"), sweep.by_status("unfinished"), sweep.by_status("missing")
    if not (failed or unfinished or missing or sweep.superseded):
        lines.append("None: every expected job finished.")
    if failed:
        lines += [f"### Failed ({len(failed)})", "", _runs_table(failed, "error"), ""]
    if unfinished:
        lines += [f"### Unfinished ({len(unfinished)})", "", _runs_table(unfinished, "state"), ""]
    if missing:
        lines += [f"### Missing ({len(missing)})", "",
                  "Jobs of the grid with no folder (never launched, or the sweep stopped before them).", "",
                  _runs_table(missing, "state"), ""]
    if sweep.superseded:
        rows = [[f"`{j.name}`", f"`{j.overrides_text()}`", j.status + (f": {j.reason}" if j.reason else ""),
                 f"`{j.superseded_by}`"] for j in sweep.superseded]
        lines += [f"### Superseded ({len(sweep.superseded)})", "",
                  "Folders with the same overrides as another one; the finished (else latest) one is used.", "",
                  _md_table(["run folder", "overrides", "state", "used instead"], rows), ""]
    if sweep.outside_grid:
        lines += ["Found outside the grid of multirun.yaml (included above): "
                  + ", ".join(f"`{j.name}`" for j in sweep.outside_grid), ""]
    lines += ["", "## Plot", "", "![AUROC](report.png)", ""]
    text = "\n".join(lines).rstrip() + "\n"
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


# ----------------------------------------------------------------------------------------- outputs

def write_csv(summary: Summary, path: Path) -> Path:
    """One row per variant: factor values, heads, n, and mean / std of every metric as fractions."""
    header = [*summary.sweep.factors, "variant", "heads", "n", "n_expected", "uses_test_statistics"]
    for m in METRICS:
        header += [f"{m}_mean", f"{m}_std"]
    for k in summary.kinds:
        header += [f"auroc_{k}_mean", f"auroc_{k}_std"]

    def num(x):
        return "" if x is None else repr(float(x))

    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for v in summary.variants:
            row = ["" if v.factors[f] is None else v.factors[f] for f in summary.sweep.factors]
            ts = len(v.test_statistics)
            row += [v.label, "" if v.heads is None else v.heads, v.n, v.n_expected,
                    "" if not v.n else ("true" if ts == v.n else "false" if ts == 0 else "mixed")]
            for m in METRICS:
                row += [num(v.stats[m].mean), num(v.stats[m].std)]
            for k in summary.kinds:
                s = v.by_kind.get(k)
                row += [num(s.mean if s else None), num(s.std if s else None)]
            writer.writerow(row)
    return path


def write_plot(summary: Summary, path: Path) -> Path:
    """AUROC (micro) against the number of heads (categorical), one line per combination of the other
    factors, error bars = std over seeds, faint dots = single seeds. Without varying heads: against the
    first factor."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sweep = summary.sweep
    fig = Figure(figsize=(6.4, 4.2), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    plotted = [v for v in summary.variants if v.stats["auroc"].count]
    heads_vary = len({v.heads for v in plotted if v.heads is not None}) > 1
    if heads_vary:
        plotted = [v for v in plotted if v.heads is not None]
        xs = sorted({v.heads for v in plotted})
        xlabels = ["baseline" if h == 0 else str(h) for h in xs]
        xpos = lambda v: xs.index(v.heads)  # noqa: E731
        line_factors = summary.other_factors
        xlabel = "temporal-attention heads"
    elif sweep.factors:
        first = sweep.factors[0]
        vals = [val for val in sweep.factor_values[first] if any(v.factors[first] == val for v in plotted)]
        xlabels = []
        for val in vals:
            shown = [v.display[first] for v in plotted if v.factors[first] == val]
            xlabels.append(shown[0] if shown else str(val))
        xpos = lambda v: vals.index(v.factors[first])  # noqa: E731
        line_factors = sweep.factors[1:]
        xlabel = first
    else:
        xlabels = ["all runs"]
        xpos = lambda v: 0  # noqa: E731
        line_factors = []
        xlabel = ""

    lines: dict[tuple, list[VariantSummary]] = {}
    for v in plotted:
        lines.setdefault(tuple(v.factors[f] for f in line_factors), []).append(v)
    colors = [f"C{i}" for i in range(10)]
    for i, (key, members) in enumerate(lines.items()):
        members = sorted(members, key=xpos)
        color = colors[i % len(colors)]
        x = np.array([xpos(v) for v in members], dtype=float)
        offset = (i - (len(lines) - 1) / 2) * 0.06
        y = np.array([100 * v.stats["auroc"].mean for v in members])
        err = np.array([100 * (v.stats["auroc"].std or 0.0) for v in members])
        label = ", ".join(f"{f}={members[0].display[f]}" for f in line_factors) or None
        ax.errorbar(x + offset, y, yerr=err, marker="o", capsize=4, color=color, label=label, linewidth=1.6)
        for v, xv in zip(members, x):
            vals = 100 * np.array(v.stats["auroc"].values)
            ax.scatter(np.full(len(vals), xv + offset + 0.08), vals, s=10, color=color, alpha=0.35, linewidths=0)
            if v.n < v.n_expected:
                low = 100 * (v.stats["auroc"].mean - (v.stats["auroc"].std or 0.0))
                ax.annotate(f"n={v.n}/{v.n_expected}", (xv + offset, low), textcoords="offset points",
                            xytext=(0, -10), ha="center", fontsize=7, color=color)
    if not plotted:
        ax.text(0.5, 0.5, "no finished run with an AUROC", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
    else:
        ax.set_xticks(range(len(xlabels)))
        ax.set_xticklabels(xlabels)
        ax.set_xlim(-0.5, len(xlabels) - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("frame-level AUROC (%)")
    where = sweep.path.resolve()
    name = f"{where.parent.parent.name} / {where.name}" if where.parent.name == "multiruns" else where.name
    ax.set_title(f"AUROC (mean ± std over seeds): {name}", fontsize=10)
    ax.grid(True, alpha=0.3)
    if any(k for k in lines) and len(lines) > 1 or (len(lines) == 1 and line_factors):
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    return path


def write_report(sweep: Sweep, out_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Write report.md, results.csv and report.png into `out_dir` (default: the sweep folder)."""
    out = Path(out_dir) if out_dir is not None else sweep.path
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VadlitError(f"cannot create the output folder {out}: {exc.strerror or exc}") from exc
    summary = summarize(sweep)
    paths = {"report.md": out / "report.md", "results.csv": out / "results.csv", "report.png": out / "report.png"}
    try:
        paths["report.md"].write_text(render_markdown(summary))
        write_csv(summary, paths["results.csv"])
        write_plot(summary, paths["report.png"])
    except OSError as exc:
        raise VadlitError(f"cannot write the report into {out}: {exc.strerror or exc}") from exc
    return paths
