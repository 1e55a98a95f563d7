"""The objects a run's config names: data, model (trained now, or read from ``ckpt_path``), callbacks,
loggers and the trainer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightning.pytorch as L
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from vadlit.errors import ConfigError
from vadlit.evaluation.postprocess import ScoreOptions
from vadlit.image_size import as_size
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule


@dataclass
class Parts:
    datamodule: Any
    model: VideoAnomalyModule
    callbacks: list[Any]
    loggers: list[Any]
    trainer: L.Trainer
    options: ScoreOptions  # how test frame scores are post-processed (``eval.*``)


def seed_of(cfg: DictConfig) -> int:
    """``seed``, checked: numpy, torch and Python's random all accept it."""
    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise ConfigError(f"seed={seed!r}: expected an integer from 0 to {2**32 - 1}")
    return seed


def instantiate_group(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group like `callbacks:` or `logger:` (None -> [])."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if isinstance(entry, DictConfig) and "_target_" in entry]


def model_from_checkpoint(ckpt_path: str | None, datamodule) -> VideoAnomalyModule:
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


def compose(cfg: DictConfig) -> Parts:
    """Everything `cfg` names, in this order (the model's initial weights follow the seed set before)."""
    datamodule = instantiate(cfg.data, _convert_="object")
    if cfg.get("train", True):
        model: VideoAnomalyModule = instantiate(cfg.model, _convert_="object")
    else:
        model = model_from_checkpoint(cfg.get("ckpt_path"), datamodule)
    evaluation = OmegaConf.to_container(cfg.eval, resolve=True)
    for key in ("localization", "save_maps"):  # what the model makes and the run keeps, not score options
        if not isinstance(evaluation.pop(key, False), bool):
            raise ConfigError(f"eval.{key}={cfg.eval[key]!r}: expected true or false")
    model.localize = bool(cfg.eval.get("localization", True)) or bool(cfg.eval.get("save_maps", False))
    options = ScoreOptions(**evaluation)
    datamodule.score_for(model.last_only)
    callbacks = instantiate_group(cfg.get("callbacks"))
    loggers = instantiate_group(cfg.get("logger"))
    trainer: L.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers or False)
    return Parts(datamodule, model, callbacks, loggers, trainer, options)
