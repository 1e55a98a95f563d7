"""The `bench:` config section, checked once up front so a bad value fails in one line, before minutes
of measuring, and names the key at fault."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.torch_model import OBJECTIVES


@dataclass(frozen=True)
class Size:
    """A named clip size: Hydra overrides for every case, plus extra ones applied on a CPU only
    (e.g. a smaller batch, so a 2-core machine measures it in seconds rather than minutes)."""

    name: str
    overrides: list[str]
    cpu_overrides: list[str] = field(default_factory=list)

    def for_device(self, device_type: str) -> list[str]:
        return self.overrides + (self.cpu_overrides if device_type == "cpu" else [])


@dataclass(frozen=True)
class Batches:
    """How many batches a loop-timing measurement (loading, scoring) skips and then times."""

    warmup_batches: int
    batches: int


@dataclass(frozen=True)
class Matmul:
    sizes: list[int]
    conv_channels: int
    repeats: int


@dataclass(frozen=True)
class Attention:
    frames: list[int]
    heads: int
    width: int | None
    sequences: int | None
    warmup: int
    repeats: int


@dataclass(frozen=True)
class Profile:
    model: str
    top: int


@dataclass(frozen=True)
class Gpu:
    overrides: list[str]
    options: list[str]
    compile_warmup_steps: int


@dataclass(frozen=True)
class Goals:
    cpu_mfu: float
    loading_ratio: float
    mixed_speedup: float


@dataclass(frozen=True)
class BenchSettings:
    output: Path
    warmup_steps: int
    steps: int
    models: list[str]
    objectives: list[str]
    sizes: list[Size]
    loading: Batches
    scoring: Batches
    matmul: Matmul
    attention: Attention
    profile: Profile
    gpu: Gpu
    goals: Goals

    def record(self) -> dict[str, Any]:
        """For bench.json: the settings the numbers were measured with."""
        record = asdict(self)
        record["output"] = str(self.output)
        return record


def _plain(node: Any) -> Any:
    return OmegaConf.to_container(node, resolve=True) if isinstance(node, (DictConfig, ListConfig)) else node


def _int(section: dict, key: str, prefix: str, minimum: int = 1) -> int:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{prefix}.{key}={value!r}: expected an integer >= {minimum}")
    return value


def _number(section: dict, key: str, prefix: str) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{prefix}.{key}={value!r}: expected a positive number")
    return float(value)


def _ints(section: dict, key: str, prefix: str, minimum: int = 1) -> list[int]:
    values = section.get(key)
    if not isinstance(values, list) or not values or any(
        isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values
    ):
        raise ConfigError(f"{prefix}.{key}={values!r}: expected a non-empty list of integers >= {minimum}")
    return values


def _strings(values: Any, where: str, allow_empty: bool = True) -> list[str]:
    if values is None and allow_empty:
        return []
    if not isinstance(values, list) or any(not isinstance(v, str) for v in values) or (not values and not allow_empty):
        raise ConfigError(f"{where}={values!r}: expected a {'' if allow_empty else 'non-empty '}list of strings")
    return values


def _section(bench: dict, key: str) -> dict:
    value = bench.get(key)
    if not isinstance(value, dict):
        raise ConfigError(f"bench.{key}={value!r}: expected a mapping (see conf/bench.yaml)")
    return value


def _sizes(values: Any) -> list[Size]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"bench.sizes={values!r}: expected a non-empty list of {{name, overrides}}")
    sizes = []
    for i, entry in enumerate(values):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise ConfigError(f"bench.sizes[{i}]={entry!r}: expected {{name: ..., overrides: [...]}}")
        unknown = set(entry) - {"name", "overrides", "cpu_overrides"}
        if unknown:
            raise ConfigError(f"bench.sizes[{i}] has unknown key(s) {sorted(unknown)}; "
                              "expected name, overrides, cpu_overrides")
        sizes.append(Size(entry["name"], _strings(entry.get("overrides"), f"bench.sizes[{i}].overrides"),
                          _strings(entry.get("cpu_overrides"), f"bench.sizes[{i}].cpu_overrides")))
    names = [s.name for s in sizes]
    if len(set(names)) != len(names):
        raise ConfigError(f"bench.sizes: names must be unique, got {names}")
    return sizes


def load_settings(bench: DictConfig, model_names: list[str]) -> BenchSettings:
    """Check `cfg.bench`; `model_names` are the options of the `model` config group."""
    if bench is None:
        raise ConfigError("the config has no `bench:` section (vadlit-bench composes conf/bench.yaml)")
    b = _plain(bench)
    if not isinstance(b.get("output"), str) or not b["output"]:
        raise ConfigError(f"bench.output={b.get('output')!r}: expected the path of the JSON file to write")
    models = _strings(b.get("models"), "bench.models", allow_empty=False)
    unknown = [m for m in models if m not in model_names]
    if unknown:
        raise ConfigError(f"bench.models={models}: {unknown} not in the model config group; choose from {model_names}")
    objectives = _strings(b.get("objectives"), "bench.objectives", allow_empty=False)
    wrong = [o for o in objectives if o not in OBJECTIVES]
    if wrong:
        raise ConfigError(f"bench.objectives={objectives}: {wrong} not one of {list(OBJECTIVES)}")

    loading, scoring = _section(b, "loading"), _section(b, "scoring")
    matmul, attention = _section(b, "matmul"), _section(b, "attention")
    profile, gpu, goals = _section(b, "profile"), _section(b, "gpu"), _section(b, "goals")
    for key in ("width", "sequences"):
        if attention.get(key) is not None:
            _int(attention, key, "bench.attention")
    heads = _int(attention, "heads", "bench.attention")
    if attention.get("width") is not None and attention["width"] % heads:
        raise ConfigError(f"bench.attention.heads={heads} must divide bench.attention.width={attention['width']}")
    if not isinstance(profile.get("model"), str) or profile["model"] not in model_names:
        raise ConfigError(f"bench.profile.model={profile.get('model')!r}: expected one of {model_names}")
    options = _strings(gpu.get("options"), "bench.gpu.options")
    return BenchSettings(
        output=Path(b["output"]),
        warmup_steps=_int(b, "warmup_steps", "bench"),  # >= 1: the first step is the FLOP-counted one
        steps=_int(b, "steps", "bench"),
        models=models,
        objectives=objectives,
        sizes=_sizes(b.get("sizes")),
        loading=_batches(loading, "bench.loading"),
        scoring=_batches(scoring, "bench.scoring"),
        matmul=Matmul(_ints(matmul, "sizes", "bench.matmul", 16), _int(matmul, "conv_channels", "bench.matmul", 0),
                      _int(matmul, "repeats", "bench.matmul")),
        attention=Attention(_ints(attention, "frames", "bench.attention"), heads, attention.get("width"),
                            attention.get("sequences"), _int(attention, "warmup", "bench.attention", 0),
                            _int(attention, "repeats", "bench.attention")),
        profile=Profile(profile["model"], _int(profile, "top", "bench.profile", 0)),
        gpu=Gpu(_strings(gpu.get("overrides"), "bench.gpu.overrides"), options,
                _int(gpu, "compile_warmup_steps", "bench.gpu")),
        goals=Goals(_number(goals, "cpu_mfu", "bench.goals"), _number(goals, "loading_ratio", "bench.goals"),
                    _number(goals, "mixed_speedup", "bench.goals")),
    )


def _batches(section, where: str) -> Batches:
    return Batches(_int(section, "warmup_batches", where, 0), _int(section, "batches", where))
