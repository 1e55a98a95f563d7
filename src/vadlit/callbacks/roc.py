"""The test ROC and precision-recall curves as figures for the run's loggers, from the same frame scores as metrics.json."""

from __future__ import annotations

import lightning.pytorch as L

from vadlit.callbacks.figures import figure_loggers, log_figure
from vadlit.callbacks.test_result_view import TestResultView
from vadlit.evaluation.metrics import pr_curve, roc_curve


class RocCurve(TestResultView):
    def show(self, trainer: L.Trainer, pl_module, result) -> None:
        if not figure_loggers(trainer) or result is None or not result.metrics or result.metrics.get("auroc") is None:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fpr, tpr, _ = roc_curve(result.scores, result.labels)
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        ax.plot(fpr, tpr, label=f"AUROC {result.metrics['auroc']:.3f}")
        ax.plot([0, 1], [0, 1], "--", color="grey", linewidth=0.8)
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title="frame-level ROC (test)")
        ax.legend(loc="lower right")
        log_figure(trainer, "test/roc", fig)
        plt.close(fig)

        precision, recall = pr_curve(result.scores, result.labels)
        positives = sum(int(y.sum()) for y in result.labels.values()) / sum(len(y) for y in result.labels.values())
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        ax.plot(recall, precision, label=f"AP {result.metrics.get('ap') or float('nan'):.3f}")
        ax.axhline(positives, linestyle="--", color="grey", linewidth=0.8, label=f"chance {positives:.3f}")
        ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="frame-level precision-recall (test)")
        ax.legend(loc="upper right")
        log_figure(trainer, "test/pr", fig)
        plt.close(fig)
