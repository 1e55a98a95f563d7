"""Probing a trained model's temporal attention over the test clips (`vadlit-analyze`).

Every test clip goes through the generator and the discriminator with the attention weights
returned; `vadlit.analysis.attention_stats` reduces them to per-clip statistics, which are summarised
separately for normal clips, anomalous clips and each anomaly kind. A clip is *anomalous* when any of
its frames is labelled anomalous, and its kind is the most frequent kind among those frames.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vadlit.analysis.attention_stats import STATISTICS, clip_statistics, mean_maps, plot_mean_maps, rows_to_csv, summarize
from vadlit.data.source import NORMAL
from vadlit.errors import DataError
from vadlit.evaluation.outputs import write_json
from vadlit.files import all_or_none
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule, to_unit_range
from vadlit.models.ocr_gan_video.torch_model import OCRGANVideo

log = logging.getLogger(__name__)

LAYERS = ("generator", "discriminator")
DESCRIPTIONS = {
    "generator": "bottleneck of the two-stream generator (both frequency streams, every spatial position)",
    "discriminator": "discriminator features of the real clip (every spatial position)",
}


@torch.no_grad()
def attention_weights(net: OCRGANVideo, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Clips in [-1, 1] -> layer -> weights (B, P, heads, T, T); empty for the no-attention baseline."""
    out = net.generate(x, return_attention=True)
    _, _, d_attn = net.discriminate(x, return_attention=True)
    return {layer: w for layer, w in zip(LAYERS, (out.attention, d_attn)) if w is not None}


def clip_kind(labels: np.ndarray, kinds: list[str] | None, frames: np.ndarray) -> str:
    """NORMAL, or the most frequent kind among the clip's anomalous frames."""
    anomalous = [int(f) for f, y in zip(frames, labels[frames]) if y]
    if not anomalous:
        return NORMAL
    if kinds is None:
        return "anomaly"
    return Counter(kinds[f] for f in anomalous).most_common(1)[0][0]


def analyze_attention(model: VideoAnomalyModule, datamodule, out_dir: Path, n_boot: int = 1000, seed: int = 0,
                      max_batches: int | None = None, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Run the test clips through ``model``, write ``attention_stats.json`` / ``.csv`` and one figure per
    layer (mean T x T map per head, normal | anomalous), and return the JSON record."""
    if model.hparams.heads == 0:
        raise DataError("the checkpoint is the no-attention baseline (model.heads=0): it has no attention to analyse")
    datamodule.setup("test")
    videos = datamodule.test_split.videos
    if not all(v.labels is not None for v in datamodule.test_videos):
        raise DataError(f"data source '{datamodule.source.name}': the test videos have no frame labels, so clips "
                        "cannot be split into normal and anomalous; expected a labelled test split")
    net = model.net.to(device).eval()
    stats: dict[str, list[torch.Tensor]] = {}
    maps: dict[str, list[torch.Tensor]] = {}
    kinds: list[str] = []
    loader = datamodule.test_dataloader()
    total = len(loader) if max_batches is None else min(len(loader), max_batches)
    for i, batch in enumerate(_progress(loader, total)):
        if max_batches is not None and i >= max_batches:
            break
        weights = attention_weights(net, to_unit_range(batch["clip"].to(device)))
        for layer, w in weights.items():
            for name, value in clip_statistics(w).items():
                stats.setdefault(f"{layer}/{name}", []).append(value)
            maps.setdefault(layer, []).append(mean_maps(w))
        for v, frames in zip(batch["video"].tolist(), batch["frames"].numpy()):
            kinds.append(clip_kind(videos[v].labels, videos[v].kinds, frames))

    kind_array = np.array(kinds)
    groups = {"normal": kind_array == NORMAL, "anomalous": kind_array != NORMAL}
    empty = [g for g in ("normal", "anomalous") if not groups[g].any()]
    if empty:  # nothing to compare: no statistics rather than statistics of nothing
        limit = "" if max_batches is None else f" (the first max_batches={max_batches} test batches)"
        raise DataError(f"the {len(kinds)} test clips analysed{limit} hold no {' and no '.join(empty)} clip; "
                        "expected both normal and anomalous clips to compare (analyse more batches)")
    groups.update({f"anomalous:{k}": kind_array == k for k in sorted(set(kinds) - {NORMAL})})
    rows, figures = [], {}
    with all_or_none() as files:  # the figures, the JSON and the CSV of one analysis: all or none
        for layer in maps:
            values = {name: torch.cat(stats[f"{layer}/{name}"]).numpy() for name in STATISTICS}
            rows += [{"layer": layer, **row} for row in summarize(values, groups, n_boot=n_boot, seed=seed)]
            layer_maps = torch.cat(maps[layer]).numpy()
            means = {g: layer_maps[groups[g]].mean(axis=0) for g in ("normal", "anomalous") if groups[g].any()}
            figures[layer] = f"attention_maps_{layer}.png"
            plot_mean_maps(means, out_dir / figures[layer],
                           f"{model.hparams.get('variant') or f'heads={model.hparams.heads}'}: mean attention, {layer}",
                           files)

        record = {
            "model": {"variant": model.hparams.get("variant"), "heads": int(model.hparams.heads),
                      "objective": str(model.hparams.objective), "clip_len": int(model.hparams.clip_len)},
            "data": {"source": datamodule.source.name, "test_stride": datamodule.test_stride},
            "clips": {g: int(m.sum()) for g, m in groups.items()},
            "clip_label": "anomalous if any frame of the clip is anomalous; kind = most frequent kind among them",
            "layers": {layer: DESCRIPTIONS[layer] for layer in maps},
            "statistics": {
                "self": "mean attention weight on the query frame itself (diagonal)",
                "local": "mean weight on adjacent frames, |i-j| = 1",
                "long_range": "mean weight on frames with |i-j| > 2 (uniform attention: 1/T for all three)",
                "entropy": "mean entropy of an attention row, nats (0 = one frame, log T = uniform)",
                "consistency": "mean cosine similarity of consecutive rows",
            },
            "interval": f"95% percentile bootstrap of the mean over clips ({n_boot} resamples, seed {seed})",
            "figures": figures,
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in rows],
        }
        write_json(out_dir / "attention_stats.json", record, files=files)
        rows_to_csv(rows, out_dir / "attention_stats.csv", files)
    return record


def _json_value(value):
    return None if isinstance(value, float) and np.isnan(value) else value


def _progress(items, total: int):
    from rich.progress import track

    return track(items, total=total, description="attention over test clips", transient=True)
