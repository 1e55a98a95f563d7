"""`vadlit-analyze`: what a trained model's temporal attention looks at, normal vs anomalous clips.

The data set comes from the config (``data=...``); its frame size, channels and clip length come from
the checkpoint, so the clips are exactly those the model was trained on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf, open_dict

from vadlit.analysis.probe import analyze_attention
from vadlit.errors import ConfigError
from vadlit.tasks.compose import seed_of
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

log = logging.getLogger(__name__)


def device_of(name: str) -> torch.device:
    """``auto`` -> the first GPU when there is one, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def checkpoint_data(data: DictConfig, model: VideoAnomalyModule):
    """The configured data source at the checkpoint's own frame size, channels and clip length."""
    data = OmegaConf.create(OmegaConf.to_container(data, resolve=True))
    with open_dict(data):
        for key in ("image_size", "channels", "clip_len"):
            data[key] = model.preprocessing[key]
    datamodule = instantiate(data, _convert_="object")
    datamodule.score_for(model.last_only)
    return datamodule


def analyze(cfg: DictConfig) -> dict[str, Any]:
    out_dir = Path(cfg.paths.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed_of(cfg))
    max_batches = cfg.get("max_batches")
    if max_batches is not None and (not isinstance(max_batches, int) or isinstance(max_batches, bool) or max_batches < 1):
        raise ConfigError(f"max_batches={max_batches!r}: expected a positive number of test batches, or null for all")
    model = VideoAnomalyModule.from_checkpoint(cfg.ckpt_path)
    datamodule = checkpoint_data(cfg.data, model)
    record = analyze_attention(model, datamodule, out_dir, n_boot=int(cfg.n_boot), seed=int(cfg.seed),
                               max_batches=cfg.get("max_batches"), device=device_of(str(cfg.device)))
    record["checkpoint"] = str(cfg.ckpt_path)
    print(f"attention statistics of {sum(record['clips'][g] for g in ('normal', 'anomalous'))} test clips "
          f"({record['clips']['normal']} normal, {record['clips']['anomalous']} anomalous): "
          f"{out_dir / 'attention_stats.json'}, {out_dir / 'attention_stats.csv'}, "
          + ", ".join(str(out_dir / f) for f in record["figures"].values()))
    return record
