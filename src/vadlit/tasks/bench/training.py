"""Training throughput of the real step: `VideoAnomalyModule.training_step` (G then D update, manual
optimisation, logging) run by a Lightning Trainer built from the run's `trainer:` config, as in
`vadlit-train`.

Only the data differ: random uint8 clips held in memory, so the step is timed without the loader
(measured on its own in `loading`). A callback times the steps after the warm-up ones; the first
warm-up step is the one whose FLOPs are counted (the counter slows it down, so it is never timed).
Validation, checkpoints and loggers are off: they are per-epoch costs, not per-step ones.
"""

from __future__ import annotations

import math
import time

try:
    import resource
except ImportError:  # not on Windows
    resource = None
from typing import Any

import lightning.pytorch as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch.utils.data import DataLoader, Dataset

from vadlit.tasks.bench.flops import flop_counter
from vadlit.tasks.bench.timing import synchronize
from vadlit.errors import ConfigError
from vadlit.image_size import as_size


class RandomClips(Dataset):
    """`length` items cycling over a few random uint8 clips: step time depends on shapes, not pictures."""

    def __init__(self, length: int, clip_shape: tuple[int, ...], pool: int, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        self.clips = torch.randint(0, 256, (max(1, pool), *clip_shape), dtype=torch.uint8, generator=generator)
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"clip": self.clips[index % len(self.clips)]}


class StepTimer(L.Callback):
    """Times training steps `warmup .. warmup+steps-1` as one region (synchronised at both ends only),
    counts the FLOPs of step 0, and can profile one more step after the timed ones."""

    def __init__(self, warmup: int, steps: int, count_flops: bool = True, profile_top: int = 0) -> None:
        if warmup < 1:
            raise ConfigError(f"bench.warmup_steps={warmup}: expected >= 1 (the first step counts FLOPs)")
        self.warmup, self.steps = warmup, steps
        self.device = torch.device("cpu")
        self.count_flops, self.profile_top = count_flops, profile_top
        self.flops: int | None = None
        self.flops_by_module: dict[str, int] = {}
        self.seconds: float | None = None
        self.step_ends: list[float] = []
        self.peak_memory: int | None = None
        self.profile: list[dict[str, Any]] | None = None
        self.usage: dict[str, float] | None = None
        self._counter = self._profiler = None
        self._start = 0.0
        self._usage = None

    @property
    def batches(self) -> int:
        return self.warmup + self.steps + (1 if self.profile_top else 0)

    def setup(self, trainer, pl_module, stage: str) -> None:
        self.device = trainer.strategy.root_device

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if batch_idx == 0 and self.count_flops:
            self._counter = flop_counter()
            self._counter.__enter__()
        if self.profile_top and batch_idx == self.warmup + self.steps:
            from torch.profiler import ProfilerActivity, profile

            activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if self.device.type == "cuda" else [])
            self._profiler = profile(activities=activities)
            self._profiler.__enter__()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        if batch_idx == 0 and self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops = int(self._counter.get_total_flops())
            counts = self._counter.get_flop_counts()
            self.flops_by_module = {name: int(sum(ops.values())) for name, ops in counts.items()
                                    if name != "Global" and "." not in name}
            self._counter = None
        if batch_idx == self.warmup - 1:
            synchronize(self.device)
            if self.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(self.device)
            self._usage = resource.getrusage(resource.RUSAGE_SELF) if resource else None
            self._start = time.perf_counter()
        elif self.warmup <= batch_idx < self.warmup + self.steps:
            if self.device.type != "cuda":  # per-step times are only meaningful without async kernels
                self.step_ends.append(time.perf_counter())
            if batch_idx == self.warmup + self.steps - 1:
                synchronize(self.device)
                self.seconds = time.perf_counter() - self._start
                if self._usage is not None:
                    self.usage = _usage_since(self._usage, self.steps)
                if self.device.type == "cuda":
                    self.peak_memory = int(torch.cuda.max_memory_allocated(self.device))
        if self._profiler is not None and batch_idx == self.warmup + self.steps:
            synchronize(self.device)
            self._profiler.__exit__(None, None, None)
            self.profile = top_ops(self._profiler, self.profile_top, self.device)
            self._profiler = None

    def on_exception(self, trainer, pl_module, exception) -> None:
        for context in (self._counter, self._profiler):
            if context is not None:
                context.__exit__(None, None, None)
        self._counter = self._profiler = None

    def step_seconds(self) -> list[float]:
        ends = [self._start] + self.step_ends
        return [b - a for a, b in zip(ends, ends[1:])]


def _usage_since(before, steps: int) -> dict[str, float]:
    """CPU time in the kernel (page faults of freshly mapped memory, mostly) against user time, and
    minor page faults, per timed step: a large share means the step waits on memory management."""
    after = resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"kernel_share": system / (user + system) if user + system > 0 else 0.0,
            "page_faults_per_step": (after.ru_minflt - before.ru_minflt) / steps}


def top_ops(profiler, top: int, device: torch.device) -> list[dict[str, Any]]:
    """The ops that took most of the profiled step (self time: time in the op, not in ops it calls)."""
    averages = profiler.key_averages()

    def self_us(event) -> float:
        if device.type == "cuda":
            return float(getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0.0)))
        return float(event.self_cpu_time_total)

    events = [e for e in averages if not e.key.startswith("ProfilerStep")]
    total = sum(self_us(e) for e in events) or 1.0
    ranked = sorted(events, key=self_us, reverse=True)[:top]
    return [{"op": e.key, "self_ms": self_us(e) / 1e3, "share": self_us(e) / total, "calls": int(e.count)}
            for e in ranked]


TRAINER_OVERRIDES = dict(
    devices=1, num_nodes=1, strategy="auto", sync_batchnorm=False, max_epochs=1, max_steps=-1,
    limit_val_batches=0, num_sanity_val_steps=0, logger=False, enable_checkpointing=False,
    enable_progress_bar=False, enable_model_summary=False,
)
"""One device, one short epoch, nothing written: the bench times steps, not a run."""


def make_trainer(cfg: DictConfig, root_dir: str, **kwargs) -> L.Trainer:
    """The run's `trainer:` config (accelerator, precision, plugins) with the bench's overrides."""
    return instantiate(cfg.trainer, **{**TRAINER_OVERRIDES, "default_root_dir": root_dir, **kwargs})


def clip_shape(cfg: DictConfig) -> tuple[int, int, int, int]:
    """(T, C, H, W) of the clips a data config gives."""
    data = cfg.data
    for key in ("clip_len", "channels", "batch_size"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}={value!r}: expected a positive integer")
    height, width = as_size(data.image_size)
    return int(data.clip_len), int(data.channels), height, width


def measure_training(cfg: DictConfig, root_dir: str, warmup: int, steps: int, count_flops: bool = True,
                     profile_top: int = 0) -> tuple[dict[str, Any], L.LightningModule, L.Trainer, StepTimer]:
    """Train `warmup + steps` batches of the case `cfg`; returns its record, the model and the trainer."""
    L.seed_everything(int(cfg.seed), verbose=False)
    model = instantiate(cfg.model, _convert_="object")
    shape = clip_shape(cfg)
    batch = int(cfg.data.batch_size)
    compiled = bool(model.hparams.get("compile", False))
    timer = StepTimer(warmup, steps, count_flops=count_flops and not compiled, profile_top=profile_top)
    trainer = make_trainer(cfg, root_dir, callbacks=[timer], limit_train_batches=timer.batches)
    loader = DataLoader(RandomClips(batch * timer.batches, shape, pool=batch, seed=int(cfg.seed)),
                        batch_size=batch, shuffle=False, num_workers=0)
    trainer.fit(model, train_dataloaders=loader)
    if timer.seconds is None:
        raise RuntimeError(f"training stopped after {trainer.global_step} optimizer steps, before the timed ones ended")

    seconds = timer.seconds / steps
    record: dict[str, Any] = {
        "model": str(model.hparams.get("variant") or f"heads{model.hparams.heads}"),
        "heads": int(model.hparams.heads),
        "objective": str(model.hparams.objective),
        "image_size": list(as_size(cfg.data.image_size)),
        "clip_len": shape[0],
        "channels": shape[1],
        "batch_size": batch,
        "precision": str(trainer.precision),
        "device": str(trainer.strategy.root_device),
        "params": int(sum(p.numel() for p in model.parameters())),
        "warmup_steps": warmup,
        "steps": steps,
        "seconds_per_step": seconds,
        "clips_per_s": batch / seconds,
        "frames_per_s": batch * shape[0] / seconds,
        "flops_per_step": timer.flops,
        "flops_per_s": None if timer.flops is None else timer.flops / seconds,
        "flops_by_module": timer.flops_by_module,
        "peak_memory_bytes": timer.peak_memory,
        **(timer.usage or {}),
    }
    per_step = timer.step_seconds()
    if per_step:
        record["step_seconds"] = per_step
        record["step_spread"] = (max(per_step) - min(per_step)) / seconds if len(per_step) > 1 else 0.0
    if timer.profile is not None:
        record["profile"] = timer.profile
    if not math.isfinite(seconds) or seconds <= 0:
        raise RuntimeError(f"measured a step time of {seconds} s")
    return record, model, trainer, timer
