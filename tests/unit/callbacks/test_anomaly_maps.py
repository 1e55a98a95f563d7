"""The overlay figure shows anomalous frames of every kind, chosen from the ground truth alone."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from lightning.pytorch.loggers import CSVLogger

from vadlit.callbacks.anomaly_maps import AnomalyMapOverlays, anomalous_frames
from vadlit.callbacks.figures import log_figure
from vadlit.evaluation.test_result import TestResult


def _labels(n: int, *events: tuple[int, int]) -> np.ndarray:
    y = np.zeros(n, np.int64)
    for a, b in events:
        y[a:b] = 1
    return y


def test_one_middle_frame_per_event_taking_the_kinds_in_turn():
    labels = {"a": _labels(20, (2, 5), (10, 14)), "b": _labels(10, (6, 9))}
    kinds = {"a": ["normal"] * 20, "b": ["normal"] * 10}
    for t in range(2, 5):
        kinds["a"][t] = "running"
    for t in range(10, 14):
        kinds["a"][t] = "running"
    for t in range(6, 9):
        kinds["b"][t] = "object"
    picked = anomalous_frames(labels, kinds, ["a", "b"], max_frames=2)
    assert picked == [("b", 7, "object"), ("a", 3, "running")], "one of each kind before a second of any"
    assert anomalous_frames(labels, kinds, ["a", "b"], 10)[2] == ("a", 11, "running")
    assert anomalous_frames({"n": np.zeros(5, np.int64)}, None, ["n"], 4) == [], "normal videos give no rows"


def test_the_figure_has_a_labelled_row_per_anomalous_event(monkeypatch, tmp_path):
    frames = np.zeros((6, 8, 8, 1), np.uint8)
    masks = np.zeros((6, 8, 8), bool)
    masks[3:5, 2:4, 2:4] = True
    result = TestResult(scores={"v": np.arange(6.0)}, labels={"v": _labels(6, (3, 5))}, kinds=None, metrics={},
                        skipped_videos=[], maps={"v": np.zeros((6, 8, 8), np.float32)}, masks={"v": masks})
    logger = CSVLogger(tmp_path, name="", version="run")
    trainer = SimpleNamespace(global_step=0, is_global_zero=True, loggers=[logger], predict_dataloaders=SimpleNamespace(
        dataset=SimpleNamespace(videos=[SimpleNamespace(name="v", frames=frames)])))
    shown = {}
    monkeypatch.setattr("vadlit.callbacks.anomaly_maps.log_figure",
                        lambda trainer, tag, fig: shown.setdefault(tag, fig) and log_figure(trainer, tag, fig))
    AnomalyMapOverlays(max_frames=4).show(trainer, None, result)
    fig = shown["test/anomaly_maps"]
    assert (tmp_path / "run" / "figures" / "test" / "anomaly_maps" / "step0000000.png").is_file()
    rows = [ax.get_ylabel() for ax in fig.axes if " · " in ax.get_ylabel()]
    assert rows == ["v · frame 4\nanomaly · score 3.00"], "frames shown 1-based, as in scores.csv"
    AnomalyMapOverlays().show(trainer, None, TestResult({"v": np.zeros(6)}, {"v": _labels(6, (3, 5))}, None, {}, []))
    assert len(shown) == 1, "no maps (eval.localization=false): no figure"
