"""The built wheel carries its config tree: an installed vadlit trains from any folder, no clone needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT
from tests.helpers.runs import TINY_DATA


@pytest.mark.slow  # builds and installs a wheel: make test-all
def test_the_wheel_trains_a_smoke_run_outside_the_repository(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
                    "-w", str(wheels)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("vadlit-*.whl")
    assert "vadlit/conf/train.yaml" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # the dependencies come from this environment (a path, not a site dir: its editable vadlit stays out)
    Path(site, "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VADLIT_CONFIG_DIR")}
    proc = subprocess.run([str(env_dir / "bin" / "vadlit-train"), "debug=smoke", *TINY_DATA, "logger=none",
                           "hydra.run.dir=run", "paths.cache_dir=cache"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    where = subprocess.run([str(python), "-c", "import vadlit; print(vadlit.__file__)"], cwd=elsewhere, env=env,
                           capture_output=True, text=True).stdout
    assert str(env_dir) in where, f"the run used {where}, not the installed wheel"
    assert json.loads((elsewhere / "run" / "metrics.json").read_text())["auroc"] is not None
