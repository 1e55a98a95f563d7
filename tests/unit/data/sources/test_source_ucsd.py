"""UCSD Pedestrian: the distributed folder format read exactly, with ground truth frame by frame."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

from tests.helpers.trees.ucsd import corrupt_frame, ucsd_folder, write_ucsd_tree
from vadlit.data.cache import load_split
from vadlit.data.frames import resize_frames
from vadlit.data.sources.ucsd import FORMAT_VERSION, UCSDSource, parse_m_intervals
from vadlit.errors import ConfigError, DataError


def load_all(source, split="test"):
    return {r.name: r.load() for r in source.videos(split)}


@pytest.fixture(scope="module")
def ped2(tmp_path_factory):
    """A read-only Ped2 tree with masks for every test video (tests that change files copy it)."""
    root = tmp_path_factory.mktemp("ped2")
    expected = write_ucsd_tree(root, "ped2", n_train=2, n_test=3, frames=12)
    return ucsd_folder(root, "ped2"), expected


@pytest.fixture
def ped2_copy(ped2, tmp_path):
    folder, expected = ped2
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    return copy, expected


# ----------------------------------------------------------------------------------------------
# Listing and labels


def test_names_order_and_junk(ped2):
    folder, _ = ped2
    source = UCSDSource(str(folder))
    assert source.name == "ucsd_ped2"
    train, test = source.videos("train"), source.videos("test")
    assert [r.name for r in train] == ["Train001", "Train002"]
    assert [r.name for r in test] == ["Test001", "Test002", "Test003"], "_gt folders and ._ files are not videos"
    assert test[0].path == str(folder.resolve() / "Test" / "Test001")
    video = test[0].load()
    assert video.frames.shape == (12, 24, 36, 1) and video.frames.dtype == np.uint8, "._001.tif is skipped"
    assert train[1].load().labels is None and train[1].load().masks is None and train[1].load().kinds is None


def test_labels_from_masks_match_the_ground_truth(ped2):
    folder, expected = ped2
    videos = load_all(UCSDSource(str(folder)))
    for name, labels in expected.items():
        video = videos[name]
        assert np.array_equal(video.labels, labels), name
        assert video.masks.dtype == bool and video.masks.shape == (12, 24, 36)
        assert np.array_equal(video.masks.any(axis=(1, 2)), labels.astype(bool))
        assert video.kinds == ["anomaly" if l else "normal" for l in labels]
        # the bright square lies exactly under the mask
        assert (video.frames[..., 0][video.masks] == 255).all() and (video.frames[..., 0][~video.masks] < 255).all()


def test_ped1_style_tree_takes_the_m_intervals_where_masks_are_missing(tmp_path):
    expected = write_ucsd_tree(tmp_path, "ped1", n_train=1, n_test=4, frames=10, masks_for=["Test002"])
    source = UCSDSource(str(ucsd_folder(tmp_path, "ped1")), variant="ped1")
    assert source.name == "ucsd_ped1"
    videos = load_all(source)
    for name, labels in expected.items():
        assert np.array_equal(videos[name].labels, labels), name
        assert (videos[name].masks is not None) == (name == "Test002")
    assert videos["Test002"].labels.sum() == 5 and videos["Test001"].labels.sum() == 4


def test_labels_from_m_overrides_masks_and_keeps_them(ped2_copy):
    folder, expected = ped2_copy
    (folder / "Test" / "UCSDped2.m").write_text(
        "TestDataset = struct('gt_frame',[]);\n"
        "TestDataset.gt_frame{1} = [1:3];\nTestDataset.gt_frame{2} = [];\nTestDataset.gt_frame{3} = [12];\n"
    )
    videos = load_all(UCSDSource(str(folder), labels_from="m"))
    assert videos["Test001"].labels.tolist() == [1, 1, 1] + [0] * 9
    assert videos["Test002"].labels.sum() == 0 and videos["Test002"].kinds == ["normal"] * 12
    assert videos["Test003"].labels.tolist() == [0] * 11 + [1]
    assert np.array_equal(videos["Test001"].masks.any(axis=(1, 2)), expected["Test001"].astype(bool))
    auto = load_all(UCSDSource(str(folder)))  # auto prefers the masks
    assert np.array_equal(auto["Test001"].labels, expected["Test001"])


def test_m_file_beside_test_folder_is_found(ped2_copy):
    folder, expected = ped2_copy
    shutil.move(folder / "Test" / "UCSDped2.m", folder / "UCSDped2.m")
    videos = load_all(UCSDSource(str(folder), labels_from="m"))
    assert all(np.array_equal(videos[n].labels, l) for n, l in expected.items())


def test_m_parsing_ranges_single_frames_spaces_and_comments():
    text = (
        "% UCSD ground truth\r\n"
        "TestDataset = struct('gt_frame',[]);\r\n"
        "TestDataset.gt_frame{1} = [61:180];  % trailing comment [1:2]\r\n"
        "TestDataset.gt_frame{2} = [1:12, 83:150];\n"
        "  TestDataset.gt_frame{ 3 } = [ 5 , 7 : 9 ,11 ];\n"
        "% TestDataset.gt_frame{4} = [1:5];\n"
        "TestDataset.gt_frame{5} = [1:4 ...\n   10:12];\n"
        "TestDataset.gt_frame{6} = [];\n"
        "TestDataset.gt_frame{7} = 3:4;\n"
    )
    assert parse_m_intervals(text) == {
        1: [(61, 180)], 2: [(1, 12), (83, 150)], 3: [(5, 5), (7, 9), (11, 11)],
        5: [(1, 4), (10, 12)], 6: [], 7: [(3, 4)],
    }


@pytest.mark.parametrize("text, message", [
    ("TestDataset.gt_frame{1} = [5-9];", "line 1, TestDataset.gt_frame{1}: cannot read '5-9'"),
    ("\nTestDataset.gt_frame{2} = [9:5];", "line 2, TestDataset.gt_frame{2}: '9:5' is not a 1-based range"),
    ("TestDataset.gt_frame{1} = [0:5];", "'0:5' is not a 1-based range"),
    ("TestDataset.gt_frame{1} = [1:5];\nTestDataset.gt_frame{1} = [2:3];", "a second entry"),
    ("% nothing here\nTestDataset = struct('gt_frame',[]);", "holds no ground-truth intervals"),
])
def test_m_parsing_errors_name_the_file_and_line(text, message):
    with pytest.raises(DataError) as info:
        parse_m_intervals(text, "UCSDped2.m")
    assert message in str(info.value) and "'UCSDped2.m'" in str(info.value)


def test_load_resizes_while_decoding(ped2):
    folder, _ = ped2
    calls = []

    def transform(chunk):
        calls.append(chunk.shape)
        return resize_frames(chunk, (8, 12))

    record = UCSDSource(str(folder)).videos("test")[1]
    video = record.load(transform=transform)
    assert video.frames.shape == (12, 8, 12, 1) and video.frames.dtype == np.uint8
    assert calls == [(12, 24, 36, 1)], "the transform sees the full-size chunk"
    assert video.masks.shape == (12, 24, 36), "masks stay at frame size; the cache resizes them"


def test_through_the_cache(ped2, tmp_path):
    folder, expected = ped2
    split = load_split(UCSDSource(str(folder)), "test", tmp_path, (16, 16), 1, workers=2)
    assert [v.name for v in split.videos] == list(expected)
    assert all(np.array_equal(v.labels, expected[v.name]) for v in split.videos)
    assert split.videos[0].frames.shape == (12, 16, 16, 1)


def test_cache_key_follows_files_and_settings(ped2_copy):
    folder, _ = ped2_copy
    key = UCSDSource(str(folder)).cache_key()
    assert key == UCSDSource(str(folder) + "/").cache_key()
    assert key["format_version"] == FORMAT_VERSION and key["root"] == str(folder.resolve())
    assert key["variant"] == "ped2" and key["labels_from"] == "auto"
    assert UCSDSource(str(folder), labels_from="m").cache_key() != key
    for changed in ("Train/Train002/005.tif", "Test/Test001_gt/004.bmp", "Test/UCSDped2.m"):
        path = folder / changed
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        new = UCSDSource(str(folder)).cache_key()
        assert new != key, changed
        key = new
    (folder / "Test" / "Test003" / "013.tif").write_bytes((folder / "Test" / "Test003" / "012.tif").read_bytes())
    key = UCSDSource(str(folder)).cache_key()
    assert key["fingerprint"] != new["fingerprint"], "a new frame changes the key"
    (folder / "Test" / "Test003" / "._014.tif").write_bytes(b"junk")
    (folder / "Test" / "notes.txt").write_text("not part of the data set")
    assert UCSDSource(str(folder)).cache_key() == key, "junk and unrelated files do not"


def test_records_pickle(ped2):
    import pickle

    folder, expected = ped2
    record = pickle.loads(pickle.dumps(UCSDSource(str(folder)).videos("test")[0]))
    assert np.array_equal(record.load().labels, expected["Test001"])


# ----------------------------------------------------------------------------------------------
# Each bad input: one message naming what is at fault


def test_bad_settings(ped2, tmp_path):
    folder, _ = ped2
    with pytest.raises(DataError, match=r"data.root='.*nowhere' does not exist; expected the UCSDped2 folder"):
        UCSDSource(str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match=r"data.source.variant='ped3'.*'ped1', 'ped2'"):
        UCSDSource(str(folder), variant="ped3")
    with pytest.raises(ConfigError, match=r"data.source.labels_from='pixels'.*'auto', 'masks', 'm'"):
        UCSDSource(str(folder), labels_from="pixels")
    with pytest.raises(ConfigError, match=r"is the UCSDped2 folder but data.source.variant='ped1'"):
        UCSDSource(str(folder), variant="ped1")
    with pytest.raises(DataError, match="got split 'val'"):
        UCSDSource(str(folder)).videos("val")


def test_no_videos_shows_the_layout(ped2, tmp_path):
    folder, _ = ped2
    (tmp_path / "UCSDped2" / "Train").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no train videos found under '.*Train': expected folders like Train/Train001/001.tif"):
        UCSDSource(str(tmp_path / "UCSDped2")).videos("train")
    with pytest.raises(DataError, match=r"no test videos found under .*data.root may need to be '.*UCSDped2'"):
        UCSDSource(str(folder.parent)).videos("test")  # pointed at the parent of UCSDped2


def test_empty_video_folder(ped2_copy):
    folder, _ = ped2_copy
    (folder / "Train" / "Train003").mkdir()
    (folder / "Train" / "Train003" / "._001.tif").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"video folder '.*Train003' holds no frame images"):
        UCSDSource(str(folder)).videos("train")


def test_corrupt_frame_names_the_file(ped2_copy):
    folder, _ = ped2_copy
    corrupt_frame(folder / "Test" / "Test002" / "007.tif")
    records = UCSDSource(str(folder)).videos("test")
    records[0].load()
    with pytest.raises(DataError, match=r"cannot decode frame '.*Test002/007.tif'"):
        records[1].load()


def test_mask_count_mismatch(ped2_copy):
    folder, _ = ped2_copy
    (folder / "Test" / "Test002_gt" / "012.bmp").unlink()
    with pytest.raises(DataError, match=r"'.*Test002_gt' holds 11 mask images but '.*Test002' has 12 frames"):
        load_all(UCSDSource(str(folder)))


def test_mask_of_the_wrong_size(ped2_copy):
    from PIL import Image

    folder, _ = ped2_copy
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(folder / "Test" / "Test001_gt" / "003.bmp")
    with pytest.raises(DataError, match=r"mask '.*Test001_gt/003.bmp' is 10x10 \(W x H\) but the frames .* are 36x24"):
        load_all(UCSDSource(str(folder)))


def test_m_interval_beyond_the_frame_count(tmp_path):
    write_ucsd_tree(tmp_path, "ped1", n_test=2, frames=10, masks_for=[])
    folder = ucsd_folder(tmp_path, "ped1")
    m = folder / "Test" / "UCSDped1.m"
    m.write_text(m.read_text().replace("[2, 7:10]", "[2, 7:14]"))
    records = UCSDSource(str(folder), variant="ped1").videos("test")
    records[0].load()
    with pytest.raises(DataError, match=r"UCSDped1.m': TestDataset.gt_frame\{2\} marks frames up to 14, "
                                        r"but test video 'Test002' has 10 frames"):
        records[1].load()


def test_no_ground_truth_at_all(tmp_path):
    write_ucsd_tree(tmp_path, "ped1", n_test=3, frames=8, masks_for=[1])
    folder = ucsd_folder(tmp_path, "ped1")
    m = folder / "Test" / "UCSDped1.m"
    m.write_text(m.read_text().replace("TestDataset.gt_frame{3}", "% TestDataset.gt_frame{3}"))
    records = UCSDSource(str(folder), variant="ped1").videos("test")
    records[0].load(), records[1].load()
    with pytest.raises(DataError, match=r"test video 'Test003' has no ground truth: no pixel masks folder "
                                        r"'.*Test003_gt' and no entry TestDataset.gt_frame\{3\} in '.*UCSDped1.m'"):
        records[2].load()
    m.unlink()
    records = UCSDSource(str(folder), variant="ped1").videos("test")
    records[0].load()  # masks suffice
    with pytest.raises(DataError, match=r"test video 'Test002' has no ground truth: no pixel masks folder "
                                        r"'.*Test002_gt' and no interval file \('.*Test/UCSDped1.m' or '.*UCSDped1.m'\)"):
        records[1].load()
    with pytest.raises(DataError, match=r"no interval file found for data.source.labels_from=m"):
        UCSDSource(str(folder), variant="ped1", labels_from="m").videos("test")[0].load()


def test_labels_from_masks_requires_masks(tmp_path):
    write_ucsd_tree(tmp_path, "ped1", n_test=2, frames=8, masks_for=["Test001"])
    records = UCSDSource(str(ucsd_folder(tmp_path, "ped1")), variant="ped1", labels_from="masks").videos("test")
    records[0].load()
    with pytest.raises(DataError, match=r"test video 'Test002' has no pixel masks: '.*Test002_gt' does not exist"):
        records[1].load()
