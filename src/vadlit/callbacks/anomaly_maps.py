"""Where the model looks: its anomaly maps over anomalous test frames, beside the ground-truth masks.

One figure after testing (to every logger of the run), one row per anomalous event (its middle frame; events of
every kind in turn, so a few rows cover them all), each row labelled with the video, the frame, the
kind and the frame's score: the frame, the map over it, and the mask. The first test clips would
show normal frames only, so the rows are picked from the ground truth, never from the scores.
"""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np

from vadlit.callbacks.score_curves import runs
from vadlit.callbacks.figures import figure_loggers, log_figure
from vadlit.callbacks.test_result_view import TestResultView

MIN_SCALE = 3.0  # the colour scale spans at least 3 validation standard deviations


def anomalous_frames(labels: dict[str, np.ndarray], kinds: dict[str, list[str]] | None, videos: list[str],
                     max_frames: int) -> list[tuple[str, int, str]]:
    """(video, 0-based frame, kind) of the middle frame of each anomalous event of ``videos``, at most
    ``max_frames``, taking the events of each kind in turn (kinds in sorted order)."""
    by_kind: dict[str, list[tuple[str, int, str]]] = {}
    for name in videos:
        for start, end in runs(labels[name] == 1):
            middle = (start + end - 1) // 2
            kind = kinds[name][middle] if kinds else "anomaly"
            by_kind.setdefault(kind, []).append((name, middle, kind))
    queues = [by_kind[k] for k in sorted(by_kind)]
    picked: list[tuple[str, int, str]] = []
    while len(picked) < max_frames and any(queues):
        for queue in queues:
            if queue and len(picked) < max_frames:
                picked.append(queue.pop(0))
    return picked


def overlay_figure(rows: list[dict]):
    """Rows of (frame, map, mask or None, label) -> a matplotlib figure: frame | map over it | mask."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scale = max(MIN_SCALE, max(float(np.percentile(r["map"], 99)) for r in rows))
    fig = Figure(figsize=(7.2, 2.3 * len(rows)), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 3, squeeze=False)
    for (ax_frame, ax_map, ax_mask), row in zip(axes, rows):
        grey = row["frame"].mean(axis=2) if row["frame"].ndim == 3 else row["frame"]
        ax_frame.imshow(row["frame"].squeeze(), cmap="gray" if row["frame"].shape[-1] == 1 else None,
                        vmin=0, vmax=255)
        ax_frame.set_ylabel(row["label"], fontsize=8)
        ax_map.imshow(grey, cmap="gray", vmin=0, vmax=255)
        shown = ax_map.imshow(np.clip(row["map"], 0, None), cmap="inferno", alpha=0.6, vmin=0, vmax=scale)
        if row["mask"] is None:
            ax_mask.text(0.5, 0.5, "no pixel mask\nfor this video", ha="center", va="center", fontsize=8)
        else:
            ax_mask.imshow(grey, cmap="gray", vmin=0, vmax=255)
            ax_mask.imshow(np.ma.masked_where(~row["mask"], row["mask"]), cmap="autumn", alpha=0.6)
            if row["mask"].any():
                ax_map.contour(row["mask"], levels=[0.5], colors="cyan", linewidths=0.8)
        for ax in (ax_frame, ax_map, ax_mask):
            ax.set_xticks([])
            ax.set_yticks([])
    for ax, title in zip(axes[0], ("test frame", "anomaly map (cyan: mask outline)", "ground-truth mask")):
        ax.set_title(title, fontsize=9)
    fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.5, label="anomaly map (validation std devs)")
    return fig


class AnomalyMapOverlays(TestResultView):
    """After testing with anomaly maps (``eval.localization``) and ground truth: the overlay figure
    of up to ``max_frames`` anomalous frames, of the videos with pixel masks where there are any."""

    def __init__(self, max_frames: int = 8):
        self.max_frames = max(0, int(max_frames))

    def show(self, trainer: L.Trainer, pl_module, result) -> None:
        if not figure_loggers(trainer) or not self.max_frames or result.maps is None or not result.labels:
            return
        masks = result.masks or {}
        videos = [n for n in result.maps if n in masks] or list(result.maps)
        picked = anomalous_frames(result.labels, result.kinds, videos, self.max_frames)
        if not picked:
            return
        frames = {v.name: v.frames for v in trainer.predict_dataloaders.dataset.videos}
        rows = [{"frame": np.asarray(frames[name][t]), "map": result.maps[name][t],
                 "mask": masks[name][t] if name in masks else None,
                 "label": f"{name} · frame {t + 1}\n{kind} · score {result.scores[name][t]:.2f}"}
                for name, t, kind in picked]
        log_figure(trainer, "test/anomaly_maps", overlay_figure(rows))
