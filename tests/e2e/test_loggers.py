"""Every logger config gets the run's metrics and figures: CSV, W&B (offline) and MLflow (a local database)."""

from __future__ import annotations

import csv
import os

import pytest

from tests.helpers.runs import TINY, compose_run


@pytest.mark.slow  # about a minute (W&B and MLflow start up): make test-all
def test_csv_wandb_and_mlflow_each_get_the_figures_of_a_smoke_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    from vadlit.tasks.train import run

    cfg = compose_run(tmp_path, TINY + ["logger=[csv,wandb,mlflow]", "logger.wandb.offline=true",
                                        f"paths.log_dir={tmp_path / 'outputs'}"])
    metrics = run(cfg)
    import wandb

    wandb.finish()
    out = tmp_path / "run"

    # CSV: the metrics in metrics.csv, each figure a PNG beside it
    with open(out / "csv" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert any(r.get("test/auroc") for r in rows) and any(r.get("train/g_loss_step") for r in rows)
    for tag in ("test/roc", "test/pr", "test/anomaly_maps", "val/reconstruction"):
        assert list((out / "csv" / "figures" / tag).glob("step*.png")), tag

    # W&B offline: the figures as media files of the offline run
    (offline,) = (out / "wandb").glob("offline-run-*")
    media = {p.relative_to(offline / "files" / "media" / "images").as_posix() for p in
             (offline / "files" / "media" / "images").rglob("*.png")}
    for tag in ("test/roc", "test/anomaly_maps"):
        assert any(m.startswith(f"{tag}_") for m in media), (tag, sorted(media))

    # MLflow: the run in the local database, its metrics and the figures as artifacts
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")
    (found,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    assert found.info.run_name == "ta4-reconstruct-seed0"
    assert found.data.metrics["test/auroc"] == metrics["auroc"]
    assert [a.path for a in client.list_artifacts(found.info.run_id, "figures/test/roc")]
    assert os.path.isdir(tmp_path / "outputs" / "mlartifacts")
