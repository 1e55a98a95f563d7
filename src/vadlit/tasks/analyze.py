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
from vadlit.tasks.report import show_markdown
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
          f"({record['clips']['normal']} normal, {record['clips']['anomalous']} anomalous)\n")
    show_markdown(heads_table(record))
    print("\n" + "\n".join(f"wrote {out_dir / f}" for f in ("attention_stats.json", "attention_stats.csv",
                                                             *record["figures"].values())))
    return record


SHOWN = ("entropy", "long_range")  # what separates a head that looks across time from one that does not


def heads_table(record: dict[str, Any]) -> str:
    """Per layer and head: normal and anomalous means of `SHOWN`, and normal − anomalous [95% CI]."""
    cells: dict[tuple, dict] = {}
    for row in record["rows"]:
        if row["statistic"] in SHOWN and row["group"] in ("normal", "anomalous", "normal - anomalous"):
            cells.setdefault((row["layer"], str(row["head"])), {})[(row["statistic"], row["group"])] = row

    def num(row, interval=False) -> str:
        if row is None or row.get("mean") is None:
            return "—"
        text = f"{row['mean']:.3f}"
        if interval and row.get("ci_low") is not None and row.get("ci_high") is not None:
            text += f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
        return text

    header = ["layer", "head"] + [f"{s} {g}" for s in SHOWN for g in ("normal", "anomalous", "normal − anomalous")]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for (layer, head), row in cells.items():
        values = [num(row.get((s, g)), interval=g == "normal - anomalous")
                  for s in SHOWN for g in ("normal", "anomalous", "normal - anomalous")]
        lines.append("| " + " | ".join([layer, head, *values]) + " |")
    return "\n".join(lines)
