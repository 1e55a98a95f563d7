"""Test scoring throughput: the model's test path (its predict step's `frame_scores`, which computes
only the terms the score takes, anomaly maps included where the clips have masks; in eval mode,
under inference mode and the run's precision) over real test clips from
`ClipDataModule.test_dataloader()`, with the test stride `vadlit-train` uses (1 for `predict`, so
every frame ends a clip), for every objective in `bench.objectives`.

Two rates: scored frames/s (clip frames that get a score: all T for `reconstruct`, the last one for
`predict`) and test-set frames/s (how fast a whole test pass goes: overlapping clips score a frame
more than once, and `predict` gives its first clip_len-1 frames the first prediction's score).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from lightning.fabric.utilities.apply_func import move_data_to_device

from vadlit.tasks.bench.timing import cycle, synchronize
from vadlit.data.clips import scored_stride


def _score(model, batch: dict[str, torch.Tensor]) -> None:
    if hasattr(model, "frame_scores"):  # the test step's own scoring (scores and maps)
        model.frame_scores(batch)
        return
    from vadlit.models.ocr_gan_video.lightning_model import to_unit_range

    x = to_unit_range(batch["clip"])
    model.net.score(x, model.net.generate(x), model.hparams.score_lambda)


def measure_scoring(model, datamodule, trainer, warmup_batches: int, batches: int) -> dict[str, Any]:
    device = trainer.strategy.root_device
    objective = str(model.hparams.objective)
    saved_stride = datamodule.test_stride
    datamodule.score_for(objective == "predict")  # the test clips vadlit-train scores
    try:
        datamodule.setup("test")
        loader = datamodule.test_dataloader()
    finally:
        datamodule.test_stride = saved_stride
    dataset = loader.dataset
    clip_len = int(datamodule.clip_len)
    targets = clip_len if objective == "reconstruct" else 1
    test_frames = sum(len(v) for v in datamodule.test_videos)

    model = model.to(device).eval()
    reference_s = None
    if hasattr(model, "fit_reference") and not model.reference.is_fitted:  # testing fits it once, first
        start = time.perf_counter()
        model.fit_reference(datamodule)
        synchronize(device)
        reference_s = time.perf_counter() - start
    clips = 0
    batches_iter = cycle(loader)
    with torch.inference_mode(), trainer.precision_plugin.test_step_context():
        for _ in range(warmup_batches):
            _score(model, move_data_to_device(next(batches_iter), device))
        synchronize(device)
        start = time.perf_counter()
        for _ in range(batches):
            batch = move_data_to_device(next(batches_iter), device)
            _score(model, batch)
            clips += int(batch["clip"].shape[0])
        synchronize(device)
        seconds = time.perf_counter() - start
    batches_iter.close()
    clips_per_s = clips / seconds
    return {
        "eval_batch_size": int(datamodule.eval_batch_size),
        "test_stride": scored_stride(int(datamodule.test_stride), objective == "predict"),
        "warmup_batches": warmup_batches,
        "batches": batches,
        "clips_per_s": clips_per_s,
        "scored_frames_per_s": clips_per_s * targets,
        # a whole test pass: len(dataset) clips give every one of test_frames frames its score
        "test_frames_per_s": clips_per_s * test_frames / max(1, len(dataset)),
        # once per test: the score's memory (training clips) and statistics (validation clips)
        "reference_fit_s": reference_s,
    }
