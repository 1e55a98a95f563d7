"""`vadlit-score`: new footage scored with a checkpoint's own preprocessing; bad input gets one clear line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers.runs import cli, compose_run
from tests.helpers.trees.video import write_avi
from vadlit.errors import ConfigError, DataError


def footage(n: int = 21, seed: int = 0) -> np.ndarray:
    """A small RGB clip of another size than the model's (40x60 vs 32x32 grey): preprocessing must adapt."""
    rng = np.random.default_rng(seed)
    frames = np.full((n, 40, 60, 3), 90, dtype=np.uint8)
    for i in range(n):  # a bright square walking across a noisy background
        frames[i, 10:22, 2 * i : 2 * i + 12] = 230
    return frames + rng.integers(0, 20, frames.shape, dtype=np.uint8)


def score_cfg(tmp_path: Path, ckpt: Path, source: Path, *overrides: str):
    cfg = compose_run(tmp_path, [f"ckpt_path={ckpt}", f"input={source}", *overrides], config="score")
    return cfg


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_scores_every_frame_of_a_small_avi(tmp_path, smoke_run):
    video = write_avi(tmp_path / "street.avi", footage())
    out = tmp_path / "scored"
    proc = cli("vadlit-score", [f"ckpt_path={smoke_run / 'checkpoints' / 'last.ckpt'}", f"input={video}",
                                f"hydra.run.dir={out}", "threshold_quantile=0.5"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_rows(out / "scores.csv")
    assert [int(r["frame"]) for r in rows] == list(range(1, 22)), "one score per frame, 1-based"
    scores = np.array([float(r["score"]) for r in rows])
    assert np.isfinite(scores).all() and scores.std() > 0
    record = json.loads((out / "score.json").read_text())
    assert record["preprocessing"]["image_size"] == [32, 32] and record["preprocessing"]["channels"] == 1
    assert record["frames"] == 21 and (out / "scores.png").stat().st_size > 5_000

    # the threshold is the quantile of the validation scores stored in the checkpoint, not of this footage
    from vadlit.models.ocr_gan_video.checkpoint import read_checkpoint, val_scores

    val = val_scores(read_checkpoint(smoke_run / "checkpoints" / "last.ckpt"))
    assert val is not None and len(val) > 0
    assert record["threshold"]["value"] == pytest.approx(float(np.quantile(val, 0.5)))
    above = [int(r["above_threshold"]) for r in rows]
    assert above == [int(s > record["threshold"]["value"]) for s in scores]
    assert record["threshold"]["frames_above"] == sum(above)


def test_a_folder_of_frames_scores_like_the_same_video(tmp_path, smoke_run):
    from vadlit.tasks.score import score

    frames = footage(14, seed=1)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i:03d}.png")
    video = write_avi(tmp_path / "same.avi", frames)  # lossless: decodes to the very same pixels
    ckpt = smoke_run / "checkpoints" / "last.ckpt"
    a = score(score_cfg(tmp_path / "a", ckpt, folder))
    b = score(score_cfg(tmp_path / "b", ckpt, video))
    rows_a = read_rows(tmp_path / "a" / "run" / "scores.csv")
    rows_b = read_rows(tmp_path / "b" / "run" / "scores.csv")
    assert a["frames"] == b["frames"] == 14
    assert [r["score"] for r in rows_a] == [r["score"] for r in rows_b]


class _Payload:
    """Unpickling this would create a file: a checkpoint must never be able to run code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_bad_checkpoints_are_refused_with_a_clear_message(tmp_path, smoke_run):
    from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule

    good = torch.load(smoke_run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    marker = tmp_path / "pwned"
    cases = {
        "unsafe.ckpt": ({**good, "extra": _Payload(marker)}, "refusing to load"),
        "other_model.ckpt": ({"state_dict": {"w": torch.zeros(1)}, "hyper_parameters": {"lr": 1}},
                             "not an OCR-GAN Video checkpoint"),
        "other_record.ckpt": ({**good, "vadlit": {**good["vadlit"], "model": "MNAD"}}, "model 'MNAD'"),
        "newer.ckpt": ({**good, "vadlit": {**good["vadlit"], "format": 99}}, "format 99"),
        "other_weights.ckpt": ({**good, "state_dict": {k: v for k, v in list(good["state_dict"].items())[:-3]}},
                               "do not fit"),
    }
    for name, (state, expected) in cases.items():
        torch.save(state, tmp_path / name)
        with pytest.raises(ConfigError, match=expected) as info:
            VideoAnomalyModule.from_checkpoint(tmp_path / name)
        assert name in str(info.value)
    assert not marker.exists(), "loading a checkpoint ran pickled code"

    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes((smoke_run / "checkpoints" / "last.ckpt").read_bytes()[:5000])
    with pytest.raises(ConfigError, match="not a torch checkpoint.*truncated"):
        VideoAnomalyModule.from_checkpoint(truncated)


def test_bad_footage_and_thresholds_are_clear_errors(tmp_path, smoke_run):
    from vadlit.tasks.score import score

    ckpt = smoke_run / "checkpoints" / "last.ckpt"
    broken = tmp_path / "broken.avi"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00AVI garbage" * 10)
    short = write_avi(tmp_path / "short.avi", footage(3))  # the checkpoint's clips are 4 frames
    video = write_avi(tmp_path / "ok.avi", footage(8))
    cases = [
        ((broken,), DataError, "broken.avi.*(no video stream|cannot decode)"),
        ((short,), DataError, "3 frames: shorter than one clip of 4"),
        ((tmp_path / "nowhere.avi",), DataError, "does not exist"),
        ((tmp_path / "ok.avi", "threshold=0.1", "threshold_quantile=0.9"), ConfigError, "not both"),
        ((tmp_path / "ok.avi", "threshold_quantile=1.5"), ConfigError, "strictly between 0 and 1"),
    ]
    for i, ((source, *overrides), error, expected) in enumerate(cases):
        with pytest.raises(error, match=expected):
            score(score_cfg(tmp_path / str(i), ckpt, source, *overrides))
    assert video.is_file()

    proc = cli("vadlit-score", [f"ckpt_path={ckpt}", f"input={short}", f"hydra.run.dir={tmp_path / 'cli'}"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "short.avi" in proc.stderr and "shorter than one clip" in proc.stderr


@pytest.mark.slow  # a prepare and a score run: make test-all
def test_exported_footage_scores_with_its_labels_beside_it(tmp_path, smoke_run):
    """`make footage` then `make score`, as the README says: the exported .mp4 scores frame by frame."""
    from tests.helpers.runs import TINY_DATA

    folder = tmp_path / "footage"
    proc = cli("vadlit-prepare", TINY_DATA + [f"export={folder}", "export_videos=1", f"hydra.run.dir={tmp_path / 'p'}",
                                            f"paths.cache_dir={tmp_path / 'cache'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    video, labels = folder / "test_001.mp4", folder / "test_001.labels.csv"
    assert f"wrote {video}" in proc.stdout.replace("\n", "") and labels.is_file()
    truth = read_rows(labels)
    out = tmp_path / "scored"
    proc = cli("vadlit-score", [f"ckpt_path={smoke_run / 'checkpoints' / 'last.ckpt'}", f"input={video}",
                                f"hydra.run.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_rows(out / "scores.csv")
    assert len(rows) == len(truth) == 48 and {r["label"] for r in truth} == {"0", "1"}
