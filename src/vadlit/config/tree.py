"""Where the Hydra config tree lives: inside the package (`vadlit/conf`, in a clone a link to the
project's `conf/`), so an installed wheel finds it from any folder; or VADLIT_CONFIG_DIR."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> str:
    """The config root (nothing else happens: the entry points' set-up is `vadlit.cli.process`)."""
    env = os.environ.get("VADLIT_CONFIG_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1] / "conf")  # vadlit/config -> vadlit/conf
    for path in candidates:
        if (path / "train.yaml").is_file():
            return str(path)
    raise SystemExit(
        f"vadlit: error: no Hydra config tree found (looked for train.yaml in {', '.join(map(str, candidates))}); "
        "reinstall vadlit (its wheel ships conf/) or set VADLIT_CONFIG_DIR"
    )


def in_sweep() -> bool:
    """True inside a Hydra multirun job, where one failed run must not stop the others."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
