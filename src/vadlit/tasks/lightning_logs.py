"""Lightning's console output inside vadlit's runs: each message once, through Hydra's handlers."""

from __future__ import annotations

import logging
import warnings


class _DropTips(logging.Filter):
    """Lightning's advertising tips are not run information."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "💡" not in record.getMessage()


SUMMARY = "vadlit.summary"  # the summary a run prints: written to the log file, not printed twice


class _NotSummary(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != SUMMARY


def log_summary(text: str) -> None:
    """``text`` printed (as it is, on stdout) and written to the run's log file (Hydra's file handler),
    so a log holds the run's result too; the console handlers skip it, so it shows once."""
    print(text)
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler) and not any(isinstance(f, _NotSummary) for f in handler.filters):
            handler.addFilter(_NotSummary())
    logging.getLogger(SUMMARY).info(text.strip())


def quiet_lightning() -> None:
    """One copy of each Lightning message (through Hydra's handlers), no tips, no upstream deprecations."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
