"""Testing a model: score every test clip with Lightning's predict loop, turn the returned scores and
the truth that came with them into a `TestResult`, log its headline metrics and show it.

The predict loop (not the test loop) because a test's product is the scores themselves: they are
returned to the caller instead of being parked on the model for others to find.
"""

from __future__ import annotations

import lightning.pytorch as L

from vadlit.callbacks.figures import log_step
from vadlit.callbacks.test_result_view import TestResultView
from vadlit.evaluation.metrics import headline
from vadlit.evaluation.postprocess import ScoreOptions
from vadlit.evaluation.test_result import TestResult, test_result


def evaluate(trainer: L.Trainer, model, datamodule, options: ScoreOptions, ckpt_path: str | None) -> TestResult:
    """Score the test videos with the weights of ``ckpt_path`` (or the model's own when None)."""
    batches = trainer.predict(model, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True,
                              return_predictions=True)
    result = test_result(batches, trainer.predict_dataloaders.dataset, model.last_only, options, model.localize)
    if result.metrics:
        for logger in trainer.loggers:
            logger.log_metrics(headline(result.metrics, prefix="test/"), step=log_step(trainer))
    for callback in trainer.callbacks:
        if isinstance(callback, TestResultView):
            callback.show(trainer, model, result)
    return result
