"""The dashboard's custom layout names the tags the model logs and marks the tested checkpoint; the PR
curve is the one AP summarises."""

from __future__ import annotations

import csv
import re

import lightning.pytorch as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from vadlit.callbacks.dashboard import DashboardLayout, best_tag, layout
from vadlit.evaluation.metrics import compute_metrics, pr_curve


def test_the_layout_charts_the_losses_the_model_logs_and_the_monitored_validation_loss():
    logged = {"train/g_loss_epoch", "train/d_loss_epoch", "train/adv_loss_epoch", "train/con_loss_epoch",
              "train/lat_loss_epoch", "val/con_loss", "test/auroc", "test/ap"}
    charts = {title: spec for section in layout("val/con_loss").values() for title, spec in section.items()}
    for title, (kind, tags) in charts.items():
        assert kind == "Multiline"
        assert any(re.fullmatch(tag, t) or re.match(tag, t) for tag in tags for t in logged), title
    assert any("val/con_loss" in tags for _, tags in charts.values())


def test_the_pr_curve_is_the_one_ap_summarises():
    rng = np.random.default_rng(0)
    labels = {"a": (rng.random(80) < 0.3).astype(np.int64), "b": (rng.random(50) < 0.5).astype(np.int64)}
    scores = {k: y + rng.normal(0, 1.0, len(y)) for k, y in labels.items()}
    precision, recall = pr_curve(scores, labels)
    ap = -np.sum(np.diff(recall) * precision[:-1])
    assert ap == pytest.approx(compute_metrics(scores, labels, None)["ap"], abs=1e-6)


class _Losses(L.LightningModule):
    """Validation losses in a set order: the checkpoint the lowest picks is known in advance."""

    LOSSES = [0.5, 0.3, 0.4, 0.2, 0.25]

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def training_step(self, batch, batch_idx):
        return (self.w - batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        self.log("val/con_loss", self.LOSSES[self.current_epoch], on_epoch=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_the_validation_chart_marks_the_tested_checkpoint(tmp_path):
    data = DataLoader(TensorDataset(torch.ones(4, 1)), batch_size=2)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val/con_loss", mode="min",
                                 filename="epoch{epoch}", auto_insert_metric_name=False)
    trainer = L.Trainer(max_epochs=5, logger=CSVLogger(tmp_path), callbacks=[checkpoint, DashboardLayout()],
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(_Losses(), data, data)
    rows = list(csv.DictReader(open(next(tmp_path.rglob("metrics.csv")))))
    val = {int(r["step"]): float(r["val/con_loss"]) for r in rows if r.get("val/con_loss")}
    best = {int(r["step"]): float(r[best_tag("val/con_loss")]) for r in rows if r.get(best_tag("val/con_loss"))}
    assert val.keys() == best.keys(), "the two lines share their steps"
    assert list(best.values()) == pytest.approx([0.5, 0.3, 0.3, 0.2, 0.2])
    touches = [step for step in val if val[step] == best[step]]
    assert sorted(val).index(touches[-1]) == 3 and checkpoint.best_model_path.endswith("epoch3.ckpt")
