"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """One tiny ta2 training run (seconds), shared by the tests that only read its checkpoint and outputs."""
    from tests.helpers.runs import TINY, compose_run
    from vadlit.tasks.train import run

    tmp = tmp_path_factory.mktemp("smoke")
    cfg = compose_run(tmp, TINY + ["model=ta2", "logger=none"])
    run(cfg)
    return Path(cfg.paths.output_dir)
