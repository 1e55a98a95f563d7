"""A tested run's outputs: scores.csv and metrics.json, the HPARAMS row, the console summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as L
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from vadlit.callbacks.figures import log_step
from vadlit.evaluation.frame_scores import scoring_rule
from vadlit.evaluation.map_files import write_maps
from vadlit.evaluation.metrics import headline
from vadlit.evaluation.outputs import write_json, write_scores_csv
from vadlit.evaluation.postprocess import ScoreOptions, options_record
from vadlit.evaluation.test_result import TestResult
from vadlit.evaluation.trivial import run_baselines
from vadlit.files import all_or_none
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule
from vadlit.tasks.lightning_logs import log_summary



def write_results(out_dir: Path, cfg: DictConfig, model: VideoAnomalyModule, datamodule, result: TestResult,
                  options: ScoreOptions, checkpoint: dict) -> dict:
    with all_or_none() as files:  # scores.csv and metrics.json: both or, if anything fails, neither
        metrics = _metrics(cfg, model, datamodule, result, options, checkpoint)
        write_scores_csv(out_dir / "scores.csv", result.scores, result.labels, result.kinds, files=files)
        write_json(out_dir / "metrics.json", metrics, files=files)
        if cfg.eval.get("save_maps", False) and result.maps:
            write_maps(out_dir / "maps.npz", result.maps, files=files)
    return metrics


def _metrics(cfg: DictConfig, model: VideoAnomalyModule, datamodule, result: TestResult, options: ScoreOptions,
             checkpoint: dict) -> dict:
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
            **options_record(options),
            "scored_frames": scoring_rule(model.last_only),
        },
        seed=int(cfg.seed),
    )
    if result.labels:  # the same test frames, scored by what needs no model
        metrics["trivial_baselines"] = run_baselines(datamodule, result, options)
    return metrics


def hparams_row(cfg: DictConfig, model: VideoAnomalyModule) -> dict[str, Any]:
    """A flat table for TensorBoard's HPARAMS tab: the sweep's knobs and the data they ran on."""
    hp = model.hparams
    return {
        "variant": str(hp.get("variant") or f"heads{hp.heads}"),
        "heads": str(int(hp.heads)),  # a factor: TensorBoard shows "4", not 4.0000
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


def log_hparams(trainer: L.Trainer, hparams: dict, metrics: dict) -> None:
    """The HPARAMS table: one row per run with its final metrics, so a sweep compares at a glance."""
    # the HPARAMS tab pairs the row with the `test/` scalars the test already logged (same tags, same
    # step): no second set of one-point `hparams/*` charts in front of the losses
    finals = headline(metrics, prefix="test/")
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams, finals, step=log_step(trainer))
        else:  # the others have the test metrics already and take the hyper-parameters alone
            logger.log_hyperparams(hparams)
        logger.save()


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}"


def _by_kind(metrics: dict, intervals: bool = True) -> str:
    """`crossing 55.0 [41.2, 68.0], ...`: each kind's AUROC with its interval over events."""
    ci = metrics.get("auroc_by_kind_ci") or {}
    return ", ".join(f"{k} {_pct(v)}" + (f" [{_pct(ci[k][0])}, {_pct(ci[k][1])}]" if intervals and ci.get(k) else "")
                     for k, v in (metrics.get("auroc_by_kind") or {}).items())


def _where(block: dict | None) -> str:
    """`\nwhere: pixel AUROC 96.0 [94.9, 97.0], RBDC 11.0 [4.2, 20.0], TBDC 16.7 [...]` (intervals over videos)."""
    if not isinstance(block, dict) or not block.get("n_videos_with_masks"):
        return ""
    cells = []
    for key, title in (("pixel_auroc", "pixel AUROC"), ("rbdc", "RBDC"), ("tbdc", "TBDC")):
        ci = block.get(f"{key}_ci")
        cells.append(f"{title} {_pct(block.get(key))}" + (f" [{_pct(ci[0])}, {_pct(ci[1])}]" if ci else ""))
    return f"\nwhere ({block['n_videos_with_masks']} videos with masks): " + ", ".join(cells)


def print_summary(metrics: dict, out_dir: Path) -> None:
    if metrics.get("auroc") is None:
        # no labels at all, or labels of one class only (metrics.json's warnings say which)
        why = (metrics.get("warnings") or [None])[0] or "the test videos have no ground truth, so no metrics"
        log_summary(f"no AUROC: {why}\nscores: {out_dir / 'scores.csv'}")
        return
    kinds = _by_kind(metrics)
    trivial = metrics.get("trivial_baselines") or {}
    trivial_text = ", ".join(f"{name.replace('_', ' ')} {_pct(m.get('auroc'))} ({_by_kind(m, intervals=False)})"
                             for name, m in trivial.items() if isinstance(m, dict))
    log_summary(
        f"\ntest AUROC {_pct(metrics['auroc'])}% (macro {_pct(metrics.get('auroc_macro'))}%, "
        f"AP {_pct(metrics.get('ap'))}%, EER {_pct(metrics.get('eer'))}%)"
        + (f"\nAUROC by kind: {kinds}" if kinds else "")
        + (f"\ntrivial: {trivial_text}" if trivial_text else "")
        + _where(metrics.get("localization"))
        + f"\nrun folder: {out_dir}"
    )
