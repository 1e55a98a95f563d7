"""Composing real configs for end-to-end tests, and running the entry points as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from tests.helpers.paths import CONF

# The one place the tests say what a tiny run is; every test that trains builds on these lists.
# A tiny synthetic data set: a couple of short videos (for the `synthetic` source only).
TINY_DATA = [
    "data.source.n_train=3",
    "data.source.n_test=2",
    "data.source.frames=48",
    "data.source.kinds=[object,running]",
]
# debug=smoke and fewer batches: a run of seconds with any data source.
SMOKE = ["debug=smoke", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1"]
# Both: a tiny run on the synthetic benchmark.
TINY = [SMOKE[0], *TINY_DATA, *SMOKE[1:]]


def compose_run(tmp_path: Path, overrides: list[str], config: str = "train"):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose(config_name=config, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "run")
        cfg.paths.cache_dir = str(tmp_path.parent / "cache")
        if cfg.get("callbacks"):
            cfg.callbacks.pop("rich_progress_bar", None)
    return cfg


def cli(tool: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "VADLIT_CACHE": str(cwd / "cache"), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": str(CONF.parent)}  # test-only callbacks (tests.helpers.callbacks) are importable
    exe = Path(sys.executable).parent / tool
    return subprocess.run([str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


