"""Per-test-video anomaly score curves for the run's loggers, the ground-truth anomalous stretches shaded.

A ROC curve says how well scores rank; the curves say *where* a model fires: late on an event,
on its whole duration, or on every passing object. At most ``max_videos`` figures per test run.
"""

from __future__ import annotations

import lightning.pytorch as L
import numpy as np

from vadlit.callbacks.figures import figure_loggers, log_figure
from vadlit.callbacks.test_result_view import TestResultView


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Stretches [start, end) of consecutive true values, 0-based."""
    mask = np.asarray(mask, dtype=bool).reshape(-1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def shade_runs(ax, mask: np.ndarray, **style) -> None:
    """Shade every stretch of true frames of a per-frame mask (frames drawn 1-based)."""
    for start, end in runs(mask):
        ax.axvspan(start + 0.5, end + 0.5, linewidth=0, **style)


def score_curve_figure(name: str, scores: np.ndarray, labels: np.ndarray | None):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 2.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.plot(np.arange(1, len(scores) + 1), scores, linewidth=1.0, color="tab:blue")
    if labels is not None:
        shade_runs(ax, labels, color="tab:red", alpha=0.2)
    ax.set(xlabel="frame", ylabel="anomaly score", xlim=(1, max(2, len(scores))),
           title=f"{name}" + ("" if labels is None else " (red: ground-truth anomalous frames)"))
    return fig


class ScoreCurves(TestResultView):
    """After testing: one figure per test video (the first ``max_videos`` with anomalies, then others)."""

    def __init__(self, max_videos: int = 12):
        self.max_videos = max(0, int(max_videos))

    def show(self, trainer: L.Trainer, pl_module, result) -> None:
        if not figure_loggers(trainer) or result is None or not result.scores or not self.max_videos:
            return
        names = list(result.scores)
        if result.labels is not None:  # videos with anomalies first: they are the interesting ones
            names.sort(key=lambda n: not bool(np.any(result.labels[n])))
        for name in names[: self.max_videos]:
            labels = None if result.labels is None else result.labels[name]
            log_figure(trainer, f"test/scores/{name}", score_curve_figure(name, result.scores[name], labels))
