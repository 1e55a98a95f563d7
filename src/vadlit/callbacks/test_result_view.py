"""`TestResultView`: a callback that shows a finished test (ROC, score curves).

Lightning has no hook that carries a test's result, so `tasks.evaluate` hands the `TestResult` it
returns to every view among the trainer's callbacks; a view never looks for it on the model.
"""

from __future__ import annotations

import lightning.pytorch as L

from vadlit.evaluation.test_result import TestResult


class TestResultView(L.Callback):
    __test__ = False  # not a pytest test class

    def show(self, trainer: L.Trainer, pl_module: L.LightningModule, result: TestResult) -> None:
        raise NotImplementedError
