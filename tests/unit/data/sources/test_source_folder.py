"""The `folder` source reads a user's own footage: frame folders or video files, optional labels and masks."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from vadlit.data.cache import load_split
from vadlit.data.source import NORMAL
from vadlit.data.sources.folder import FORMAT_VERSION, FolderSource
from vadlit.data.sources.labels import read_labels
from vadlit.errors import ConfigError, DataError
from tests.helpers.trees.folder import (mask_for, video_frames, video_labels, write_folder_tree, write_frame_folder,
                                write_labels, write_video_file)

SIZE = (20, 28)


def _names(source, split):
    return [r.name for r in source.videos(split)]


def _raises(match: str, call, *args, kind=DataError, **kwargs):
    with pytest.raises(kind, match=re.escape(match)) as info:
        call(*args, **kwargs)
    return str(info.value)


# -- layouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["frames", "video", "mixed"])
def test_tree_reads_back_frames_labels_and_kinds_exactly(tmp_path, kind):
    expected = write_folder_tree(tmp_path, n_train=2, n_test=3, frames=[12, 10, 12, 9, 11], kind=kind)
    source = FolderSource(str(tmp_path))
    assert source.name == "folder"
    assert _names(source, "train") == ["train01", "train02"]
    assert _names(source, "test") == ["test01", "test02", "test03"]
    assert list(expected) == ["test01", "test02", "test03"]

    for i, record in enumerate(source.videos("train")):
        data = record.load()
        assert data.frames.dtype == np.uint8 and data.frames.shape == (12 if i == 0 else 10, *SIZE, 3)
        assert np.array_equal(data.frames, video_frames("train", i, len(data.frames), SIZE))
        assert data.labels is None and data.kinds is None and data.masks is None

    for i, record in enumerate(source.videos("test")):
        data = record.load()
        truth = expected[record.name]
        assert np.array_equal(data.frames, video_frames("test", i, len(truth), SIZE, labels=truth))
        assert data.labels.dtype == np.uint8 and np.array_equal(data.labels, truth)
        assert data.kinds == ["anomaly" if v else NORMAL for v in truth]
        assert 0 < truth.sum() < len(truth)
        is_video = kind == "video" or (kind == "mixed" and i % 2 == 1)
        assert record.path == str(tmp_path / "test" / (f"{record.name}.avi" if is_video else record.name))


def test_videos_and_frames_come_in_natural_order_and_junk_is_skipped(tmp_path):
    frames = video_frames("train", 0, 12, SIZE)
    for name in ("v10", "v2", "V1"):
        folder = tmp_path / "train" / name
        folder.mkdir(parents=True)
        for t in range(12):  # unpadded names: natural order must put 2.png before 10.png
            write_frame_folder(folder, frames[t : t + 1], start=t + 1)
            (folder / f"{t + 1:06d}.png").rename(folder / f"{t + 1}.png")
        (folder / "._1.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
        (folder / "Thumbs.db").write_bytes(b"junk")
        (folder / "notes.md").write_text("not a frame")
    (tmp_path / "train" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "train" / "__MACOSX" / "v2").mkdir(parents=True)
    (tmp_path / "train" / ".hidden").mkdir()
    (tmp_path / "train" / "README.txt").write_text("my footage")
    (tmp_path / "train" / "V1.npy").write_bytes(b"not even an array")  # train labels are never read
    source = FolderSource(tmp_path)
    assert _names(source, "train") == ["V1", "v2", "v10"]
    data = source.videos("train")[1].load()
    assert np.array_equal(data.frames, frames) and data.labels is None


def test_split_folder_names_are_options(tmp_path):
    write_frame_folder(tmp_path / "normal" / "a", video_frames("train", 0, 9, SIZE))
    write_video_file(tmp_path / "eval" / "b.mkv", video_frames("test", 0, 9, SIZE))
    source = FolderSource(str(tmp_path), train_dir="normal", test_dir="eval")
    assert _names(source, "train") == ["a"] and _names(source, "test") == ["b"]
    assert source.videos("test")[0].load().frames.shape == (9, *SIZE, 3)


# -- labels ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["npy", "txt", "csv", "csv_header", "csv_frames"])
def test_each_label_format_equals_the_file_frame_by_frame(tmp_path, fmt):
    expected = write_folder_tree(tmp_path, n_train=1, n_test=2, frames=11, kind="frames", labels=fmt)
    for record in FolderSource(tmp_path).videos("test"):
        assert np.array_equal(record.load().labels, expected[record.name])


@pytest.mark.parametrize("text, values", [
    ("0 0 1\n1 0\n", [0, 0, 1, 1, 0]),
    ("0,0,1,1,0", [0, 0, 1, 1, 0]),
    ("0\t1.0\r\n\n1\n", [0, 1, 1]),
])
def test_txt_labels_accept_any_whitespace_or_commas(tmp_path, text, values):
    (tmp_path / "v.txt").write_text(text)
    assert read_labels(tmp_path / "v.txt").tolist() == values


@pytest.mark.parametrize("text, values", [
    ("1\n0\n1\n", [1, 0, 1]),
    ("label\n1\n0\n\n1\n", [1, 0, 1]),
    ("frame,label\n3,1\n1,0\n2,1\n", [0, 1, 1]),  # rows in any order, frames counted from 1
    ("label, frame\n1, 2\n0, 1\n", [0, 1]),  # a header may name the columns the other way round
    ("1,0\n2,0\n3,1\n", [0, 0, 1]),  # two columns without a header: frame,label
    ("\ufefflabel\n0\n1\n", [0, 1]),  # Excel's byte-order mark
])
def test_csv_labels(tmp_path, text, values):
    (tmp_path / "v.csv").write_text(text, encoding="utf-8")
    assert read_labels(tmp_path / "v.csv").tolist() == values


@pytest.mark.parametrize("array", [np.array([True, False, True]), np.array([1.0, 0.0, 1.0]),
                                   np.array([[1], [0], [1]], dtype=np.int64)])
def test_npy_labels_accept_bool_float_and_column_arrays(tmp_path, array):
    np.save(tmp_path / "v.npy", array)
    labels = read_labels(tmp_path / "v.npy")
    assert labels.dtype == np.uint8 and labels.tolist() == [1, 0, 1]


def test_without_label_files_test_labels_are_none(tmp_path):
    assert write_folder_tree(tmp_path, n_train=1, n_test=2, frames=9, kind="mixed", labels=None) == {}
    for record in FolderSource(tmp_path).videos("test"):
        data = record.load()
        assert data.labels is None and data.kinds is None and data.masks is None


def test_labels_dir_relative_and_absolute(tmp_path):
    expected = write_folder_tree(tmp_path / "data", n_train=1, n_test=2, frames=9, labels="txt", labels_dir="gt",
                                 masks=True)
    for labels_dir in ("gt", str(tmp_path / "data" / "gt")):
        source = FolderSource(tmp_path / "data", labels_dir=labels_dir)
        for record in source.videos("test"):
            data = record.load()
            assert np.array_equal(data.labels, expected[record.name])
            assert np.array_equal(data.masks, mask_for(expected[record.name], SIZE))
    (tmp_path / "data" / "gt" / "test02.txt").unlink()
    (tmp_path / "data" / "gt" / "test02_mask.npy").unlink()
    partial = _raises("1 of 2 test videos have no frame labels: test02",
                      FolderSource(tmp_path / "data", labels_dir="gt").videos, "test")
    assert "gt/" in partial


def test_masks_are_read_and_survive_the_cache(tmp_path):
    expected = write_folder_tree(tmp_path / "data", n_train=1, n_test=2, frames=10, kind="mixed", masks=True)
    source = FolderSource(tmp_path / "data")
    for record in source.videos("test"):
        data = record.load()
        assert data.masks.shape == (10, *SIZE)
        assert np.array_equal(np.asarray(data.masks) != 0, mask_for(expected[record.name], SIZE))
    cached = load_split(source, "test", tmp_path / "cache", (10, 14), 1, workers=2)
    assert cached.has_labels and [v.name for v in cached.videos] == ["test01", "test02"]
    video = cached.videos[0]
    assert video.frames.shape == (10, 10, 14, 1) and video.masks[0].shape == (10, 14)
    assert np.array_equal(video.labels, expected["test01"])
    assert all(video.masks[t].any() == bool(expected["test01"][t]) for t in range(10))


# -- transform, cache key ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["frames", "video"])
def test_transform_is_applied_chunk_by_chunk_while_decoding(tmp_path, kind):
    write_folder_tree(tmp_path, n_train=1, n_test=1, frames=70, kind=kind, masks=True)  # 70 > one 64-frame chunk
    seen = []

    def halve(chunk):
        seen.append(chunk.shape)
        return np.ascontiguousarray(chunk[:, ::2, ::2, :1])

    for split in ("train", "test"):
        data = FolderSource(tmp_path).videos(split)[0].load(transform=halve)
        assert data.frames.shape == (70, 10, 14, 1)
    assert seen[:2] == [(64, *SIZE, 3), (6, *SIZE, 3)]
    assert data.masks.shape == (70, *SIZE), "masks stay at the video's own size; the cache resizes them"


def test_cache_key_follows_the_files(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=2, frames=8, kind="mixed", masks=True)
    source = FolderSource(str(tmp_path))
    key = source.cache_key()
    json.dumps(key)
    assert key["format"] == FORMAT_VERSION and key["root"] == str(tmp_path.resolve())
    assert source.cache_key() == key, "the key is stable while nothing changes"
    assert FolderSource(tmp_path, labels_dir=None, test_dir="test").cache_key() == key

    def changed(path, edit):
        nonlocal key
        edit()
        if path.exists():  # a later edit: file times can be coarser than this test is fast
            stat = path.stat()
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        new = source.cache_key()
        assert new != key, f"editing {path.name} must change the key"
        key = new

    frame = tmp_path / "train" / "train01" / "000003.png"
    test02, labels, mask = (tmp_path / "test" / n for n in ("test02.avi", "test01.npy", "test02_mask.npy"))
    changed(frame, lambda: write_frame_folder(frame.parent, video_frames("test", 1, 1, SIZE), start=3))
    changed(test02, lambda: write_video_file(test02, video_frames("test", 5, 8, SIZE)))
    changed(labels, lambda: write_labels(labels.parent, "test01", 1 - video_labels(0, 8), "npy"))
    changed(mask, lambda: np.save(mask, np.ones((8, *SIZE), bool)))
    changed(tmp_path / "train" / "train02", lambda: write_frame_folder(tmp_path / "train" / "train02",
                                                                       video_frames("train", 2, 8, SIZE)))
    changed(frame, frame.unlink)
    (tmp_path / "test" / "notes.md").write_text("ignored")
    assert source.cache_key() == key, "files that are not read do not change the key"


def test_cache_key_of_a_tree_without_test_folder(tmp_path):
    write_frame_folder(tmp_path / "train" / "a", video_frames("train", 0, 8, SIZE))
    source = FolderSource(tmp_path)
    assert source.cache_key()["files"]
    assert _names(source, "train") == ["a"]
    _raises(f"'{tmp_path / 'test'}' does not exist; expected the test videos there", source.videos, "test")


def test_load_split_builds_a_cache_from_a_folder(tmp_path):
    expected = write_folder_tree(tmp_path / "data", n_train=2, n_test=2, frames=9, kind="mixed", labels="csv_frames")
    source = FolderSource(tmp_path / "data")
    train = load_split(source, "train", tmp_path / "cache", 16, 3, workers=2)
    test = load_split(source, "test", tmp_path / "cache", 16, 3, workers=2)
    assert [v.frames.shape for v in train.videos] == [(9, 16, 16, 3)] * 2 and not train.has_labels
    assert test.has_labels and np.array_equal(test.videos[1].labels, expected["test02"])
    assert test.videos[1].kinds[int(np.argmax(expected["test02"]))] == "anomaly"


# -- bad input -------------------------------------------------------------------------------------


def test_missing_root_and_split_folders(tmp_path):
    missing = tmp_path / "nowhere"
    for call in (FolderSource(str(missing)).cache_key, lambda: FolderSource(str(missing)).videos("train")):
        _raises(f"data.root='{missing}' does not exist; expected a folder holding train/ and test/", call)
    (tmp_path / "file").write_text("x")
    _raises(f"data.root='{tmp_path / 'file'}' is not a folder", FolderSource(tmp_path / "file").videos, "train")
    (tmp_path / "data").mkdir()
    message = _raises(f"'{tmp_path / 'data' / 'train'}' does not exist", FolderSource(tmp_path / "data").videos,
                      "train")
    assert "train/<video>/000001.jpg or train/<video>.mp4" in message and "data.source.train_dir" in message


def test_empty_split_shows_the_layout(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "notes.txt").write_text("x")
    _raises(f"no videos in '{tmp_path / 'train'}'; expected train/<video>/000001.jpg or train/<video>.mp4",
            FolderSource(tmp_path).videos, "train")


def test_frames_directly_in_the_split_folder(tmp_path):
    write_frame_folder(tmp_path / "train", video_frames("train", 0, 3, SIZE))
    _raises("holds frame images directly (e.g. '000001.png') but no videos; expected one folder of frames per video",
            FolderSource(tmp_path).videos, "train")


def test_frame_folder_without_frames_and_nested_folders(tmp_path):
    (tmp_path / "train" / "empty").mkdir(parents=True)
    (tmp_path / "train" / "empty" / "info.json").write_text("{}")
    _raises(f"frame folder '{tmp_path / 'train' / 'empty'}' holds no image files", FolderSource(tmp_path).videos,
            "train")
    (tmp_path / "train" / "empty").rename(tmp_path / "train" / "cam1")
    write_frame_folder(tmp_path / "train" / "cam1" / "day1", video_frames("train", 0, 3, SIZE))
    message = _raises(f"'{tmp_path / 'train' / 'cam1'}' holds folders but no frames", FolderSource(tmp_path).videos,
                      "train")
    assert "nested folders" in message and "train/<video>/000001.jpg" in message
    (tmp_path / "train" / "cam1" / "day1").rename(tmp_path / "day1")
    write_video_file(tmp_path / "train" / "cam1" / "a.avi", video_frames("train", 0, 3, SIZE))
    _raises("holds video files but no frames; expected video files directly inside train/",
            FolderSource(tmp_path).videos, "train")


def test_two_videos_with_one_name(tmp_path):
    write_frame_folder(tmp_path / "train" / "a", video_frames("train", 0, 3, SIZE))
    write_video_file(tmp_path / "train" / "a.avi", video_frames("train", 0, 3, SIZE))
    _raises("two videos named 'a'", FolderSource(tmp_path).videos, "train")


def test_corrupt_frame_and_video_name_the_file(tmp_path):
    write_folder_tree(tmp_path, n_train=2, n_test=1, frames=6, kind="mixed", labels=None)
    bad_frame = tmp_path / "train" / "train01" / "000004.png"
    bad_frame.write_bytes(b"not a png")
    bad_video = tmp_path / "train" / "train02.avi"
    bad_video.write_bytes(b"RIFF garbage that is no video")
    records = FolderSource(tmp_path).videos("train")
    _raises(f"'{bad_frame}'", records[0].load)
    _raises(f"'{bad_video}'", records[1].load)


def test_labels_for_only_some_test_videos(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=4, frames=6)
    for name in ("test02", "test04"):
        (tmp_path / "test" / f"{name}.npy").unlink()
    (tmp_path / "test" / "tset02.npy").write_bytes(b"x")
    message = _raises("2 of 4 test videos have no frame labels: test02, test04; expected a label file for every "
                      "test video", FolderSource(tmp_path).videos, "test")
    assert "tset02.npy" in message, "label files matching no video are named as a hint"


@pytest.mark.parametrize("kind", ["frames", "video"])
def test_label_length_must_equal_the_frame_count(tmp_path, kind):
    write_folder_tree(tmp_path, n_train=1, n_test=1, frames=8, kind=kind)
    write_labels(tmp_path / "test", "test01", np.zeros(7, np.uint8), "npy")
    where = tmp_path / "test" / ("test01.avi" if kind == "video" else "test01")
    # a frame folder's length is known when listing; a video file's only after decoding
    if kind == "frames":
        call = FolderSource(tmp_path).videos
    else:
        call = lambda split: FolderSource(tmp_path).videos(split)[0].load()  # noqa: E731
    _raises(f"labels '{tmp_path / 'test' / 'test01.npy'}' have 7 values but video '{where}' has 8 frames", call, "test")


@pytest.mark.parametrize("name, content, match", [
    ("v.npy", np.array([0, 1, 2]), "hold values other than 0 and 1 (e.g. 2)"),
    ("v.npy", np.array([0, 255]), "hold values other than 0 and 1 (e.g. 255)"),
    ("v.npy", np.zeros((3, 4)), "have shape (3, 4); expected a 1-D array"),
    ("v.npy", np.array(["0", "1"]), "expected numbers 0 and 1"),
    ("v.npy", np.array([0.5, 1.0]), "(e.g. 0.5)"),
    ("v.npy", b"garbage", "cannot read labels"),
    ("v.txt", "0 1 x 1", "line 1: 'x' is not a number"),
    ("v.txt", "0 1\n2", "hold values other than 0 and 1 (e.g. 2)"),
    ("v.txt", "\n\n", "are empty"),
    ("v.csv", "a,b,c\n1,2,0\n", "have 3 columns; expected one column"),
    ("v.csv", "frame,label\n0,1\n1,0\n", "frame 0 is outside 1..2 (frames count from 1)"),
    ("v.csv", "frame,label\n1,1\n1,0\n", "frame 1 appears 2 times"),
    ("v.csv", "frame,label\n1,1\n2\n", "row 3: 1 columns where the file has 2"),
    ("v.csv", "label\n1\nyes\n", "row 3: 'yes' is not a number"),
    ("v.csv", "label\n", "are empty"),
])
def test_bad_label_files_name_the_file(tmp_path, name, content, match):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    _raises(f"labels '{path}'" if "cannot read" not in match else f"'{path}'", read_labels, path)
    _raises(match, read_labels, path)


def test_bad_labels_are_reported_when_listing(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=2, frames=6, kind="video", labels="txt")
    (tmp_path / "test" / "test02.txt").write_text("0 0 3 0 0 0")
    _raises(f"labels '{tmp_path / 'test' / 'test02.txt'}' hold values other than 0 and 1",
            FolderSource(tmp_path).videos, "test")


def test_two_label_files_for_one_video(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=1, frames=6, labels="npy")
    write_labels(tmp_path / "test", "test01", video_labels(0, 6), "txt")
    npy, txt = tmp_path / "test" / "test01.npy", tmp_path / "test" / "test01.txt"
    message = _raises("test video 'test01' has 2 label files", FolderSource(tmp_path).videos, "test")
    assert str(npy) in message and str(txt) in message
    txt.unlink()
    write_labels(tmp_path / "gt", "test01", video_labels(0, 6), "csv")
    message = _raises("test video 'test01' has 2 label files", FolderSource(tmp_path, labels_dir="gt").videos, "test")
    assert str(npy) in message and str(tmp_path / "gt" / "test01.csv") in message


def test_bad_masks(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=1, frames=6, kind="mixed", labels=None)
    mask = tmp_path / "test" / "test01_mask.npy"
    np.save(mask, np.zeros((6, *SIZE), bool))
    _raises(f"mask '{mask}' has no frame labels beside it", FolderSource(tmp_path).videos, "test")
    write_labels(tmp_path / "test", "test01", video_labels(0, 6), "npy")
    np.save(mask, np.zeros((5, *SIZE), bool))
    _raises(f"mask '{mask}' has 5 frames but the video's labels have 6", FolderSource(tmp_path).videos, "test")
    np.save(mask, np.zeros((6, 10, 14), bool))
    record = FolderSource(tmp_path).videos("test")[0]
    _raises(f"mask '{mask}' has shape (6, 10, 14) but video '{tmp_path / 'test' / 'test01'}' has 6 frames of 20x28 "
            "pixels", record.load)
    np.save(mask, np.zeros((6, 20)))
    _raises("expected a (frames, height, width) numeric array", FolderSource(tmp_path).videos, "test")


def test_labels_dir_problems(tmp_path):
    write_folder_tree(tmp_path, n_train=1, n_test=2, frames=6, labels=None)
    _raises(f"data.source.labels_dir='gt': '{tmp_path / 'gt'}' does not exist", FolderSource(tmp_path, labels_dir="gt").videos,
            "test")
    write_labels(tmp_path / "gt", "Test01", video_labels(0, 6), "npy")
    message = _raises("data.source.labels_dir='gt' is set but no test video has a label file",
                      FolderSource(tmp_path, labels_dir="gt").videos, "test")
    assert "Test01.npy" in message and "test01, test02" in message


def test_bad_options(tmp_path):
    _raises("data.root=''", FolderSource, "", kind=ConfigError)
    _raises("data.root=None", FolderSource, None, kind=ConfigError)
    _raises("data.source.labels_dir=''", FolderSource, str(tmp_path), labels_dir="", kind=ConfigError)
    _raises("unknown split 'val'", FolderSource(tmp_path).videos, "val", kind=ConfigError)


def test_a_greyscale_frame_among_colour_ones_is_the_same_picture_and_a_smaller_one_is_named(tmp_path):
    from PIL import Image

    from vadlit.data.decode import read_frames

    folder = tmp_path / "video"
    folder.mkdir()
    rgb = np.zeros((6, 8, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(folder / "001.png")
    Image.fromarray(np.full((6, 8), 77, dtype=np.uint8)).save(folder / "002.png")  # saved as greyscale
    frames = read_frames(sorted(folder.glob("*.png")))
    assert frames.shape == (2, 6, 8, 3) and (frames[1] == 77).all()
    Image.fromarray(np.zeros((5, 8, 3), dtype=np.uint8)).save(folder / "003.png")
    with pytest.raises(DataError, match=r"003.png' is 8x5 pixels, unlike the 8x6"):
        read_frames(sorted(folder.glob("*.png")))
