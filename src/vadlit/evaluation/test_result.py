"""`TestResult`: what a test returns — one score per test frame, the truth that came with the clips,
and the metrics computed from both.

It is built from the scored batches the predict loop returns (`ClipScores`), so the scores and the
labels they are judged against travel together, and handed to whoever writes or shows it: nothing
is left on the model for others to find.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vadlit.evaluation.frame_scores import ClipScores, FrameScores
from vadlit.evaluation.localization import localization_metrics
from vadlit.evaluation.metrics import compute_metrics
from vadlit.evaluation.postprocess import ScoreOptions, apply_options


@dataclass
class TestResult:
    """Frame scores of the test videos (after the chosen options) with their ground truth."""

    scores: dict[str, np.ndarray]
    labels: dict[str, np.ndarray] | None
    kinds: dict[str, list[str]] | None
    metrics: dict[str, Any] | None
    skipped_videos: list[str]
    # (N, H, W) float32 anomaly map per frame of every scored video (score units), when the model made
    # them (eval.localization), and the bool pixel masks of the videos that have masks
    maps: dict[str, np.ndarray] | None = None
    masks: dict[str, np.ndarray] | None = None


def test_result(batches: Iterable[ClipScores], dataset, last_only: bool, options: ScoreOptions,
                localize: bool = False) -> TestResult:
    """The result of scoring every clip of ``dataset`` (a `ClipDataset` over the test videos); with
    ``localize``, the localisation block says so when no test video has pixel masks."""
    frame_scores = FrameScores.over(dataset)
    for clips in batches:
        frame_scores.add(clips, last_only)
    raw = frame_scores.compute()
    skipped = [name for name, s in raw.items() if len(s) == 0]
    scores = apply_options({name: s for name, s in raw.items() if len(s)}, options)
    maps, masks = frame_scores.maps() or (None, None)
    truth = frame_scores.truth()
    if truth is None:
        return TestResult(scores, None, None, None, skipped, maps, masks)
    labels, kinds = truth
    metrics = compute_metrics(scores, labels, kinds)
    if maps is not None or localize:  # where the anomaly is: the maps against the masks of the videos with them
        metrics["localization"] = localization_metrics(maps or {}, masks or {}, n_videos=len(scores), kinds=kinds)
    return TestResult(scores, labels, kinds, metrics, skipped, maps, masks)


# not a pytest test, whatever its name says
test_result.__test__ = False  # type: ignore[attr-defined]
TestResult.__test__ = False  # type: ignore[attr-defined]
