"""Clip windows cover every frame; the datamodule holds out normal videos for validation."""

import numpy as np
import pytest
import torch

from vadlit.data.clips import ClipDataset, Segment, window_starts
from vadlit.data.datamodule import ClipDataModule
from vadlit.errors import ConfigError


@pytest.mark.parametrize("length,clip_len,stride", [(10, 4, 2), (10, 4, 3), (8, 8, 1), (9, 4, 4), (100, 8, 4), (17, 16, 16)])
def test_windows_cover_every_frame_and_end_at_the_last(length, clip_len, stride):
    starts = window_starts(length, clip_len, stride)
    covered = np.zeros(length, dtype=int)
    for s in starts:
        assert 0 <= s <= length - clip_len
        covered[s : s + clip_len] += 1
    assert covered.min() >= 1, "a frame is in no clip"
    assert starts[-1] == length - clip_len, "the last window is aligned to the video's end"
    assert starts[: -1] == list(range(0, length - clip_len + 1, stride))[: len(starts) - 1]


def test_windows_exact_layout():
    assert window_starts(10, 4, 3) == [0, 3, 6]
    assert window_starts(11, 4, 3) == [0, 3, 6, 7]
    assert window_starts(3, 4, 1) == []


def _datamodule(source, tmp_path, **kw):
    args = dict(image_size=16, channels=1, clip_len=4, stride=2, batch_size=2, cache_dir=tmp_path / "cache")
    args.update(kw)
    dm = ClipDataModule(source, **args)
    dm.prepare_data()
    dm.setup()
    return dm


def test_test_batches_carry_video_and_frame_for_every_frame(array_source, tmp_path):
    dm = _datamodule(array_source, tmp_path, eval_stride=3)
    seen = {}
    for batch in dm.test_dataloader():
        assert batch["clip"].dtype == torch.uint8 and batch["clip"].shape[1:] == (4, 1, 16, 16)
        for v, frames, labels in zip(batch["video"], batch["frames"], batch["labels"]):
            video = dm.test_split.videos[int(v)]
            assert torch.equal(labels, torch.from_numpy(video.labels[frames.numpy()].astype(np.int64)))
            seen.setdefault(int(v), set()).update(frames.tolist())
    assert {k: len(s) for k, s in seen.items()} == {0: 11, 1: 7}


def test_val_holds_out_whole_normal_videos(array_source, tmp_path):
    dm = _datamodule(array_source, tmp_path, val_fraction=0.3)
    train_videos = {s.video for s in dm.train_segments}
    val_videos = {s.video for s in dm.val_segments}
    assert val_videos and train_videos and not (train_videos & val_videos)
    assert len(dm.val_dataloader().dataset) > 0 and len(dm.train_dataloader().dataset) > 0


def test_single_training_video_is_split_in_time(tmp_path):
    from tests.helpers.sources import ArraySource

    dm = _datamodule(ArraySource(train_lengths=(40,)), tmp_path, val_fraction=0.25)
    (train,), (val,) = dm.train_segments, dm.val_segments
    assert train.end == val.start == 30 and val.end == 40


def test_short_videos_are_skipped_with_a_warning(tmp_path, caplog):
    from tests.helpers.sources import ArraySource

    dm = _datamodule(ArraySource(test_lengths=(11, 3)), tmp_path)
    assert "test01" in caplog.text and "shorter than data.clip_len=4" in caplog.text
    assert [v.name for v in dm.test_videos] == ["test00"]
    assert {int(b) for batch in dm.test_dataloader() for b in batch["video"]} == {0}


def test_bad_datamodule_settings_name_the_key(array_source, tmp_path):
    with pytest.raises(ConfigError, match="data.clip_len=0"):
        ClipDataModule(array_source, clip_len=0, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="data.val_fraction=1.5"):
        ClipDataModule(array_source, val_fraction=1.5, cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="data.channels=2"):
        ClipDataModule(array_source, channels=2, cache_dir=tmp_path)


def test_clip_dataset_item_layout(array_source, tmp_path):
    dm = _datamodule(array_source, tmp_path)
    ds = ClipDataset(dm.train_split.videos, [Segment(0, 2, 10)], clip_len=4, stride=3)
    assert [start for _, start in ds.windows] == [2, 5, 6]
    item = ds[1]
    assert item["frames"].tolist() == [5, 6, 7, 8] and "labels" not in item
    assert torch.equal(item["clip"], torch.from_numpy(np.array(dm.train_split.videos[0].frames[5:9])).permute(0, 3, 1, 2))
