"""Lightning's console output inside vadlit's runs: each message once, through Hydra's handlers."""

from __future__ import annotations

import logging
import warnings


class _DropTips(logging.Filter):
    """Lightning's advertising tips are not run information."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "💡" not in record.getMessage()


def quiet_lightning() -> None:
    """One copy of each Lightning message (through Hydra's handlers), no tips, no upstream deprecations."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
