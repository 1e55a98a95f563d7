"""The score is fitted on normal data only: the test set never shapes a test frame's score."""

from __future__ import annotations

import torch

from tests.helpers.runs import TINY, compose_run
from vadlit.evaluation.outputs import read_scores_csv
from vadlit.models.ocr_gan_video.checkpoint import read_checkpoint
from vadlit.tasks.train import run


def test_the_tested_checkpoint_carries_its_fitted_reference(smoke_run):
    metrics_ckpt = next((smoke_run / "checkpoints").glob("epoch*.ckpt"))
    state = read_checkpoint(metrics_ckpt)
    assert bool(state["state_dict"]["reference.fitted"])
    memory = state["state_dict"]["reference.memory"]
    assert memory.abs().sum() > 0, "the memory holds normal training features"
    stats = state["state_dict"]["reference.stats"]
    assert torch.isfinite(stats).all() and (stats[0, 1] > 0), "the error term varies over validation frames"
    assert state["vadlit"]["val_scores"] is not None and len(state["vadlit"]["val_scores"]) > 1


def test_a_frame_scores_the_same_whatever_the_other_test_videos_are(tmp_path, smoke_run):
    """No test statistic (normalisation, memory, threshold) enters the score: scoring a larger test
    set leaves the scores of the videos both sets share bit-identical."""
    ckpt = str(next((smoke_run / "checkpoints").glob("epoch*.ckpt")))
    scores = {}
    for n_test in (2, 3):
        cfg = compose_run(tmp_path / f"n{n_test}", TINY + ["logger=none", f"ckpt_path={ckpt}",
                                                          f"data.source.n_test={n_test}"], config="eval")
        run(cfg)
        scores[n_test], _, _ = read_scores_csv(tmp_path / f"n{n_test}" / "run" / "scores.csv")
    assert set(scores[2]) < set(scores[3])
    for name, values in scores[2].items():
        assert (values == scores[3][name]).all(), name
