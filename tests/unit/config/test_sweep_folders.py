"""Sweeps without running one: each sweep gets its own folder, and every launcher config composes."""

from __future__ import annotations

from pathlib import Path

import pytest

from omegaconf import OmegaConf

from vadlit.config.resolvers import SWEEP_ENV, sweep_dir


def test_two_sweeps_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    monkeypatch.delenv(SWEEP_ENV, raising=False)
    first = sweep_dir(str(tmp_path))
    monkeypatch.delenv(SWEEP_ENV)
    second = sweep_dir(str(tmp_path))
    assert first != second and Path(first).parent == Path(second).parent == tmp_path
    for folder in (first, second):  # two sweeps of the same grid
        Path(folder).mkdir()
        OmegaConf.save({"hydra": {"overrides": {"task": ["model=baseline,ta1"]}}}, Path(folder) / "multirun.yaml")
    monkeypatch.delenv(SWEEP_ENV)
    assert sweep_dir(str(tmp_path), True, ["model=baseline,ta1", "resume=true"]) == max(first, second), \
        "resume picks the newest sweep of the grid"


def test_every_launcher_config_composes():
    for plugin in ("hydra_plugins.hydra_ray_launcher", "hydra_plugins.hydra_submitit_launcher"):
        pytest.importorskip(plugin, reason="the sweep extra is not installed (make test-all installs it)")
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from tests.helpers.paths import CONF

    targets = {}
    for launcher in ["ray_local", "ray_cluster", "slurm"]:
        GlobalHydra.instance().clear()
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
            cfg = compose("train", overrides=["experiment=ablation_heads", f"hydra/launcher={launcher}"],
                          return_hydra_config=True)
        targets[launcher] = cfg.hydra.launcher._target_
        if launcher == "slurm":
            assert cfg.hydra.launcher.gpus_per_node == 1 and "partition" in cfg.hydra.launcher
        else:
            assert "num_gpus" in cfg.hydra.launcher.ray.remote
        assert cfg.hydra.sweeper.params.model == "baseline,ta1,ta2,ta4,ta8"
    assert targets["ray_local"].endswith("RayLauncher") and targets["slurm"].endswith("SlurmLauncher")
