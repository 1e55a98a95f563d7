"""Packed sweeps without a GPU: how many jobs share a GPU, which GPU a packed job takes, and what
its run_info.json says about it (GPUs are faked; the Ray launcher's own run is in tests/e2e)."""

from __future__ import annotations

import types

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from tests.helpers.paths import CONF
from vadlit.errors import ConfigError
from vadlit.config.resolvers import gpu_share, packed_jobs
from vadlit.tasks.placement import place


def _fake_gpus(monkeypatch, n: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)


def _compose(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        return compose("train", overrides=overrides, return_hydra_config=True)


@pytest.mark.parametrize("gpus, per_gpu, at_once", [(0, 1, 1), (0, 3, 3), (1, 5, 5), (2, 5, 10)])
def test_the_packed_launcher_runs_jobs_per_gpu_jobs_on_each_gpu(monkeypatch, gpus, per_gpu, at_once):
    _fake_gpus(monkeypatch, gpus)
    cfg = _compose(["experiment=ablation_heads", "hydra/launcher=packed", f"jobs_per_gpu={per_gpu}"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert cfg.hydra.launcher.n_jobs == at_once


def test_a_ray_job_asks_for_its_share_of_a_gpu_and_none_without_gpus(monkeypatch):
    _fake_gpus(monkeypatch, 0)
    assert gpu_share(5, declared=1) == pytest.approx(0.2), "GPUs declared to Ray count"
    assert gpu_share(4, declared=None) == 0.0, "no GPU here: jobs ask for none and run on the CPU"
    assert gpu_share(1, declared=None) == 0.0
    _fake_gpus(monkeypatch, 2)
    assert gpu_share(4) == pytest.approx(0.25) and packed_jobs(4) == 8


def test_the_ray_launcher_config_resolves_the_share(monkeypatch):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher", reason="the sweep extra is not installed (make test-all)")
    _fake_gpus(monkeypatch, 0)
    cfg = _compose(["hydra/launcher=ray_local", "jobs_per_gpu=5", "hydra.launcher.ray.init.num_gpus=1"])
    assert cfg.hydra.launcher.ray.remote.num_gpus == pytest.approx(0.2)
    cfg = _compose(["hydra/launcher=ray_cluster", "jobs_per_gpu=4"])
    assert cfg.hydra.launcher.ray.remote.num_gpus == pytest.approx(0.25), "a cluster's GPUs need not be on this node"


@pytest.mark.parametrize("value", [0, -1, "two", 1.5, True])
def test_a_bad_jobs_per_gpu_is_one_clear_error(value):
    with pytest.raises(ConfigError, match=r"^jobs_per_gpu=.*expected a whole number >= 1"):
        packed_jobs(value)


def _job(monkeypatch, launcher: str, num: int, per_gpu: int = 2):
    cfg = _compose([f"hydra/launcher={launcher}", f"jobs_per_gpu={per_gpu}"])
    with open_dict(cfg):
        cfg.hydra.job.num = num
    HydraConfig.instance().set_config(cfg)
    return cfg


def test_packed_jobs_spread_over_the_gpus_by_job_number(monkeypatch):
    _fake_gpus(monkeypatch, 2)
    devices, records = [], []
    for num in range(4):
        cfg = _job(monkeypatch, "packed", num)
        records.append(place(cfg))
        devices.append(list(cfg.trainer.devices))
    assert devices == [[0], [1], [0], [1]], "consecutive jobs (those running together) on different GPUs"
    assert [r["gpu_ids"] for r in records] == [["0"], ["1"], ["0"], ["1"]]
    assert all(r["gpu_share"] == 0.5 and r["launcher"] == "packed" and r["jobs_per_gpu"] == 2 for r in records)


def test_a_packed_job_on_one_gpu_keeps_the_trainer_and_records_its_share(monkeypatch):
    _fake_gpus(monkeypatch, 1)
    cfg = _job(monkeypatch, "packed", 3, per_gpu=5)
    record = place(cfg)
    assert cfg.trainer.devices == 1 and record["gpu_ids"] == ["0"] and record["gpu_share"] == pytest.approx(0.2)


def test_packed_jobs_on_a_cpu_share_its_cores(monkeypatch):
    _fake_gpus(monkeypatch, 0)
    threads = torch.get_num_threads()
    try:
        monkeypatch.setattr("os.cpu_count", lambda: 8)
        record = place(_job(monkeypatch, "packed", 0, per_gpu=4))
        assert record["gpu_share"] == 0.0 and record["gpu_ids"] == [] and record["torch_threads"] == 2
    finally:
        torch.set_num_threads(threads)


def test_a_ray_job_records_what_ray_assigned_it(monkeypatch):
    _fake_gpus(monkeypatch, 0)
    context = types.SimpleNamespace(get_assigned_resources=lambda: {"GPU": 0.2, "CPU": 1.0})
    ray = types.SimpleNamespace(is_initialized=lambda: True, get_runtime_context=lambda: context,
                                get_gpu_ids=lambda: [1])
    monkeypatch.setitem(__import__("sys").modules, "ray", ray)
    record = place(_job(monkeypatch, "basic", 7, per_gpu=5))  # the Ray plugin need not be here
    assert record["gpu_share"] == pytest.approx(0.2) and record["gpu_ids"] == ["1"] and record["cpus"] == 1.0
