"""`vadlit-score`: anomaly scores for new footage (a video file or a folder of frames) from a checkpoint.

The footage is decoded and resized exactly as training data was (frame size, channels and clip length
are read from the checkpoint), scored in batches by Lightning's predict loop on the available device,
and every frame gets the mean score of the clips containing it, as test frames do. A threshold can be
a number or a quantile of the held-out normal validation scores saved with the checkpoint, so it is
never tuned on the footage being judged.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from lightning.pytorch.callbacks import RichProgressBar
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from vadlit.data.cache import CachedVideo
from vadlit.data.clips import ClipDataset, Segment, scored_stride
from vadlit.data.sources.footage import load_footage
from vadlit.errors import ConfigError, DataError
from vadlit.evaluation.frame_scores import FrameScores, scoring_rule
from vadlit.evaluation.outputs import write_json
from vadlit.files import FileSet, all_or_none
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule
from vadlit.tasks.lightning_logs import quiet_lightning

log = logging.getLogger(__name__)


def threshold_of(cfg: DictConfig, model: VideoAnomalyModule) -> tuple[float | None, str | None]:
    """(value, how it was chosen) from ``threshold`` or ``threshold_quantile`` (at most one)."""
    value, quantile = cfg.get("threshold"), cfg.get("threshold_quantile")
    if value is not None and quantile is not None:
        raise ConfigError(f"threshold={value} and threshold_quantile={quantile}: give one of them, not both")
    if value is not None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ConfigError(f"threshold={value!r}: expected a number (a score)")
        return float(value), "given"
    if quantile is None:
        return None, None
    if not isinstance(quantile, (int, float)) or not 0.0 < float(quantile) < 1.0:
        raise ConfigError(f"threshold_quantile={quantile!r}: expected a fraction strictly between 0 and 1, e.g. 0.99")
    if model.val_scores is None or len(model.val_scores) == 0:
        raise ConfigError(f"threshold_quantile={quantile}: the checkpoint holds no validation scores (written by "
                          "an older vadlit or trained without validation); give threshold=<score> instead")
    q = float(np.quantile(model.val_scores, float(quantile)))
    return q, f"quantile {quantile} of {len(model.val_scores)} held-out normal validation frame scores"


def score_frames(model: VideoAnomalyModule, frames: np.ndarray, name: str, stride: int, cfg: DictConfig) -> np.ndarray:
    """One score per frame (mean over the clips containing it), scored by Lightning's predict loop."""
    clip_len = int(model.hparams.clip_len)
    dataset = ClipDataset([CachedVideo(frames, name=name)], [Segment(0, 0, len(frames))], clip_len, stride)
    loader = DataLoader(dataset, batch_size=int(cfg.batch_size), num_workers=int(cfg.num_workers),
                        pin_memory=torch.cuda.is_available() and str(cfg.accelerator) != "cpu")
    trainer = L.Trainer(accelerator=cfg.accelerator, devices=1, precision=cfg.precision, logger=False,
                        callbacks=[RichProgressBar()], enable_checkpointing=False, enable_model_summary=False,
                        default_root_dir=cfg.paths.output_dir)
    frame_scores = FrameScores.over(dataset)
    for clips in trainer.predict(model, loader):
        frame_scores.add(clips, model.last_only)
    return frame_scores.compute()[name]


def score(cfg: DictConfig) -> dict[str, Any]:
    quiet_lightning()
    out_dir = Path(cfg.paths.output_dir)
    source = Path(str(cfg.input)).expanduser()
    model = VideoAnomalyModule.from_checkpoint(cfg.ckpt_path)
    threshold, chosen = threshold_of(cfg, model)  # before decoding: a bad threshold costs nothing
    pre = model.preprocessing
    frames = load_footage(source, pre["image_size"], int(pre["channels"]))
    clip_len = int(model.hparams.clip_len)
    if len(frames) < clip_len:
        raise DataError(f"input={str(source)!r} has {len(frames)} frames: shorter than one clip of {clip_len} "
                        "frames (the checkpoint's clip length), so no frame can be scored")
    predict = model.last_only
    stride = int(cfg.stride or scored_stride(int(pre.get("eval_stride", max(1, clip_len // 2))), predict))
    if predict and stride != 1:
        raise ConfigError(f"stride={stride}: a 'predict' model scores the last frame of each clip, so every frame "
                          "must end one: use stride=1 (or leave it null)")
    scores = score_frames(model, frames, source.stem or source.name, stride, cfg)

    above = None if threshold is None else scores > threshold
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "input": str(source),
        "checkpoint": str(cfg.ckpt_path),
        "model": {"variant": model.hparams.get("variant"), "heads": int(model.hparams.heads),
                  "objective": str(model.hparams.objective)},
        "preprocessing": pre,
        "stride": stride,
        "frames": len(scores),
        "scored_frames": scoring_rule(predict),
        "threshold": None if threshold is None else {"value": threshold, "chosen": chosen,
                                                     "frames_above": int(above.sum())},
        "score": {"min": float(scores.min()), "mean": float(scores.mean()), "max": float(scores.max())},
    }
    with all_or_none() as files:  # scores.csv, scores.png and score.json: all of them or none
        _write_csv(out_dir / "scores.csv", scores, above, files)
        _plot(out_dir / "scores.png", scores, threshold, above, source.name, files)
        write_json(out_dir / "score.json", record, files=files)
    summary = f"{len(scores)} frames scored: {out_dir / 'scores.csv'}, {out_dir / 'scores.png'}"
    if threshold is not None:
        summary += f"\n{int(above.sum())} frames above the threshold {threshold:.6g} ({chosen})"
    print(summary)
    return record


def _write_csv(path: Path, scores: np.ndarray, above: np.ndarray | None, files: FileSet) -> None:
    """``frame,score[,above_threshold]``; frames are 1-based like every scores.csv of vadlit."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "score"] + ([] if above is None else ["above_threshold"]))
    for i, value in enumerate(scores.tolist()):
        writer.writerow([i + 1, repr(value)] + ([] if above is None else [int(above[i])]))
    files.write_text(path, buf.getvalue())


def _plot(path: Path, scores: np.ndarray, threshold: float | None, above: np.ndarray | None, title: str,
          files: FileSet) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from vadlit.callbacks.score_curves import shade_runs

    fig = Figure(figsize=(8, 2.8), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    frames = np.arange(1, len(scores) + 1)
    ax.plot(frames, scores, linewidth=1.0, label="anomaly score")
    if threshold is not None:
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=0.8, label=f"threshold {threshold:.4g}")
        shade_runs(ax, above, color="tab:red", alpha=0.15)
    ax.set(xlabel="frame", ylabel="score", title=title, xlim=(1, max(2, len(scores))))
    ax.legend(loc="upper right", fontsize=8)
    files.write(path, lambda f: fig.savefig(f, format="png"))
