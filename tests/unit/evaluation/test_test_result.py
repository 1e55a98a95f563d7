"""A test's result is built from the scored batches and the truth that came with them, never
looked up elsewhere: the labels judged are the labels of the clips that were scored."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vadlit.data.cache import CachedVideo
from vadlit.data.clips import ClipDataset, Segment
from vadlit.errors import DataError
from vadlit.evaluation.frame_scores import ClipScores, FrameScores
from vadlit.evaluation.metrics import compute_metrics
from vadlit.evaluation.postprocess import ScoreOptions
from vadlit.evaluation.test_result import test_result

CLIP = 4


def _video(name: str, n: int, anomalous: range | None = None, kind: str = "running") -> CachedVideo:
    frames = np.zeros((n, 2, 2, 1), dtype=np.uint8)
    if anomalous is None:
        return CachedVideo(frames, name=name)
    labels = np.zeros(n, dtype=np.uint8)
    labels[list(anomalous)] = 1
    return CachedVideo(frames, labels, [kind if y else "normal" for y in labels], name=name)


def _scored(dataset: ClipDataset, stride_scores=lambda frames: frames.float()) -> list[ClipScores]:
    """Score each clip's frames by a known function of their indices, as a model's predict step would."""
    return [ClipScores.of(batch, stride_scores(batch["frames"]))
            for batch in DataLoader(dataset, batch_size=3, shuffle=False)]


def test_truth_travels_with_the_clips_and_kinds_keep_their_names():
    videos = [_video("a", 10, range(6, 9), "running"), _video("b", 7, range(0, 2), "object"), _video("short", 2, range(0))]
    dataset = ClipDataset(videos, [Segment(i, 0, len(v)) for i, v in enumerate(videos) if len(v) >= CLIP], CLIP, 2)
    assert dataset.kind_names == ("normal", "object", "running")
    result = test_result(_scored(dataset), dataset, last_only=False, options=ScoreOptions())
    assert result.skipped_videos == ["short"] and list(result.scores) == ["a", "b"]
    np.testing.assert_array_equal(result.labels["a"], videos[0].labels)
    np.testing.assert_array_equal(result.labels["b"], videos[1].labels)
    assert result.kinds["a"] == videos[0].kinds and result.kinds["b"] == videos[1].kinds
    np.testing.assert_allclose(result.scores["a"], np.arange(10.0))  # each frame scored by its own index
    assert result.metrics == compute_metrics(result.scores, result.labels, result.kinds)


def test_the_labels_judged_are_those_of_the_scored_clips_not_of_the_dataset_record():
    videos = [_video("a", 8, range(4, 8)), _video("b", 8, range(0, 0))]
    dataset = ClipDataset(videos, [Segment(0, 0, 8), Segment(1, 0, 8)], CLIP, CLIP)
    batches = _scored(dataset)
    for clips in batches:  # what the loader delivered is the truth: flip it and the result follows
        clips.labels = 1 - clips.labels
    result = test_result(batches, dataset, last_only=False, options=ScoreOptions())
    np.testing.assert_array_equal(result.labels["a"], 1 - videos[0].labels)


def test_unlabelled_or_part_labelled_test_sets_are_scored_not_judged():
    unlabelled = ClipDataset([_video("u", 6)], [Segment(0, 0, 6)], CLIP, 1)
    result = test_result(_scored(unlabelled), unlabelled, last_only=False, options=ScoreOptions())
    assert result.labels is None and result.kinds is None and result.metrics is None and len(result.scores["u"]) == 6
    mixed = [_video("labelled", 6, range(3, 6)), _video("unknown", 6)]
    dataset = ClipDataset(mixed, [Segment(0, 0, 6), Segment(1, 0, 6)], CLIP, 2)
    assert test_result(_scored(dataset), dataset, last_only=False, options=ScoreOptions()).metrics is None


def test_predict_clips_record_the_truth_of_the_warm_up_frames_too():
    video = _video("v", 6, range(0, 2))
    dataset = ClipDataset([video], [Segment(0, 0, 6)], CLIP, 1)
    last = [ClipScores.of(b, b["frames"][:, -1:].float()) for b in DataLoader(dataset, batch_size=2)]
    result = test_result(last, dataset, last_only=True, options=ScoreOptions())
    np.testing.assert_array_equal(result.labels["v"], [1, 1, 0, 0, 0, 0])
    np.testing.assert_allclose(result.scores["v"], [3, 3, 3, 3, 4, 5])


def test_truth_of_the_wrong_shape_is_refused():
    fs = FrameScores(["v"], [4])
    with pytest.raises(DataError, match="labels"):
        fs.add_truth(torch.tensor([0]), torch.tensor([[0, 1]]), torch.tensor([[0, 1, 1]]))


def _masked_video(name: str, n: int, anomalous: range) -> CachedVideo:
    video = _video(name, n, anomalous)
    masks = np.zeros((n, 2, 2), dtype=bool)
    masks[list(anomalous), 0, 0] = True
    video.masks = masks
    return video


def test_maps_follow_the_clip_to_frame_rule_and_masks_travel_with_the_clips():
    videos = [_masked_video("m", 6, range(3, 5)), _video("plain", 6, range(0, 1))]
    dataset = ClipDataset(videos, [Segment(0, 0, 6), Segment(1, 0, 6)], CLIP, 2)
    batches = []
    for batch in DataLoader(dataset, batch_size=2, shuffle=False):
        frames = batch["frames"].float()
        maps = frames[:, :, None, None].expand(-1, -1, 2, 2)  # each frame's map: its own index everywhere
        batches.append(ClipScores.of(batch, frames, maps))
    fs = FrameScores.over(dataset)
    for clips in batches:
        fs.add(clips, last_only=False)
    fs.compute()
    maps, masks = fs.maps()
    assert list(maps) == ["m", "plain"] and list(masks) == ["m"], "every video has a map, the masked ones a mask"
    np.testing.assert_allclose(maps["m"][:, 1, 1], np.arange(6.0))
    np.testing.assert_array_equal(masks["m"], videos[0].masks)
    result = test_result(batches, dataset, last_only=False, options=ScoreOptions())
    assert result.metrics["localization"]["n_videos_with_masks"] == 1
    assert result.metrics["localization"]["n_videos"] == 2


def test_predict_maps_of_the_warm_up_frames_are_the_first_predictions():
    video = _masked_video("m", 6, range(4, 6))
    dataset = ClipDataset([video], [Segment(0, 0, 6)], CLIP, 1)
    fs = FrameScores.over(dataset)
    for batch in DataLoader(dataset, batch_size=2):
        last = batch["frames"][:, -1:].float()
        fs.add(ClipScores.of(batch, last, last[:, :, None, None].expand(-1, -1, 2, 2)), last_only=True)
    fs.compute()
    np.testing.assert_allclose(fs.maps()[0]["m"][:, 0, 0], [3, 3, 3, 3, 4, 5])


def test_a_localised_test_without_any_mask_says_so_and_keeps_no_maps():
    videos = [_video("a", 8, range(4, 6)), _video("b", 8, range(0, 2))]
    dataset = ClipDataset(videos, [Segment(0, 0, 8), Segment(1, 0, 8)], CLIP, 2)
    result = test_result(_scored(dataset), dataset, last_only=False, options=ScoreOptions(), localize=True)
    block = result.metrics["localization"]
    assert block["n_videos_with_masks"] == 0 and block["n_videos"] == 2 and "no test video has pixel masks" in block["note"]
    assert result.maps is None and result.masks is None
    quiet = test_result(_scored(dataset), dataset, last_only=False, options=ScoreOptions())
    assert "localization" not in quiet.metrics, "eval.localization=false: no block at all"
