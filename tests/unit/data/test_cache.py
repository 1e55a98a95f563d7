"""The frame cache decodes once, is reused, is keyed by the settings, and never keeps half a build."""

import numpy as np
import pytest

from vadlit.data.cache import load_split
from vadlit.data.source import VideoData, VideoRecord
from vadlit.errors import DataError
from tests.helpers.sources import ArraySource


def test_cache_is_built_once_and_reused(tmp_path):
    source = ArraySource()
    first = load_split(source, "test", tmp_path, (16, 12), 1)
    loads = source.loads
    again = load_split(source, "test", tmp_path, (16, 12), 1)
    assert source.loads == loads, "a second run must not decode again"
    assert again.path == first.path
    assert isinstance(again.videos[0].frames, np.memmap), "frames are memory-mapped"
    assert again.videos[0].frames.shape == (11, 16, 12, 1) and again.videos[0].frames.dtype == np.uint8


def test_cache_is_rebuilt_when_settings_change_or_asked(tmp_path):
    source = ArraySource()
    a = load_split(source, "train", tmp_path, 16, 1)
    b = load_split(source, "train", tmp_path, 16, 3)
    c = load_split(source, "train", tmp_path, 8, 1)
    assert len({a.path, b.path, c.path}) == 3
    loads = source.loads
    load_split(source, "train", tmp_path, 16, 1, rebuild=True)
    assert source.loads == loads + len(source.train_lengths)


def test_labels_kinds_and_masks_survive_the_cache(tmp_path):
    source = ArraySource()
    split = load_split(source, "test", tmp_path, (12, 10), 1)
    truth = source.videos("test")[0].load()
    video = split.videos[0]
    assert np.array_equal(video.labels, truth.labels) and video.kinds == truth.kinds
    assert video.masks[6].shape == (12, 10) and video.masks[6].any() and not video.masks[0].any()
    assert split.summary() == {"split": "test", "videos": 2, "frames": 18, "anomalous_frames": 6 + 4}


def test_grey_conversion_uses_luma(tmp_path):
    class Flat(ArraySource):
        def _video(self, split, i, n):
            frames = np.zeros((n, 4, 4, 3), np.uint8)
            frames[..., 0] = 200  # pure red
            return VideoData(frames)

    split = load_split(Flat(), "train", tmp_path, 4, 1)
    assert int(split.videos[0].frames[0, 0, 0, 0]) == round(0.299 * 200)


def test_a_failed_build_leaves_no_cache(tmp_path):
    class Broken(ArraySource):
        def videos(self, split):
            good = super().videos(split)
            return good[:1] + [VideoRecord("bad", lambda transform=None: VideoData(np.zeros((5, 4, 4), np.uint8), np.zeros(3)))]

    with pytest.raises(DataError, match="video 'bad': 3 frame labels for 5 frames"):
        load_split(Broken(), "test", tmp_path, 4, 1)
    assert list(tmp_path.iterdir()) == [], "a half-written cache must not remain"


def _dead_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_build_killed_half_way_is_reclaimed_by_the_next_one(tmp_path):
    from vadlit.data import cache

    source = ArraySource()
    load_split(source, "test", tmp_path, (16, 12), 1)
    (built,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    stale = tmp_path / f".{built.name}.build.{cache._HOST}.{_dead_pid()}.abcd"
    alive = tmp_path / f".{built.name}.build.{cache._HOST}.{__import__('os').getpid()}.efgh"
    other_host = tmp_path / f".{built.name}.build.elsewhere.1.ijkl"
    for folder in (stale, alive, other_host):
        folder.mkdir()
        (folder / "00000-frames.npy").write_bytes(b"half")
    load_split(source, "test", tmp_path, (16, 12), 1, rebuild=True)
    assert not stale.exists(), "the dead build's folder is removed"
    assert alive.exists() and other_host.exists(), "a live build, or one on another machine, is left alone"


def test_two_builds_of_one_cache_racing_to_the_final_rename_both_succeed(tmp_path, monkeypatch):
    import errno
    import os

    from vadlit.data import cache

    source = ArraySource()
    winner = load_split(source, "test", tmp_path / "theirs", (16, 12), 1)  # what the other process wrote
    (theirs,) = [p for p in (tmp_path / "theirs").iterdir() if not p.name.startswith(".")]
    real_replace = os.replace

    def lose_the_race(src, dst):
        real_replace(theirs, dst)  # the other build renames its folder into place first
        raise OSError(errno.ENOTEMPTY, "Directory not empty", str(dst))

    monkeypatch.setattr(cache.os, "replace", lose_the_race)
    split = load_split(source, "test", tmp_path / "mine", (16, 12), 1)
    assert [v.name for v in split.videos] == [v.name for v in winner.videos]
    assert not [p for p in (tmp_path / "mine").iterdir() if p.name.startswith(".")], "my temporary folder is gone"
