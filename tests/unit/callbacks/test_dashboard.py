"""The dashboard's custom layout names the tags the model logs, and the PR curve is the one AP summarises."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vadlit.callbacks.dashboard import layout
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
