"""The whole bench in one run: the dense matmul reference first (MFU needs it), then per clip size the
frame cache, the loader and every training case with its test scoring, then attention and the GPU
options; the goals are judged at the end and everything goes to the tables and bench.json."""

from __future__ import annotations

import logging
import time
import warnings
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from vadlit.tasks.bench.attention_speed import measure_attention
from vadlit.tasks.bench.cases import Composer, training_cases
from vadlit.tasks.bench.flops import compute_dtype, dense_rate, dtype_name
from vadlit.tasks.bench.goals import evaluate_goals
from vadlit.tasks.bench.gpu import measure_gpu
from vadlit.tasks.bench.loading import measure_loading
from vadlit.tasks.bench.machine import busy_fraction, machine_record
from vadlit.tasks.bench.scoring import measure_scoring
from vadlit.tasks.bench.settings import BenchSettings, Size, load_settings
from vadlit.tasks.bench.table import BUSY, render, write_results
from vadlit.tasks.bench.training import clip_shape, make_trainer, measure_training
from vadlit.errors import ConfigError
from vadlit.image_size import as_size
from vadlit.models.ocr_gan_video.generator import bottleneck_width
from vadlit.config.resolvers import best_precision
from vadlit.tasks.run_folder import now, start_record

log = logging.getLogger(__name__)


def quiet() -> None:
    """Lightning's per-fit banners (devices, `max_epochs` reached) would drown the bench's progress lines."""
    from vadlit.tasks.lightning_logs import quiet_lightning

    quiet_lightning()
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=r".*no `val_dataloader`.*")  # validation is off on purpose


def _mfu(results: dict[str, Any]):
    def with_mfu(record: dict[str, Any]) -> dict[str, Any]:
        dtype = dtype_name(compute_dtype(record["precision"]))
        rate = results["matmul"].get(dtype)
        record["mfu_reference"] = f"{rate['reference']} {dtype}" if rate else None
        record["mfu"] = (record["flops_per_s"] / rate["flops_per_s"]
                         if rate and record.get("flops_per_s") is not None else None)
        return record

    return with_mfu


def _attention(cfg: DictConfig, settings: BenchSettings, device: torch.device, context) -> list[dict[str, Any]]:
    a = settings.attention
    depth = int(cfg.model.depth)
    width = a.width or bottleneck_width(int(cfg.model.base_channels), depth)
    if a.sequences:
        batch, positions = a.sequences, (1, 1)
    else:  # the generator bottleneck of the configured model at the data size: batch * h * w sequences
        height, width_px = as_size(cfg.data.image_size)
        batch, positions = int(cfg.data.batch_size), (height // 2**depth, width_px // 2**depth)
    if width % a.heads:
        raise ConfigError(f"bench.attention.heads={a.heads} must divide the attention width {width}")
    log.info("bench attention: T=%s, width %d, %d heads", a.frames, width, a.heads)
    return measure_attention(a.frames, width, a.heads, batch, positions, device, a.warmup, a.repeats, context)


def _plan(settings: BenchSettings, compose: Composer, device_type: str) -> list[tuple[Size, DictConfig, list]]:
    """Per size: its data config and its training cases, each composed, and its model and data built
    once (then dropped), so a bad value in any case fails now, in one line, not after minutes."""
    plan = []
    for size in settings.sizes:
        overrides = size.for_device(device_type)
        size_cfg = compose(overrides)
        clip_shape(size_cfg)
        data_cfg = size_cfg.data
        instantiate(data_cfg, _convert_="object")
        cases = []
        for case in training_cases(settings.models, settings.objectives, size.name, overrides):
            case_cfg = compose(case.overrides)
            instantiate(case_cfg.model, _convert_="object")
            cases.append((case, case_cfg))
        plan.append((size, data_cfg, cases))
    return plan


def run_bench(cfg: DictConfig, compose: Composer) -> dict[str, Any]:
    """Measure everything `cfg.bench` asks for; print the tables, write bench.json, return the results."""
    quiet()
    settings = load_settings(cfg.get("bench"), compose.group_options("model"))
    root_dir = str(cfg.paths.output_dir)
    probe = make_trainer(cfg, root_dir)  # the device and precision training would use
    device = probe.strategy.root_device
    results: dict[str, Any] = {
        "run": start_record(int(cfg.seed), str(cfg.get("task_name", "bench"))),
        "machine": machine_record(device),
        "settings": settings.record(),
    }
    busy = results["machine"]["other_load_at_start"]
    if busy is not None and busy > BUSY:
        log.warning("other processes keep %.0f%% of the CPUs busy: the numbers will be low and noisy", 100 * busy)

    dtypes = {torch.float32, compute_dtype(str(probe.precision))}
    if device.type == "cuda":
        dtypes.add(compute_dtype(best_precision()))
    plan = _plan(settings, compose, device.type)  # every case composed and checked before minutes of measuring

    results["matmul"] = {}
    for dtype in sorted(dtypes, key=str):
        log.info("bench dense reference: %s", dtype_name(dtype))
        results["matmul"][dtype_name(dtype)] = dense_rate(device, dtype, settings.matmul.sizes,
                                                          settings.matmul.conv_channels, settings.matmul.repeats)
    with_mfu = _mfu(results)

    training, loading, scoring = [], [], []
    profile_left = settings.profile.top > 0
    for size, data_cfg, cases in plan:
        datamodule = instantiate(data_cfg, _convert_="object")
        start = time.perf_counter()
        datamodule.prepare_data()  # builds the frame cache once; later runs only open it
        load = {"size": size.name, "cache_seconds": time.perf_counter() - start,
                **measure_loading(datamodule, settings.loading.warmup_batches, settings.loading.batches)}
        log.info("bench loading %s: %.0f clips/s", size.name, load["clips_per_s"])
        for case, case_cfg in cases:
            top = settings.profile.top if profile_left and case.model == settings.profile.model else 0
            record, model, trainer, _ = measure_training(case_cfg, root_dir, settings.warmup_steps, settings.steps,
                                                         profile_top=top)
            record = with_mfu({"case": case.name, "size": size.name, **record})
            if "profile" in record:
                results["profile"] = {"case": case.name, "ops": record.pop("profile")}
                profile_left = False
            training.append(record)
            log.info("bench training %s: %.3f s/step, %.1f clips/s", case.name, record["seconds_per_step"],
                     record["clips_per_s"])
            scored = measure_scoring(model, datamodule, trainer, settings.scoring.warmup_batches,
                                     settings.scoring.batches)
            scoring.append({"case": case.name, "size": size.name, **scored})
            del model, trainer
        same_size = [r for r in training if r["size"] == size.name]
        if same_size:
            fastest = max(same_size, key=lambda r: r["clips_per_s"])
            load.update(fastest_case=fastest["case"], fastest_training_clips_per_s=fastest["clips_per_s"],
                        ratio_to_training=load["clips_per_s"] / fastest["clips_per_s"])
        loading.append(load)
    results.update(training=training, loading=loading, scoring=scoring)

    results["attention"] = _attention(cfg, settings, device, probe.precision_plugin.train_step_context)
    results["gpu"] = measure_gpu(device, compose, settings.gpu.overrides, settings.gpu.options, root_dir,
                                 settings.warmup_steps, settings.steps, settings.gpu.compile_warmup_steps, with_mfu)
    results["goals"] = evaluate_goals(results, settings.goals, settings.sizes[0].name)
    results["run"].update(end=now(), status="finished")
    results["machine"]["other_load_at_end"] = busy_fraction()
    write_results(settings.output, results)
    render(results)
    return results
