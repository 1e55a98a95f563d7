"""Playback: the self-supervised motion task replays normal training clips stopped or sped up."""

import pytest
import torch

from torch.utils.data import DataLoader

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video import lightning_model as module_file
from vadlit.models.ocr_gan_video.hparams import HParams
from vadlit.models.ocr_gan_video.lightning_model import PLAYBACK_REPLAYS, VideoAnomalyModule
from vadlit.models.ocr_gan_video.torch_model import OCRGANVideo
from vadlit.models.ocr_gan_video.playback import CLASSES, MIN_STOP, NOISE, PlaybackHead, fit_head, playback_clips, span

T = 8


def numbered_window(batch: int, length: int) -> torch.Tensor:
    """Windows whose frame j is filled with the value j / 10 (the frame index can be read back)."""
    return (torch.arange(length, dtype=torch.float32) / 10).view(1, length, 1, 1, 1).expand(batch, length, 1, 16, 16)


def frame_indices(clips: torch.Tensor) -> torch.Tensor:
    """Read back which window frame each slot shows (the added noise averages out over 256 pixels)."""
    return (clips.mean(dim=(2, 3, 4)) * 10).round().long()


def test_each_class_replays_the_window_as_it_says():
    length = span(T, [2, 3])
    assert length == 22
    clips, labels, weights = playback_clips(numbered_window(128, length), T, [2, 3], torch.Generator().manual_seed(0))
    assert clips.shape == (256, T, 1, 16, 16) and weights.shape == (256, 16, 16)
    assert (labels[:128] == 0).all() and set(labels[128:].tolist()) == {1, 2}  # a normal clip, then a replay
    idx = frame_indices(clips)
    steps = idx.diff(dim=1)
    for row, label in zip(steps, labels.tolist()):
        name = CLASSES[label]
        if name == "normal":
            assert (row == 1).all()
        elif name == "fast":
            assert row.unique().numel() == 1 and row[0].item() in (2, 3)
        else:  # plays, then holds a frame for at least MIN_STOP history slots
            assert (row[-MIN_STOP:] == 0).all() and set(row.tolist()) <= {0, 1}
    assert (idx[:, -1][labels != 1] == length - 1).all()  # the clip ends on the window's last frame


def test_the_loss_weights_mark_where_the_pair_differs():
    window = torch.zeros(4, 22, 1, 16, 16)
    window[:, :, :, 2:4, 2:4] = torch.arange(22.0).view(1, 22, 1, 1, 1) / 22  # only this patch changes
    _, _, weights = playback_clips(window, T, [2, 3], torch.Generator().manual_seed(3))
    assert (weights[:, 2:4, 2:4] > 0).all()
    weights[:, 2:4, 2:4] = 0
    assert (weights == 0).all()  # the still background carries no weight
    assert torch.equal(*weights.chunk(2))  # both clips of a pair share it


def test_replayed_frames_get_fresh_noise_so_a_held_frame_is_no_copy():
    clips, labels, _ = playback_clips(numbered_window(64, 22), T, [2, 3], torch.Generator().manual_seed(1))
    held = clips[labels == 1]
    assert not torch.equal(held[:, -1], held[:, -2])
    assert (clips - clips.mean(dim=(3, 4), keepdim=True)).std().item() == pytest.approx(NOISE, rel=0.05)


def test_short_windows_draw_no_fast_class():
    _, labels, _ = playback_clips(numbered_window(128, T), T, [2, 3], torch.Generator().manual_seed(2))
    assert set(labels.tolist()) == {0, 1}
    with pytest.raises(ValueError, match="too short"):
        playback_clips(numbered_window(2, MIN_STOP), MIN_STOP, [2])
    with pytest.raises(ValueError, match="shorter than a clip"):
        playback_clips(numbered_window(2, T - 1), T, [2])


@pytest.mark.parametrize("speeds", [[], [1], [2, "3"], "2", [True]])
def test_speeds_are_checked(speeds):
    with pytest.raises(ConfigError, match="model.playback_speeds"):
        HParams.from_config({"playback_speeds": speeds})


@pytest.mark.parametrize("heads", [0, 4])
def test_the_head_reads_features_that_see_other_frames_only_through_attention(heads):
    torch.manual_seed(0)
    hp = HParams(image_size=16, clip_len=4, heads=heads, objective="predict", base_channels=4, depth=2, nz=16,
                 d_base_channels=4)
    model = OCRGANVideo(**hp.network()).eval()
    x = torch.rand(1, 4, 1, 16, 16) * 2 - 1
    other = x.clone()
    other[:, :-1] = torch.rand(1, 3, 1, 16, 16) * 2 - 1  # other history frames
    with torch.no_grad():
        f = model.target_features(x, 1)
        assert torch.equal(f, model.targets(model.generate(x).features[1]))  # the encoder alone gives the same
        same = torch.equal(f, model.target_features(other, 1))
    assert same == (heads == 0)


def test_fit_head_learns_where_the_weights_point():
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(3, (96,), generator=g)
    features = torch.randn(96, 8, 6, 6, generator=g) * 0.1
    features[:, 0, 2:4, 2:4] += labels.view(-1, 1, 1).float()  # the class shows only in a 2x2 patch
    weights = torch.zeros(96, 6, 6)
    weights[:, 2:4, 2:4] = 1.0
    head = PlaybackHead(8, width=8)
    losses = fit_head(head, features, labels, weights, steps=150, generator=g, lr=1e-2)
    assert losses[-1] < 0.3 < 1.0 < losses[0]
    with torch.no_grad():
        predicted = head(features)[:, :, 2:4, 2:4].argmax(1)
    assert (predicted == labels.view(-1, 1, 1)).float().mean() > 0.95


class _Windows:
    """The one datamodule method the playback fit uses: ``windows`` training windows of any length."""

    def __init__(self, windows: int) -> None:
        self.windows = windows

    def train_windows(self, length: int) -> DataLoader:
        g = torch.Generator().manual_seed(0)
        clips = torch.randint(0, 256, (self.windows, length, 1, 16, 16), generator=g, dtype=torch.uint8)
        return DataLoader([{"clip": c} for c in clips], batch_size=4)


@pytest.mark.parametrize("objective, slots", [("reconstruct", 4), ("predict", 1)])
def test_the_head_is_fitted_on_every_slot_the_score_reads(objective, slots, monkeypatch):
    model = VideoAnomalyModule(image_size=16, clip_len=4, heads=2, objective=objective, base_channels=4, depth=2,
                               nz=16, d_base_channels=4, memory_size=0, playback_steps=2)
    seen = {}

    def fit(features, labels, weights, generator):
        seen.update(features=features, labels=labels, weights=weights)
        return [1.0, 1.0]

    monkeypatch.setattr(model.reference, "fit_playback", fit)
    model._fit_playback(_Windows(6), torch.Generator().manual_seed(0))
    clips = 2 * PLAYBACK_REPLAYS * 6  # a normal and a replayed clip per draw
    assert len(seen["features"]) == len(seen["labels"]) == len(seen["weights"]) == clips * slots
    assert seen["features"].shape[1:] == (2 * 8, 4, 4) and seen["features"].dtype == torch.float16
    # every slot of a clip carries its clip's label: normal first, then the replay, per draw
    assert (seen["labels"].view(-1, slots) == seen["labels"].view(-1, slots)[:, :1]).all()
    # a bounded cache: fewer slots per clip, never fewer than one
    monkeypatch.setattr(module_file, "PLAYBACK_MAPS", clips * 2)
    model._fit_playback(_Windows(6), torch.Generator().manual_seed(0))
    assert len(seen["features"]) == clips * min(slots, 2)
    monkeypatch.setattr(module_file, "PLAYBACK_MAPS", 1)
    model._fit_playback(_Windows(6), torch.Generator().manual_seed(0))
    assert len(seen["features"]) == clips
