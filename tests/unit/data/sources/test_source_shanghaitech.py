"""ShanghaiTech Campus: training .avi, test frame folders, .npy ground truth, scenes, cache keys, bad inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from tests.helpers.trees.shanghaitech import shanghaitech_frames, shanghaitech_masks, video_name, write_shanghaitech_tree
from tests.helpers.trees.video import write_avi
from vadlit.data.cache import load_split
from vadlit.data.source import NORMAL
from vadlit.data.sources.shanghaitech import FORMAT_VERSION, ShanghaiTechSource
from vadlit.errors import ConfigError, DataError

FRAMES, SIZE = 14, (24, 40)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("shanghaitech")
    return root, write_shanghaitech_tree(root, scenes=(1, 2, 3), frames=FRAMES, size=SIZE)


@pytest.fixture
def fresh(tmp_path) -> tuple[Path, dict]:
    """A tree a test may damage."""
    return tmp_path, write_shanghaitech_tree(tmp_path, scenes=(1, 2), frames=FRAMES, size=SIZE)


def frame_mask(root: Path, scene: int) -> Path:
    return root / "testing" / "test_frame_mask" / f"{video_name(scene)}.npy"


def pixel_mask(root: Path, scene: int) -> Path:
    return root / "testing" / "test_pixel_mask" / f"{video_name(scene)}.npy"


def test_train_videos_decode_exactly(tree):
    root, _ = tree
    records = ShanghaiTechSource(str(root)).videos("train")
    assert [r.name for r in records] == ["01_001", "02_001", "03_001"]
    assert records[1].path == str(root.resolve() / "training" / "videos" / "02_001.avi")
    for scene, record in zip((1, 2, 3), records):
        data = record.load()
        assert data.frames.shape == (FRAMES, *SIZE, 3) and data.frames.dtype == np.uint8
        np.testing.assert_array_equal(data.frames, shanghaitech_frames("train", scene, FRAMES, SIZE))
        assert data.labels is None and data.kinds is None and data.masks is None


def test_test_frames_labels_and_pixel_masks(tree):
    root, expected = tree
    records = ShanghaiTechSource(root).videos("test")
    assert [r.name for r in records] == ["01_0014", "02_0014", "03_0014"]
    assert records[0].path == str(root.resolve() / "testing" / "frames" / "01_0014")
    for scene, record in zip((1, 2, 3), records):
        data = record.load()
        assert data.frames.shape == (FRAMES, *SIZE, 3)
        error = np.abs(data.frames.astype(int) - shanghaitech_frames("test", scene, FRAMES, SIZE)).mean()
        assert error < 4  # JPEG
        np.testing.assert_array_equal(data.labels, expected[record.name])
        assert data.labels.dtype == np.uint8 and 0 < data.labels.sum() < FRAMES
        assert data.kinds == ["anomaly" if l else NORMAL for l in expected[record.name]]
        assert isinstance(data.masks, np.memmap)  # large in the real set: never read whole here
        np.testing.assert_array_equal(data.masks, shanghaitech_masks(scene, FRAMES, SIZE))


def test_load_applies_the_transform(tree):
    root, expected = tree
    calls = []

    def half(frames):
        calls.append(frames.shape)
        return np.ascontiguousarray(frames[:, ::2, ::2])

    for record in (ShanghaiTechSource(root).videos("train")[0], ShanghaiTechSource(root).videos("test")[0]):
        calls.clear()
        data = record.load(transform=half)
        assert data.frames.shape == (FRAMES, SIZE[0] // 2, SIZE[1] // 2, 3)
        assert calls and all(c[1:] == (*SIZE, 3) for c in calls)


def test_cache_builds_from_shanghaitech(tree, tmp_path):
    root, expected = tree
    split = load_split(ShanghaiTechSource(root, scenes=[2, 3]), "test", tmp_path, (12, 20), 1, workers=2)
    assert [v.name for v in split.videos] == ["02_0014", "03_0014"]
    np.testing.assert_array_equal(split.videos[0].labels, expected["02_0014"])
    assert split.videos[0].frames.shape == (FRAMES, 12, 20, 1)


@pytest.mark.parametrize("scenes, names", [
    ([2], ["02"]), ([3, 1], ["01", "03"]), (2, ["02"]), (["01", 3], ["01", "03"]),
    (OmegaConf.create([1, 2]), ["01", "02"]), (None, ["01", "02", "03"]),
])
def test_scene_filter(tree, scenes, names):
    root, _ = tree
    source = ShanghaiTechSource(root, scenes=scenes)
    assert [r.name for r in source.videos("train")] == [f"{n}_001" for n in names]
    assert [r.name for r in source.videos("test")] == [f"{n}_0014" for n in names]


@pytest.mark.parametrize("scenes", [[0], [100], ["a"], [True], 1.5, [], [1, None], "x", True])
def test_bad_scenes(scenes):
    with pytest.raises(ConfigError, match=r"data.source.scenes=.*expected null \(all scenes\) or a list of scene "
                                          r"numbers 1..99"):
        ShanghaiTechSource("/anywhere", scenes=scenes)


def test_scene_filter_that_leaves_nothing(tree):
    with pytest.raises(DataError, match=r"data.source.scenes=\[7, 9\]: no train videos of these scenes in "
                                        r"'.*training/videos'; the scenes there are \[1, 2, 3\]"):
        ShanghaiTechSource(tree[0], scenes=[7, 9]).videos("train")


def test_natural_order_and_junk(fresh):
    root, _ = fresh
    videos = root / "training" / "videos"
    clip = shanghaitech_frames("train", 1, 3, SIZE)
    for name in ("01_010.avi", "01_2.avi"):
        write_avi(videos / name, clip)
    (videos / "._01_003.avi").write_bytes(b"resource fork")
    (videos / ".DS_Store").write_bytes(b"junk")
    (root / "testing" / "frames" / ".hidden").mkdir()
    (root / "testing" / "frames" / "README.txt").write_text("not a folder of frames")
    assert [r.name for r in ShanghaiTechSource(root).videos("train")] == ["01_001", "01_2", "01_010", "02_001"]
    assert [r.name for r in ShanghaiTechSource(root).videos("test")] == ["01_0014", "02_0014"]


def test_pixel_masks_optional(fresh):
    root, expected = fresh
    data = ShanghaiTechSource(root, pixel_masks=False).videos("test")[0].load()
    assert data.masks is None
    np.testing.assert_array_equal(data.labels, expected["01_0014"])
    pixel_mask(root, 2).unlink()
    records = ShanghaiTechSource(root).videos("test")
    assert records[0].load().masks is not None and records[1].load().masks is None
    with pytest.raises(ConfigError, match="data.source.pixel_masks='yes'"):
        ShanghaiTechSource(root, pixel_masks="yes")


def test_cache_key(fresh):
    root, _ = fresh
    key = ShanghaiTechSource(root).cache_key()
    assert key["root"] == str(root.resolve()) and key["format_version"] == FORMAT_VERSION
    assert key["scenes"] is None and key["pixel_masks"] is True
    assert ShanghaiTechSource(str(root)).cache_key() == key
    assert ShanghaiTechSource(root, scenes=[1]).cache_key() != key
    assert ShanghaiTechSource(root, pixel_masks=False).cache_key() != key
    frame = root / "testing" / "frames" / "02_0014" / "005.jpg"
    stat = frame.stat()
    os.utime(frame, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # one test frame changed
    changed = ShanghaiTechSource(root).cache_key()
    assert changed != key
    np.save(frame_mask(root, 1), np.zeros(FRAMES, dtype=np.int64))  # a label file changed
    assert ShanghaiTechSource(root).cache_key() != changed
    # a filtered source does not depend on the files of other scenes
    filtered = ShanghaiTechSource(root, scenes=[1]).cache_key()
    np.save(pixel_mask(root, 2), np.zeros((FRAMES, *SIZE), dtype=np.uint8))
    assert ShanghaiTechSource(root, scenes=[1]).cache_key() == filtered


# ----------------------------------------------------------------------------------------------
# Bad inputs: one message naming the path and what was expected


def test_missing_root(tmp_path):
    source = ShanghaiTechSource(tmp_path / "nowhere")
    for call in (lambda: source.videos("test"), source.cache_key):
        with pytest.raises(DataError, match=r"data.root='.*nowhere' does not exist; expected the ShanghaiTech Campus "
                                            r"folder holding training/videos/, testing/frames/"):
            call()


def test_no_videos(tmp_path):
    (tmp_path / "training" / "videos").mkdir(parents=True)
    (tmp_path / "testing" / "frames").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no video files in '.*training/videos'; expected "
                                        r"training/videos/01_001.avi"):
        ShanghaiTechSource(tmp_path).videos("train")
    with pytest.raises(DataError, match=r"no frame folders in '.*testing/frames'; expected "
                                        r"testing/frames/01_0014/000.jpg"):
        ShanghaiTechSource(tmp_path).videos("test")
    shutil.rmtree(tmp_path / "training")
    with pytest.raises(DataError, match=r"training/videos' does not exist; expected training/videos/01_001.avi"):
        ShanghaiTechSource(tmp_path).videos("train")


def test_missing_frame_labels(fresh):
    root, _ = fresh
    frame_mask(root, 2).unlink()
    with pytest.raises(DataError, match=r"no frame labels for ShanghaiTech test video '.*02_0014': expected "
                                        r"'.*testing/test_frame_mask/02_0014.npy'"):
        ShanghaiTechSource(root).videos("test")
    assert len(ShanghaiTechSource(root, scenes=[1]).videos("test")) == 1  # other scenes unaffected


def test_frame_labels_of_the_wrong_length_or_values(fresh):
    root, _ = fresh
    np.save(frame_mask(root, 1), np.zeros(FRAMES + 2, dtype=np.int64))
    with pytest.raises(DataError, match=rf"01_0014.npy' holds {FRAMES + 2} frame labels but '.*01_0014' has "
                                        rf"{FRAMES} frames; expected one label per frame"):
        ShanghaiTechSource(root).videos("test")[0].load()
    np.save(frame_mask(root, 1), np.full(FRAMES, 2.0))
    with pytest.raises(DataError, match=r"01_0014.npy' holds label values \[2.0\]; expected 0 \(normal\) or 1"):
        ShanghaiTechSource(root).videos("test")[0].load()
    np.save(frame_mask(root, 1), np.zeros((2, FRAMES)))
    with pytest.raises(DataError, match=r"shape \(2, 14\); expected a 1-D array of 0/1 frame labels"):
        ShanghaiTechSource(root).videos("test")[0].load()
    np.save(frame_mask(root, 1), np.ones((FRAMES, 1), dtype=bool))  # (T, 1) and bool are fine
    assert ShanghaiTechSource(root).videos("test")[0].load().labels.tolist() == [1] * FRAMES
    frame_mask(root, 1).write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"cannot read '.*01_0014.npy'.*expected a .npy file"):
        ShanghaiTechSource(root).videos("test")[0].load()


def test_pixel_masks_of_the_wrong_shape(fresh):
    root, _ = fresh
    np.save(pixel_mask(root, 2), np.zeros((FRAMES, SIZE[1], SIZE[0]), dtype=np.uint8))
    with pytest.raises(DataError, match=rf"02_0014.npy' holds an array of shape \({FRAMES}, 40, 24\); expected "
                                        rf"\({FRAMES}, 24, 40\): one H x W mask per frame of '.*02_0014'"):
        ShanghaiTechSource(root).videos("test")[1].load()


def test_corrupt_files_name_the_file(fresh):
    root, _ = fresh
    video = root / "training" / "videos" / "02_001.avi"
    video.write_bytes(video.read_bytes()[:300])  # truncated inside the header
    with pytest.raises(DataError, match=r"cannot decode video '.*02_001.avi'"):
        ShanghaiTechSource(root).videos("train")[1].load()
    (root / "testing" / "frames" / "01_0014" / "007.jpg").write_bytes(b"\xff\xd8 broken")
    with pytest.raises(DataError, match=r"cannot decode frame '.*01_0014/007.jpg'"):
        ShanghaiTechSource(root).videos("test")[0].load()


def test_empty_frame_folder(fresh):
    root, _ = fresh
    for frame in (root / "testing" / "frames" / "02_0014").iterdir():
        frame.unlink()
    with pytest.raises(DataError, match=r"test frame folder '.*02_0014' holds no image files; expected 000.jpg"):
        ShanghaiTechSource(root).videos("test")[1].load()
