"""CUHK Avenue: .avi decoding, volLabel ground truth, ordering, cache keys and every bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from tests.helpers.trees.avenue import avenue_frames, avenue_masks, write_avenue_tree, write_vol_label
from tests.helpers.trees.video import write_avi
from vadlit.data.cache import load_split
from vadlit.data.source import NORMAL
from vadlit.data.sources.avenue import FORMAT_VERSION, AvenueSource
from vadlit.errors import ConfigError, DataError

FRAMES, SIZE = 14, (24, 40)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("avenue")
    return root, write_avenue_tree(root, n_train=2, n_test=2, frames=FRAMES, size=SIZE)


@pytest.fixture
def fresh(tmp_path) -> tuple[Path, dict]:
    """A tree a test may damage."""
    return tmp_path, write_avenue_tree(tmp_path, n_train=1, n_test=2, frames=FRAMES, size=SIZE)


def gt(root: Path, n: int) -> Path:
    return root / "ground_truth_demo" / "testing_label_mask" / f"{n}_label.mat"


def test_train_videos_decode_exactly(tree):
    root, _ = tree
    records = AvenueSource(str(root)).videos("train")
    assert [r.name for r in records] == ["01", "02"]
    assert records[0].path == str(root.resolve() / "training_videos" / "01.avi")
    for i, record in enumerate(records):
        data = record.load()
        assert data.frames.shape == (FRAMES, *SIZE, 3) and data.frames.dtype == np.uint8
        np.testing.assert_array_equal(data.frames, avenue_frames("train", i, FRAMES, SIZE))  # FFV1: lossless
        assert data.labels is None and data.kinds is None and data.masks is None


def test_test_labels_and_masks_follow_vol_label(tree):
    root, expected = tree
    records = AvenueSource(root).videos("test")
    assert [r.name for r in records] == ["01", "02"]
    for i, record in enumerate(records):
        data = record.load()
        assert data.frames.shape == (FRAMES, *SIZE, 3)
        np.testing.assert_array_equal(data.frames, avenue_frames("test", i, FRAMES, SIZE))
        np.testing.assert_array_equal(data.labels, expected[record.name])
        assert data.labels.dtype == np.uint8 and 0 < data.labels.sum() < FRAMES
        np.testing.assert_array_equal(data.masks, avenue_masks(i, FRAMES, SIZE))
        assert data.kinds == ["anomaly" if l else NORMAL for l in expected[record.name]]


def test_load_applies_the_transform_chunk_by_chunk(tree):
    root, expected = tree
    calls = []

    def half(frames):
        calls.append(frames.shape)
        return np.ascontiguousarray(frames[:, ::2, ::2, :1])

    data = AvenueSource(root).videos("test")[1].load(transform=half)
    assert data.frames.shape == (FRAMES, SIZE[0] // 2, SIZE[1] // 2, 1)
    assert calls and all(c[1:] == (*SIZE, 3) for c in calls)
    np.testing.assert_array_equal(data.labels, expected["02"])  # labels unaffected, masks stay full size
    assert data.masks.shape == (FRAMES, *SIZE)


def test_cache_builds_from_avenue(tree, tmp_path):
    root, expected = tree
    split = load_split(AvenueSource(root), "test", tmp_path, (12, 20), 1, workers=2)
    assert [v.name for v in split.videos] == ["01", "02"]
    np.testing.assert_array_equal(split.videos[0].labels, expected["01"])
    assert split.videos[0].frames.shape == (FRAMES, 12, 20, 1)


def test_natural_order_junk_and_other_extensions(fresh):
    root, _ = fresh
    train = root / "training_videos"
    frames = avenue_frames("train", 0, 4, SIZE)
    (train / "01.avi").rename(train / "10.avi")
    for name in ("2.avi", "1.AVI"):
        write_avi(train / name, frames)
    (train / "._3.avi").write_bytes(b"\x00\x05\x16\x07 resource fork")
    (train / "notes.txt").write_text("not a video")
    (train / "Thumbs.db").write_bytes(b"junk")
    records = AvenueSource(root).videos("train")
    assert [r.name for r in records] == ["1", "2", "10"]
    assert records[0].load().frames.shape == (4, *SIZE, 3)


def test_label_file_without_leading_zero_and_zero_padded_fallback(fresh):
    root, expected = fresh
    gt(root, 2).rename(gt(root, 2).with_name("02_label.mat"))  # tolerated
    data = AvenueSource(root).videos("test")[1].load()
    np.testing.assert_array_equal(data.labels, expected["02"])


@pytest.mark.parametrize("layout", ["column", "nested", "volume", "empty_cells"])
def test_vol_label_variants(fresh, layout):
    root, _ = fresh
    masks = avenue_masks(0, FRAMES, SIZE)
    if layout == "column":  # T x 1 cell array
        value = np.empty((FRAMES, 1), dtype=object)
        for t in range(FRAMES):
            value[t, 0] = masks[t].astype(np.float64)
    elif layout == "nested":  # 1 x T cell array inside a 1 x 1 cell
        inner = np.empty((1, FRAMES), dtype=object)
        for t in range(FRAMES):
            inner[0, t] = masks[t].astype(np.uint8)
        value = np.empty((1, 1), dtype=object)
        value[0, 0] = inner
    elif layout == "volume":  # numeric H x W x T
        value = np.moveaxis(masks, 0, -1).astype(np.uint8)
    else:  # normal frames stored as empty cells
        value = np.empty((1, FRAMES), dtype=object)
        for t in range(FRAMES):
            value[0, t] = masks[t].astype(np.uint8) if masks[t].any() else np.zeros((0, 0))
    scipy.io.savemat(str(gt(root, 1)), {"volLabel": value})
    data = AvenueSource(root).videos("test")[0].load()
    np.testing.assert_array_equal(data.masks, masks)
    np.testing.assert_array_equal(data.labels, masks.any(axis=(1, 2)))


def test_cache_key(fresh):
    root, _ = fresh
    key = AvenueSource(root).cache_key()
    assert key["root"] == str(root.resolve()) and key["format_version"] == FORMAT_VERSION
    assert AvenueSource(str(root)).cache_key() == key  # stable
    mat = gt(root, 2)
    stat = mat.stat()
    os.utime(mat, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a label file changed
    changed = AvenueSource(root).cache_key()
    assert changed != key
    write_avi(root / "training_videos" / "01.avi", avenue_frames("train", 5, FRAMES - 1, SIZE))  # a video changed
    assert AvenueSource(root).cache_key() != changed


# ----------------------------------------------------------------------------------------------
# Bad inputs: one message naming the path and what was expected


def test_missing_root(tmp_path):
    missing = tmp_path / "nowhere"
    source = AvenueSource(missing)  # constructing is cheap; listing reports
    for call in (lambda: source.videos("train"), source.cache_key):
        with pytest.raises(DataError, match=r"data.root='.*nowhere' does not exist; expected the CUHK Avenue "
                                            r"folder holding training_videos/"):
            call()


@pytest.mark.parametrize("root", [None, "", 3])
def test_root_not_a_path(root):
    with pytest.raises(ConfigError, match="data.root"):
        AvenueSource(root)


def test_no_videos(tmp_path):
    (tmp_path / "training_videos").mkdir()
    (tmp_path / "training_videos" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"no video files in '.*training_videos'; expected training_videos/01.avi"):
        AvenueSource(tmp_path).videos("train")
    with pytest.raises(DataError, match=r"testing_videos' does not exist; expected testing_videos/01.avi"):
        AvenueSource(tmp_path).videos("test")


def test_bad_split(tree):
    with pytest.raises(DataError, match="'val'"):
        AvenueSource(tree[0]).videos("val")


def test_missing_label_file(fresh):
    root, _ = fresh
    gt(root, 2).unlink()
    with pytest.raises(DataError, match=r"test video '.*02.avi': expected '.*testing_label_mask/2_label.mat'"):
        AvenueSource(root).videos("test")
    shutil.rmtree(root / "ground_truth_demo")
    with pytest.raises(DataError, match=r"1_label.mat.*ground_truth_demo.zip"):
        AvenueSource(root).cache_key()


def test_labels_of_the_wrong_length(fresh):
    root, _ = fresh
    write_vol_label(gt(root, 1), avenue_masks(0, FRAMES - 3, SIZE))
    with pytest.raises(DataError, match=rf"1_label.mat' holds {FRAMES - 3} frame masks but video '.*01.avi' "
                                        rf"decodes to {FRAMES} frames"):
        AvenueSource(root).videos("test")[0].load()


def test_truncated_test_video_is_caught_by_its_declared_frame_count(fresh):
    root, _ = fresh
    video = root / "testing_videos" / "02.avi"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(DataError, match=rf"video '.*02.avi' is truncated: its header declares {FRAMES} frames"):
        AvenueSource(root).videos("test")[1].load()


@pytest.mark.parametrize("split", ["train", "test"])
def test_corrupt_video_names_the_file(fresh, split):
    root, _ = fresh
    video = root / ("training_videos" if split == "train" else "testing_videos") / "01.avi"
    video.write_bytes(b"RIFF\x00\x00not really a video" * 8)
    with pytest.raises(DataError, match=r"cannot decode video '.*01.avi'"):
        AvenueSource(root).videos(split)[0].load()


def test_mat_without_vol_label(fresh):
    root, _ = fresh
    scipy.io.savemat(str(gt(root, 1)), {"gt": np.zeros((1, FRAMES))})
    with pytest.raises(DataError, match=r"1_label.mat' has no variable 'volLabel' \(it holds \['gt'\]\); "
                                        r"expected volLabel, a 1 x T cell array"):
        AvenueSource(root).videos("test")[0].load()


def test_unreadable_or_misshapen_mat(fresh):
    root, _ = fresh
    gt(root, 1).write_bytes(b"this is not a mat file" * 10)
    with pytest.raises(DataError, match=r"cannot read '.*1_label.mat'.*expected a MATLAB .mat file holding volLabel"):
        AvenueSource(root).videos("test")[0].load()
    cells = np.empty((2, FRAMES), dtype=object)
    for index in np.ndindex(cells.shape):
        cells[index] = np.zeros(SIZE, np.uint8)
    scipy.io.savemat(str(gt(root, 1)), {"volLabel": cells})
    with pytest.raises(DataError, match=r"cell array of shape \(2, 14\); expected volLabel to be a 1 x T"):
        AvenueSource(root).videos("test")[0].load()
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0], cells[0, 1] = np.zeros(SIZE, np.uint8), np.zeros((5, 5), np.uint8)
    scipy.io.savemat(str(gt(root, 1)), {"volLabel": cells})
    with pytest.raises(DataError, match=r"masks of shapes .* all of the same H x W"):
        AvenueSource(root).videos("test")[0].load()


def test_root_is_a_file(tmp_path):
    (tmp_path / "avenue.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"data.root='.*avenue.zip' is not a folder; expected the CUHK Avenue folder"):
        AvenueSource(tmp_path / "avenue.zip").cache_key()
