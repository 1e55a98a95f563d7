"""One run (`vadlit-train`, and `vadlit-eval` with ``train=false``): compose the objects a config names,
train, test the selected checkpoint, write outputs.

Every run folder holds `metrics.json`, `scores.csv`, `run_info.json`, `checkpoints/`, `tensorboard/`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning.pytorch as L
from omegaconf import DictConfig

from vadlit.errors import VadlitError
from vadlit.evaluation.outputs import write_json
from vadlit.models.ocr_gan_video.checkpoint import read_checkpoint
from vadlit.tasks.checkpoints import (checkpoint_callback, checkpoint_record, last_checkpoint, resume_checkpoint,
                                      selected_checkpoint, store_tested_reference)
from vadlit.tasks.compose import compose, seed_of
from vadlit.tasks.evaluate import evaluate
from vadlit.tasks.ddp import ddp_children_from, trainer_after_fit
from vadlit.tasks.lightning_logs import quiet_lightning
from vadlit.tasks.placement import place
from vadlit.tasks.results import hparams_row, log_hparams, print_summary, write_results
from vadlit.tasks.run_folder import (already_finished, failures_recorded, finish_run_folder, is_rank_zero, read_json,
                                     start_run_folder, trainer_record)


def run_job(cfg: DictConfig, multirun: bool = False) -> dict[str, Any] | None:
    """`run` for an entry point: a failure goes into run_info.json, and inside a sweep the others go on."""
    return failures_recorded(run, cfg, multirun)


def sweep_objective(metrics: dict[str, Any] | None) -> float | None:
    """The value `vadlit-train` returns to a Hydra sweeper (Optuna minimises it, `hparams_search`):
    the validation criterion that chose the tested checkpoint, the reconstruction (or prediction)
    loss on held-out *normal training* frames. Never a test metric: a sweeper that maximised test
    AUROC would tune on the test set. None (a failed trial, to the sweeper) without training."""
    value = ((metrics or {}).get("checkpoint") or {}).get("value")
    return None if value is None else float(value)


def refuse_untrained(trainer: L.Trainer, model) -> None:
    """A fit that took no optimizer step learned nothing: its test would print an AUROC of the initial
    weights as if it were a result."""
    if int(trainer.global_step) > 0:
        return
    skipped = model.health.record().get("skipped_steps") if hasattr(model, "health") else None
    why = f"all {skipped} steps were skipped as non-finite" if skipped else (
        f"trainer.max_epochs={trainer.max_epochs}, trainer.limit_train_batches={trainer.limit_train_batches}")
    raise VadlitError(f"training took no optimizer step ({why}), so there is no trained model to test; expected at "
                      "least one training batch (check trainer.limit_train_batches, trainer.max_epochs and the "
                      "training videos)")


def run(cfg: DictConfig) -> dict[str, Any] | None:
    """Train (if `cfg.train`) and test (if `cfg.test`); returns the metrics written to metrics.json."""
    quiet_lightning()
    out_dir = Path(cfg.paths.output_dir)
    seed = seed_of(cfg)  # a bad seed is refused before anything is written
    if already_finished(cfg, out_dir):
        return read_json(out_dir / "metrics.json")
    placement = place(cfg)  # before the folder's config.yaml: the packed launcher may choose the GPU
    info = start_run_folder(cfg, out_dir)
    info["placement"] = placement

    L.seed_everything(seed, workers=True)
    parts = compose(cfg)
    model, datamodule, trainer = parts.model, parts.datamodule, parts.trainer
    callback = checkpoint_callback(parts.callbacks)
    info.update(trainer_record(trainer))
    ckpt_path = resume_checkpoint(cfg, out_dir)
    if ckpt_path:
        info["resumed_from"] = ckpt_path
    else:
        ckpt_path = cfg.get("ckpt_path")
    if is_rank_zero():
        write_json(out_dir / "run_info.json", info)

    train = cfg.get("train", True)
    if train:
        if ckpt_path:
            read_checkpoint(ckpt_path)  # a clear error for a missing file or another model's checkpoint
        with ddp_children_from(out_dir / "config.yaml"):
            trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        info.update(global_step=int(trainer.global_step), epochs=int(trainer.current_epoch))
        refuse_untrained(trainer, model)
        trainer = trainer_after_fit(cfg, trainer, parts.callbacks, parts.loggers)
        if trainer is None:
            return None  # the extra DDP processes are done; rank 0 tests on one device
        ckpt_path = selected_checkpoint(callback, trainer, out_dir)

    metrics = None
    if cfg.get("test", True):
        # evaluation: the model is already loaded (safely, from ckpt_path); training: Lightning restores
        # the selected checkpoint, also without running pickled code
        result = evaluate(trainer, model, datamodule, parts.options, ckpt_path if train else None)
        if train and is_rank_zero():
            store_tested_reference(ckpt_path, last_checkpoint(out_dir), model)
        metrics = write_results(out_dir, cfg, model, datamodule, result, parts.options,
                                checkpoint_record(callback, ckpt_path, cfg))
        log_hparams(trainer, hparams_row(cfg, model), metrics)
        print_summary(metrics, out_dir)

    finish_run_folder(out_dir, info)
    return metrics
