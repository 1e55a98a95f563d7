"""Every config composes, resolves and builds: each entry point's primary config, each option of each of
its config groups, each launcher, and each value of each experiment's sweep grid.

A case composes like the entry point would (Hydra's compose API, with the `hydra` node), checks that the
only `???` left are the values a user gives on the command line (REQUIRED), fills those in and what
Hydra sets only when a job starts (its output folder and number), resolves every interpolation, and
instantiates what needs neither data on disk nor training: the data module and its source, the model,
callbacks, loggers, the trainer (no fit) and the launcher.
"""

from __future__ import annotations

import functools
import inspect
import re
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import InstantiationException
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf, open_dict

from tests.helpers.paths import ROOT
from vadlit.config.tree import config_dir
from vadlit.errors import ConfigError
from vadlit.config.resolvers import ROOT_ENV, SWEEP_ENV
from vadlit.tasks.compose import instantiate_group

CONF = Path(config_dir())
MISSING = "???"

# Primary configs (conf/*.yaml) and config groups (every folder of conf/ holding options).
PRIMARIES = sorted(p.stem for p in CONF.glob("*.yaml"))
GROUPS = {d.relative_to(CONF).as_posix(): sorted(p.stem for p in d.glob("*.yaml"))
          for d in sorted(CONF.rglob("*")) if d.is_dir() and any(d.glob("*.yaml"))}


def _defaults(path: Path) -> list:
    return list(OmegaConf.to_container(OmegaConf.load(path)).get("defaults", []))


# The groups each primary selects in its defaults list, with the option it selects by default.
PRIMARY_GROUPS = {name: {g: o for entry in _defaults(CONF / f"{name}.yaml") if isinstance(entry, dict)
                         for g, o in entry.items()} for name in PRIMARIES}
# Options that only exist to be extended by the others of their group (data/clips has no source,
# model/ocr_gan no variant): composed and resolved, but not built (every option extending them is).
BASES = {("data", "clips"), ("model", "ocr_gan")}
# Options that change the whole config (`# @package _global_`): every key they set must exist without them.
OVERLAYS = {(group, option) for group, options in GROUPS.items() for option in options
            if (CONF / group / f"{option}.yaml").read_text().lstrip().startswith("# @package _global_")}

# The `???` that a user fills on the command line (each config's header says so); any other `???` left in
# a composed config fails the test: a mandatory value nobody documented.
REQUIRED = {
    "eval": {"ckpt_path"},
    "analyze": {"ckpt_path"},
    "score": {"ckpt_path", "input"},
    "model/ocr_gan": {"model.variant", "model.heads"},  # a base (BASES): each model option sets them
    **{f"data/{real}": {"data.root"} for real in ("avenue", "folder", "shanghaitech", "ucsd_ped1", "ucsd_ped2")},
}


def _placeholders(tmp_path: Path) -> dict[str, str]:
    """Values for what a user gives on the command line; nothing reads these files when nothing is
    trained or scored."""
    # data.root of a real data set: an empty folder. UCSDSource checks at construction that it exists;
    # the other sources read it only when data is loaded. Nothing is read from it here.
    (tmp_path / "dataset").mkdir(exist_ok=True)
    return {"data.root": str(tmp_path / "dataset"), "ckpt_path": str(tmp_path / "missing.ckpt"),
            "input": str(tmp_path / "missing.avi")}


def _cases() -> list:
    """(primary, overrides): each primary as it is, each other option of each of its groups, each launcher."""
    cases = []
    for primary in PRIMARIES:
        cases.append(pytest.param(primary, [], id=primary))
        for group, default in PRIMARY_GROUPS[primary].items():
            for option in GROUPS.get(group, []):
                if option != default:
                    cases.append(pytest.param(primary, [f"{group}={option}"], id=f"{primary}-{group}={option}"))
        for launcher in GROUPS.get("hydra/launcher", []):
            cases.append(pytest.param(primary, [f"hydra/launcher={launcher}"], id=f"{primary}-hydra/launcher={launcher}"))
    return cases


EXPERIMENT_CASES = [pytest.param(primary, experiment, id=f"{primary}-experiment={experiment}")
                    for primary in PRIMARIES if "experiment" in PRIMARY_GROUPS[primary]
                    for experiment in GROUPS["experiment"]]


@pytest.fixture
def job_env(tmp_path, monkeypatch):
    """Where a job's folders would go (all under tmp_path); Hydra's global state put back afterwards."""
    # paths.root_dir and hydra.sweep.dir: their resolvers keep a value they choose in the environment,
    # so they are chosen here, undone after the test.
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.setenv(SWEEP_ENV, str(tmp_path / "sweep"))
    monkeypatch.setenv("VADLIT_CACHE", str(tmp_path / "cache"))
    hydra_cfg = HydraConfig.instance().cfg
    yield tmp_path
    HydraConfig.instance().cfg = hydra_cfg
    GlobalHydra.instance().clear()


def _compose(primary: str, overrides: list[str]):
    """The config an entry point composes, with its `hydra` node."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose(primary, overrides=overrides, return_hydra_config=True)


@functools.cache
def _options() -> dict[str, list[str]]:
    """The options Hydra finds for each group, installed launcher plugins' included."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        loader = GlobalHydra.instance().config_loader()
        return {group: loader.get_group_options(group) for group in ("hydra/launcher", *GROUPS)}


def _job(cfg) -> dict:
    """The job's own config, unresolved (what the run sees, without Hydra's node)."""
    return OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))


def _whole(cfg) -> dict:
    """The job's config and Hydra's node, unresolved."""
    return {**_job(cfg), "hydra": OmegaConf.to_container(cfg.hydra)}


def _missing(node, prefix: str = "") -> set[str]:
    if isinstance(node, dict):
        return {m for k, v in node.items() for m in _missing(v, f"{prefix}{k}.")}
    if isinstance(node, list):
        return {m for i, v in enumerate(node) for m in _missing(v, f"{prefix}{i}.")}
    return {prefix[:-1]} if node == MISSING else set()


def _has_key(node, key: str, or_argument: bool = False) -> bool:
    """`key` is in `node`; with `or_argument`, or it would be a new argument of a `_target_` (which
    building that target checks)."""
    parts = key.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            return or_argument and i == len(parts) - 1 and isinstance(node, dict) and "_target_" in node
        node = node[part]
    return True


def _leaves(node, prefix: str = "") -> list[str]:
    """Dotted keys an overlay file sets (a sweep grid counts as one value: its keys are checked apart)."""
    if not isinstance(node, dict) or not node or prefix == "hydra.sweeper.params.":
        return [prefix[:-1]]
    return [leaf for k, v in node.items() if k != "defaults" for leaf in _leaves(v, f"{prefix}{k}.")]


def _start_job(cfg, tmp_path: Path) -> None:
    """Fill in the command-line values and what Hydra sets when a job starts; resolve Hydra's node."""
    job = _job(cfg)
    # data.root is `???` in data/<real data set>.yaml, but that `???` is merged over clips.yaml's
    # `root: null`, and a merged `???` keeps the value already set: it composes as null, and the source
    # rejects it when built (`_build` checks that). A source that reads ${data.root} gets one here.
    given = _missing(job) | ({"data.root"} if "root" in job.get("data", {}).get("source", {}) else set())
    with open_dict(cfg):
        for key, value in _placeholders(tmp_path).items():
            if key in given:
                OmegaConf.update(cfg, key, value)
        cfg.hydra.runtime.output_dir = str(tmp_path / "run")
        cfg.hydra.job.num = 0
        cfg.hydra.job.id = "0"
    HydraConfig.instance().set_config(cfg)
    OmegaConf.to_container(cfg.hydra, resolve=True)  # run/sweep folders, launcher, logging


def _signature_accepts(node) -> None:
    """Every key of a `_target_` node is an argument of its target (for what cannot be built here)."""
    params = inspect.signature(get_class(node._target_)).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        unknown = sorted(k for k in node if k != "_target_" and k not in params)
        assert not unknown, f"{node._target_} takes no {unknown}"


def _build(cfg, choices) -> None:
    """Instantiate what needs no data on disk and no training, as `vadlit.tasks.train.run` does."""
    if "data" in cfg and ("data", choices["data"]) not in BASES:
        if "root" in cfg.data.source:  # a real data set: without data.root, one clear error naming it
            with pytest.raises(InstantiationException) as caught:
                instantiate(cfg.data.source, root=None)
            assert isinstance(caught.value.__cause__, ConfigError) and "data.root" in str(caught.value.__cause__)
        instantiate(cfg.data, _convert_="object")
    if "model" in cfg and ("model", choices["model"]) not in BASES:
        assert instantiate(cfg.model, _convert_="object").hparams.variant == choices["model"]
    callbacks, loggers = instantiate_group(cfg.get("callbacks")), instantiate_group(cfg.get("logger"))
    assert len(callbacks) == len(cfg.get("callbacks") or {}) and len(loggers) == len(cfg.get("logger") or {})
    if "trainer" in cfg:
        if cfg.trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            _signature_accepts(cfg.trainer)  # trainer=gpu|ddp: built only where there is a GPU
        else:
            assert not instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False).fast_dev_run
    if not cfg.hydra.launcher._target_.startswith("hydra._internal."):
        instantiate(cfg.hydra.launcher)


def _check_overlays(primary: str, overrides: list[str], choices) -> None:
    """A `_global_` option (debug=smoke, an experiment) sets only keys the config has without it, or
    arguments of a target the case builds (e.g. trainer.limit_train_batches)."""
    for group, option in choices.items():
        if (group, option) in OVERLAYS:
            overlay = OmegaConf.to_container(OmegaConf.load(CONF / group / f"{option}.yaml"))
            # the groups it switches (`override /hydra/sweeper: optuna`) are part of what it sets keys of
            switched = [f"{k.removeprefix('override /')}={v}" for entry in overlay.pop("defaults", [])
                        if isinstance(entry, dict) for k, v in entry.items() if k.startswith("override /")]
            base = _compose(primary, [o for o in overrides if not o.startswith(f"{group}=")] + switched)
            keys = _leaves(overlay)
            unknown = [k for k in keys if not _has_key(_whole(base), k, or_argument=True)]
            assert not unknown, f"{group}/{option}.yaml sets keys that {primary} does not have: {unknown}"


def test_every_hydra_entry_point_has_a_primary_config_and_every_primary_an_entry_point():
    mains = {m for path in (ROOT / "src" / "vadlit" / "cli").glob("*.py")
             for m in re.findall(r'config_name="(\w+)"', path.read_text())}
    assert mains == set(PRIMARIES)


def test_every_base_option_is_extended_by_the_others_of_its_group():
    for group, base in BASES:
        extending = [o for o in GROUPS[group] if base in _defaults(CONF / group / f"{o}.yaml")]
        assert extending, f"{group}/{base}.yaml is listed in BASES but no option of {group} extends it"


@pytest.mark.parametrize("primary, overrides", _cases())
def test_config_composes_resolves_and_instantiates(primary, overrides, job_env):
    tmp_path = job_env
    if overrides and overrides[0].startswith("hydra/launcher="):
        launcher = overrides[0].split("=", 1)[1]
        plugin = [e for e in _defaults(CONF / "hydra" / "launcher" / f"{launcher}.yaml") if isinstance(e, str)]
        absent = [p for p in plugin if p not in _options()["hydra/launcher"]]
        if absent:
            pytest.skip(f"hydra/launcher={launcher} needs the {absent} launcher plugin, which is not installed "
                        "(the sweep extra: make test-all installs it)")
    cfg = _compose(primary, overrides)
    choices = cfg.hydra.runtime.choices
    job = _job(cfg)
    expected = set(REQUIRED.get(primary, ())).union(*(REQUIRED.get(f"{g}/{o}", ()) for g, o in choices.items()))
    assert _missing(job) == expected, "a `???` nobody documents (add it to REQUIRED if users must give it)"

    _check_overlays(primary, overrides, choices)
    _start_job(cfg, tmp_path)
    incomplete = any((g, o) in BASES for g, o in choices.items())
    resolved = OmegaConf.to_container(OmegaConf.masked_copy(cfg, list(job)), resolve=True,
                                      throw_on_missing=not incomplete)
    assert resolved["paths"]["output_dir"] == str(tmp_path / "run")
    _build(cfg, choices)


@pytest.mark.parametrize("primary, experiment", EXPERIMENT_CASES)
def test_experiment_sweeps_existing_options_and_keys(primary, experiment, job_env):
    cfg, options = _compose(primary, [f"experiment={experiment}"]), _options()
    params = cfg.hydra.sweeper.params
    assert params, f"experiment/{experiment}.yaml sweeps nothing (hydra.sweeper.params)"
    whole = _whole(cfg)
    for key, grid in params.items():
        override = OverridesParser.create().parse_overrides([f"{key}={grid}"])[0]
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [str(grid)]
        name = override.key_or_group
        if name in GROUPS or options.get(name):
            bad = [v for v in values if v not in options.get(name, []) or (name, v) in BASES]
            assert not bad, f"experiment/{experiment}.yaml sweeps {name} over {bad}: not options of conf/{name}/"
        else:
            assert override.is_add() or _has_key(whole, name), (
                f"experiment/{experiment}.yaml sweeps {name}, which {primary} does not have")
        for value in values:  # each value of the grid composes, resolves and builds on its own
            job_cfg = _compose(primary, [f"experiment={experiment}", f"{key}={value}"])
            _start_job(job_cfg, job_env)
            OmegaConf.to_container(job_cfg, resolve=True)
            _build(job_cfg, job_cfg.hydra.runtime.choices)


def test_bench_cases_name_existing_models_and_compose(job_env):
    cfg, options = _compose("bench", []), _options()
    models = [*cfg.bench.models, cfg.bench.profile.model]
    assert set(models) <= set(options["model"]) - {m for g, m in BASES if g == "model"}, models
    cases = [[*size.overrides, *size.get("cpu_overrides", [])] for size in cfg.bench.sizes]
    for overrides in [*cases, list(cfg.bench.gpu.overrides)]:
        case = _compose("bench", overrides)
        _start_job(case, job_env)
        OmegaConf.to_container(case, resolve=True)
