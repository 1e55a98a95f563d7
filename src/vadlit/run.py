"""One run: compose the objects a config names, train, test the selected checkpoint, write outputs.

The entry points (`vadlit-train`, `vadlit-eval`) are thin wrappers around `run(cfg)`.
Every run folder holds `metrics.json`, `scores.csv`, `run_info.json`, `checkpoints/`, `tensorboard/`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from hydra.utils import instantiate
from lightning.fabric.utilities.rank_zero import rank_zero_only
from lightning.pytorch.callbacks import ModelCheckpoint
from omegaconf import DictConfig, OmegaConf

from vadlit.errors import ConfigError
from vadlit.image_size import as_size
from vadlit.evaluation.frame_scores import scoring_rule
from vadlit.evaluation.metrics import headline
from vadlit.evaluation.outputs import write_json, write_scores_csv
from vadlit.evaluation.postprocess import ScoreOptions, options_record
from vadlit.evaluation.trivial import run_baselines
from vadlit.models.checkpoint import read_checkpoint, store_reference
from vadlit.models.module import VideoAnomalyModule
from vadlit.run_info import now, start_record, trainer_record

log = logging.getLogger(__name__)

CHECKPOINT_RULE = "lowest {monitor} on held-out normal training videos (label-free; the test set chooses nothing)"


def _instantiate_dict(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group like `callbacks:` or `logger:` (None -> [])."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if isinstance(entry, DictConfig) and "_target_" in entry]


def _checkpoint_record(callback: ModelCheckpoint | None, ckpt_path: str | None, cfg: DictConfig) -> dict:
    record: dict[str, Any] = {"path": ckpt_path}
    if cfg.get("train", True) and callback is not None and callback.monitor and callback.best_model_path:
        score = callback.best_model_score
        record.update(
            selected_by=CHECKPOINT_RULE.format(monitor=callback.monitor),
            monitor=callback.monitor,
            value=None if score is None else float(score),
        )
    elif cfg.get("train", True):
        record["selected_by"] = "last checkpoint (no validation metric to choose by)"
    else:
        record["selected_by"] = "given on the command line (ckpt_path)"
    if ckpt_path:
        state = read_checkpoint(ckpt_path)
        record.update(epoch=state.get("epoch"), global_step=state.get("global_step"))
    return record


@contextmanager
def ddp_children_from(config_file: Path):
    """Start DDP child processes from this run's saved config instead of the command line.

    Lightning's Hydra support re-runs `sys.argv` in each child: inside a sweep that would launch the
    whole sweep again, and it relies on the working directory. Children started from the resolved
    config of this one job avoid both.
    """
    from lightning.fabric.strategies.launchers import subprocess_script

    original = subprocess_script._hydra_subprocess_cmd

    def command(local_rank: int):
        return [sys.executable, "-m", "vadlit.cli.ddp_child", str(config_file)], os.getcwd()

    subprocess_script._hydra_subprocess_cmd = command
    try:
        yield
    finally:
        subprocess_script._hydra_subprocess_cmd = original


def _model_from_checkpoint(ckpt_path: str | None, datamodule) -> VideoAnomalyModule:
    """The model a checkpoint was trained as (heads, objective...): the config cannot silently differ."""
    if not ckpt_path:
        raise ConfigError("ckpt_path is empty: expected the path of a checkpoint file (.ckpt) to evaluate")
    model = VideoAnomalyModule.from_checkpoint(ckpt_path)
    hp = model.hparams
    trained = {"clip_len": hp.clip_len, "channels": hp.in_channels, "image_size": list(as_size(hp.image_size))}
    given = {"clip_len": datamodule.clip_len, "channels": datamodule.channels, "image_size": list(datamodule.image_size)}
    wrong = [f"data.{k}={given[k]} (the checkpoint was trained with {v})" for k, v in trained.items() if given[k] != v]
    if wrong:
        raise ConfigError(f"ckpt_path={ckpt_path}: " + "; ".join(wrong))
    return model


def _hparams(cfg: DictConfig, model: VideoAnomalyModule) -> dict[str, Any]:
    """A flat table for TensorBoard's HPARAMS tab: the sweep's knobs and the data they ran on."""
    hp = model.hparams
    return {
        "variant": str(hp.get("variant") or f"heads{hp.heads}"),
        "heads": int(hp.heads),
        "objective": str(hp.objective),
        "seed": int(cfg.seed),
        "clip_len": int(hp.clip_len),
        "image_size": str(cfg.data.get("image_size")),
        "data": str(cfg.data.source.get("_target_", "")).rsplit(".", 1)[-1],
        "precision": str(cfg.trainer.get("precision")),
        "max_epochs": int(cfg.trainer.get("max_epochs") or -1),
        "normalize": bool(cfg.eval.normalize),
        "smooth_sigma": float(cfg.eval.smooth_sigma),
    }


class _DropTips(logging.Filter):
    """Lightning's advertising tips are not run information."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "💡" not in record.getMessage()


def quiet_lightning() -> None:
    """One copy of each Lightning message (through Hydra's handlers), no tips, no upstream deprecations."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def run_job(cfg: DictConfig, multirun: bool = False) -> dict[str, Any] | None:
    """`run` for an entry point: a failure is recorded in run_info.json (status, error) and, inside a
    sweep, does not stop the other jobs; a single run re-raises it."""
    out_dir = Path(cfg.paths.output_dir)
    try:
        return run(cfg)
    except Exception as exc:
        if not is_rank_zero():
            raise
        info = _read_json(out_dir / "run_info.json") or start_record(int(cfg.seed), str(cfg.task_name))
        info.update(end=now(), status="failed", error=f"{type(exc).__name__}: {exc}".splitlines()[0][:2000])
        write_json(out_dir / "run_info.json", info)
        (out_dir / "error.txt").write_text(traceback.format_exc())
        if not multirun:
            raise
        log.error("run failed (the sweep goes on; see %s): %s", out_dir / "error.txt", info["error"])
        return None


def is_rank_zero() -> bool:
    """False in the extra processes of a multi-GPU (DDP) job, which must not write the run's files."""
    return rank_zero_only.rank == 0


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run(cfg: DictConfig) -> dict[str, Any] | None:
    """Train (if `cfg.train`) and test (if `cfg.test`); returns the metrics written to metrics.json."""
    quiet_lightning()
    out_dir = Path(cfg.paths.output_dir)
    resuming = bool(cfg.get("resume")) or cfg.get("ckpt_path") == "last"
    previous = _read_json(out_dir / "run_info.json") if resuming else None
    if previous and previous.get("status") == "finished" and (out_dir / "metrics.json").is_file():
        log.info("resume: %s already finished; skipped", out_dir)
        return _read_json(out_dir / "metrics.json")
    out_dir.mkdir(parents=True, exist_ok=True)
    info = start_record(int(cfg.seed), str(cfg.task_name))
    if is_rank_zero():
        write_json(out_dir / "run_info.json", info)
        # The resolved config of this run (Hydra's own copy under .hydra/ keeps the interpolations);
        # DDP children start from it.
        OmegaConf.save(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), out_dir / "config.yaml", resolve=True)

    L.seed_everything(int(cfg.seed), workers=True)
    datamodule = instantiate(cfg.data, _convert_="object")
    if cfg.get("train", True):
        model: VideoAnomalyModule = instantiate(cfg.model, _convert_="object")
    else:
        model = _model_from_checkpoint(cfg.get("ckpt_path"), datamodule)
    model.score_options = ScoreOptions(**OmegaConf.to_container(cfg.eval, resolve=True))
    datamodule.score_for(model.last_only)
    callbacks = _instantiate_dict(cfg.get("callbacks"))
    loggers = _instantiate_dict(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    info.update(trainer_record(trainer))

    ckpt_path = cfg.get("ckpt_path")
    last = out_dir / "checkpoints" / "last.ckpt"
    # ckpt_path=last (the run folder is already the newest one with a last.ckpt) or resume=true in a sweep
    if cfg.get("train", True) and (ckpt_path == "last" or (cfg.get("resume") and not ckpt_path and last.is_file())):
        if not last.is_file():
            raise ConfigError(f"ckpt_path=last: no run under {out_dir.parent} has a checkpoints/last.ckpt to resume "
                              "from; start a new run without ckpt_path")
        ckpt_path = str(last)
        info["resumed_from"] = ckpt_path
        log.info("resume: continuing %s from %s", out_dir, last)
    if is_rank_zero():
        write_json(out_dir / "run_info.json", info)

    if cfg.get("train", True):
        if ckpt_path:
            read_checkpoint(ckpt_path)  # a clear error for a missing file or another model's checkpoint
        with ddp_children_from(out_dir / "config.yaml"):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        info.update(global_step=int(trainer.global_step), epochs=int(trainer.current_epoch))
        if trainer.world_size > 1:
            if not trainer.is_global_zero:
                return None  # the extra DDP processes are done; rank 0 tests on one device
            if torch.distributed.is_initialized():  # no collective may wait for the finished ranks
                torch.distributed.destroy_process_group()
            trainer = instantiate(cfg.trainer, devices=1, strategy="auto", num_nodes=1, logger=loggers or False,
                                  callbacks=[c for c in callbacks if not isinstance(c, ModelCheckpoint)])
        callback = next((c for c in callbacks if isinstance(c, ModelCheckpoint)), None)
        ckpt_path = (callback.best_model_path or callback.last_model_path) if callback else None
        if not ckpt_path:  # no checkpointing configured: test the weights in memory, but say so
            ckpt_path = str(out_dir / "checkpoints" / "final.ckpt")
            trainer.save_checkpoint(ckpt_path)

    metrics = None
    if cfg.get("test", True):
        # evaluation: the model is already loaded (safely, from ckpt_path); training: Lightning restores
        # the selected checkpoint, also without running pickled code
        trainer.test(model, datamodule=datamodule, ckpt_path=ckpt_path if cfg.get("train", True) else None,
                     weights_only=True)
        if cfg.get("train", True) and is_rank_zero():
            _store_reference(ckpt_path, last, model)
        checkpoint = _checkpoint_record(next((c for c in callbacks if isinstance(c, ModelCheckpoint)), None), ckpt_path, cfg)
        metrics = _write_results(out_dir, cfg, model, datamodule, checkpoint)
        _log_hparams(trainer, _hparams(cfg, model), metrics)
        _print_summary(metrics, out_dir)

    info.update(end=now(), status="finished")
    write_json(out_dir / "run_info.json", info)
    return metrics


def _store_reference(tested: str, last: Path, model: VideoAnomalyModule) -> None:
    """The score's reference fitted for the tested weights goes into their checkpoint, and into
    ``last.ckpt`` when that holds the same weights (the same optimizer step)."""
    store_reference(tested, model)
    if last.is_file() and Path(tested).resolve() != last.resolve():
        step = read_checkpoint(tested).get("global_step")
        if read_checkpoint(last).get("global_step") == step:
            store_reference(last, model)


def _write_results(out_dir: Path, cfg: DictConfig, model: VideoAnomalyModule, datamodule, checkpoint: dict) -> dict:
    result = model.test_result
    write_scores_csv(out_dir / "scores.csv", result.scores, result.labels, result.kinds)
    hp = model.hparams
    metrics: dict[str, Any] = dict(result.metrics or {"note": "the test videos have no ground truth: scores only"})
    metrics.update(
        n_frames=int(sum(len(s) for s in result.scores.values())),
        n_videos=len(result.scores),
        skipped_videos=result.skipped_videos,
        params=model.parameter_counts(),
        model={"variant": hp.get("variant"), "heads": int(hp.heads), "objective": str(hp.objective),
               "clip_len": int(hp.clip_len), "score_lambda": float(hp.score_lambda),
               "temporal_mixer": str(hp.get("temporal_mixer", "attention")),
               "temporal_levels": str(hp.get("temporal_levels", "all"))},
        data={"source": datamodule.source.name, "image_size": list(datamodule.image_size),
              "channels": datamodule.channels, "clip_len": datamodule.clip_len, "test_stride": datamodule.test_stride},
        checkpoint=checkpoint,
        score=model.reference.record() if model.reference.is_fitted else None,
        training=model.health.record() if cfg.get("train", True) else None,
        options={
            **options_record(model.score_options),
            "scored_frames": scoring_rule(model.last_only),
        },
        seed=int(cfg.seed),
    )
    if result.labels:  # the same test frames, scored by what needs no model
        metrics["trivial_baselines"] = run_baselines(datamodule, result, model.score_options)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def _log_hparams(trainer: L.Trainer, hparams: dict, metrics: dict) -> None:
    """The HPARAMS table: one row per run with its final metrics, so a sweep compares at a glance."""
    finals = headline(metrics, prefix="hparams/")
    for logger in trainer.loggers:
        logger.log_hyperparams(hparams, finals)
        logger.save()


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _by_kind(metrics: dict, intervals: bool = True) -> str:
    """`crossing 55.0 [41.2, 68.0], ...`: each kind's AUROC with its interval over events."""
    ci = metrics.get("auroc_by_kind_ci") or {}
    return ", ".join(f"{k} {_pct(v)}" + (f" [{_pct(ci[k][0])}, {_pct(ci[k][1])}]" if intervals and ci.get(k) else "")
                     for k, v in (metrics.get("auroc_by_kind") or {}).items())


def _print_summary(metrics: dict, out_dir: Path) -> None:
    if metrics.get("auroc") is None:
        log.info("test scores written to %s (no ground truth, no metrics)", out_dir)
        print(f"scores: {out_dir / 'scores.csv'}")
        return
    kinds = _by_kind(metrics)
    trivial = metrics.get("trivial_baselines") or {}
    trivial_text = ", ".join(f"{name.replace('_', ' ')} {_pct(m.get('auroc'))} ({_by_kind(m, intervals=False)})"
                             for name, m in trivial.items() if isinstance(m, dict))
    print(
        f"\ntest AUROC {_pct(metrics['auroc'])}% (macro {_pct(metrics.get('auroc_macro'))}%, "
        f"AP {_pct(metrics.get('ap'))}%, EER {_pct(metrics.get('eer'))}%)"
        + (f"\nAUROC by kind: {kinds}" if kinds else "")
        + (f"\ntrivial: {trivial_text}" if trivial_text else "")
        + f"\nrun folder: {out_dir}"
    )
