"""NormalReference: the score's terms and their standardisation on normal validation data only."""

from dataclasses import replace

import pytest
import torch

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.hparams import HParams
from vadlit.models.ocr_gan_video.reference import NormalReference, positions
from vadlit.models.ocr_gan_video.torch_model import Evidence


def test_error_term_is_the_largest_window_mean():
    ref = NormalReference(feature_dim=2, memory_size=0, patch=4)
    error = torch.zeros(1, 2, 16, 16)
    error[0, 1, 4:8, 8:12] = 1.0  # one 4x4 window fully hot in the second frame
    error[0, 0, 0, 0] = 5.0  # one hot pixel: its best window mean is 5 / 16
    term = ref.error_term(error)
    assert term.shape == (1, 2)
    assert term[0, 1] == pytest.approx(1.0)
    assert term[0, 0] == pytest.approx(5.0 / 16)


def test_memory_term_is_the_mean_of_the_positions_farthest_from_their_nearest_normal_vector():
    ref = NormalReference(feature_dim=2, memory_size=2, top=1)
    ref.memory.copy_(torch.tensor([[0.0, 0.0], [10.0, 0.0]]))
    features = torch.zeros(1, 1, 2, 1, 3)  # three positions
    features[0, 0, :, 0, 0] = torch.tensor([1.0, 0.0])  # 1 from the first normal vector
    features[0, 0, :, 0, 1] = torch.tensor([10.0, 3.0])  # 3 from the second
    features[0, 0, :, 0, 2] = torch.tensor([9.0, 0.0])  # 1 from the second
    assert ref.memory_term(features).item() == pytest.approx(3.0)
    ref.top = 2
    assert ref.memory_term(features).item() == pytest.approx(2.0)


def test_motion_term_is_the_mean_of_the_most_surprising_positions():
    ref = NormalReference(feature_dim=2, memory_size=0, top=3, playback_top=2)  # the motion term's own top
    features = torch.randn(1, 1, 2, 2, 2)
    surprise = ref.playback.surprise(features)
    assert surprise.shape == (1, 1, 2, 2) and (surprise >= 0).all()
    assert ref.motion_term(features).item() == pytest.approx(surprise.flatten().topk(2).values.mean().item())
    # without a playback fit there is no motion term
    assert NormalReference(feature_dim=2, memory_size=0, playback_steps=0).motion_term(features).item() == 0.0


def test_playback_fit_is_reproducible_and_starts_afresh():
    g = torch.Generator().manual_seed(0)
    features, labels, weights = torch.randn(16, 2, 3, 3, generator=g), torch.randint(3, (16,), generator=g), torch.ones(16, 3, 3)
    a, b = NormalReference(2, memory_size=0, playback_steps=5), NormalReference(2, memory_size=0, playback_steps=5)
    with torch.no_grad():
        b.playback.net[0].weight.add_(1.0)  # a head trained before does not change the fit
    la = a.fit_playback(features, labels, weights, torch.Generator().manual_seed(1))
    lb = b.fit_playback(features, labels, weights, torch.Generator().manual_seed(1))
    assert len(la) == 5 and la == lb
    assert all(torch.equal(p, q) for p, q in zip(a.playback.parameters(), b.playback.parameters()))


def test_fit_memory_draws_normal_vectors_reproducibly():
    normal = torch.randn(100, 4)
    a, b = NormalReference(4, memory_size=10), NormalReference(4, memory_size=10)
    a.fit_memory(normal, torch.Generator().manual_seed(0))
    b.fit_memory(normal, torch.Generator().manual_seed(0))
    assert torch.equal(a.memory, b.memory)
    assert all((normal == row).all(dim=1).any() for row in a.memory)  # every kept vector is a normal one
    few = NormalReference(4, memory_size=10)
    few.fit_memory(normal[:3], torch.Generator().manual_seed(0))  # fewer vectors than slots: repeated
    assert {tuple(r.tolist()) for r in few.memory} == {tuple(r.tolist()) for r in normal[:3]}
    with pytest.raises(ConfigError, match="no feature vectors"):
        NormalReference(4, memory_size=10).fit_memory(normal[:0], torch.Generator())


def test_score_is_the_largest_term_in_validation_standard_deviations():
    ref = NormalReference(feature_dim=2, memory_size=0)
    val = torch.tensor([[1.0, 10.0, 0.0], [3.0, 30.0, 2.0]])  # means 2, 20, 1; stds sqrt(2), sqrt(200), sqrt(2)
    ref.fit_stats(val)
    assert ref.is_fitted
    terms = torch.tensor([[2.0 + 2**0.5, 20.0 - 2 * 200**0.5, 1.0], [2.0, 20.0 + 3 * 200**0.5, 1.0 + 2**0.5]])
    assert ref.standardise(terms).tolist() == pytest.approx([1.0, 3.0])
    # a term that never varies on normal data (the baseline's memory and motion for predict) counts for nothing
    flat = NormalReference(feature_dim=2, memory_size=0)
    flat.fit_stats(torch.tensor([[1.0, 0.0, 5.0], [3.0, 0.0, 5.0]]))
    assert flat.standardise(torch.tensor([[2.0, 99.0, 99.0]])).item() == pytest.approx(0.0)
    assert flat.standardise(torch.tensor([[2.0 + 2**0.5, 99.0, 99.0]])).item() == pytest.approx(1.0)


def test_score_takes_only_the_chosen_terms():
    val = torch.tensor([[1.0, 10.0, 0.0], [3.0, 30.0, 2.0]])
    terms = torch.tensor([[2.0 + 5 * 2**0.5, 20.0 + 200**0.5, 1.0 + 2 * 2**0.5]])  # z = 5, 1, 2
    for chosen, expected in ((("error", "memory", "motion"), 5.0), (("memory", "motion"), 2.0), (("memory",), 1.0)):
        ref = NormalReference(feature_dim=2, memory_size=0, terms=chosen)
        ref.fit_stats(val)
        assert ref.standardise(terms).item() == pytest.approx(expected)
        assert ref.stats.shape == (3, 2)  # every term is still standardised, to be inspected
        assert ref.record()["terms"] == list(chosen) and set(ref.record()["validation"]) == {"error", "memory", "motion"}
    # when none of the chosen terms varies on normal data (the baseline under predict), the score
    # falls back on the terms that do, rather than scoring every frame 0
    flat = NormalReference(feature_dim=2, memory_size=0, terms=("memory", "motion"))
    flat.fit_stats(torch.tensor([[1.0, 0.0, 5.0], [3.0, 0.0, 5.0]]))
    assert flat.record()["terms"] == ["error"]
    assert flat.standardise(torch.tensor([[2.0 + 2**0.5, 99.0, 99.0]])).item() == pytest.approx(1.0)


@pytest.mark.parametrize("terms", [[], ["speed"], "memory", ["memory", "Motion"]])
def test_score_terms_are_checked(terms):
    with pytest.raises(ConfigError, match="model.score_terms"):
        HParams.from_config({"score_terms": terms})


def test_statistics_need_two_validation_frames():
    with pytest.raises(ConfigError, match="validation"):
        NormalReference(2, memory_size=0).fit_stats(torch.ones(1, 3))


def test_the_reference_travels_in_the_state_dict():
    ref = NormalReference(3, memory_size=4)
    ref.fit_memory(torch.randn(20, 3), torch.Generator().manual_seed(1))
    ref.fit_stats(torch.randn(5, 3))
    copy = NormalReference(3, memory_size=4)
    copy.load_state_dict(ref.state_dict())
    assert copy.is_fitted and torch.equal(copy.memory, ref.memory) and torch.equal(copy.stats, ref.stats)


def test_positions_keep_one_vector_per_frame_position():
    f = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(1, 2, 3, 4, 5)  # (B, T', C, h, w)
    p = positions(f)
    assert p.shape == (2 * 4 * 5, 3)
    assert torch.equal(p[0], f[0, 0, :, 0, 0]) and torch.equal(p[-1], f[0, 1, :, 3, 4])


def test_the_anomaly_map_is_made_of_the_score_terms_at_every_position():
    torch.manual_seed(0)
    ref = NormalReference(feature_dim=3, memory_size=4, patch=2, top=2, playback_steps=0)
    ref.fit_memory(torch.randn(16, 3), torch.Generator().manual_seed(0))
    error = torch.rand(2, 3, 8, 8)
    ev = Evidence(error, torch.randn(2, 3, 3, 4, 4), torch.randn(2, 3, 3, 4, 4), error.shape)
    raw = ref.raw_maps(ev)
    assert torch.equal(ref.terms_of(raw, ev), ref.terms(ev)), "computed once, the same terms"
    ref.fit_stats(torch.stack([torch.rand(10), torch.rand(10) + 1, torch.zeros(10)], dim=1).double())
    maps = ref.anomaly_map(raw, ev)
    assert maps.shape == (2, 3, 8, 8)
    # bilinear upsampling mixes positions, so no pixel exceeds the frame's largest standardised position
    mean, std = ref.stats[:, 0].float(), ref.stats[:, 1].float()
    zmax = torch.maximum((raw[0].amax(dim=(2, 3)) - mean[0]) / std[0], (raw[1].amax(dim=-1) - mean[1]) / std[1])
    assert torch.all(maps.amax(dim=(2, 3)) <= zmax + 1e-5)
    spiked = replace(ev, error=ev.error.clone())
    spiked.error[0, 0, 6:8, 0:2] = 50.0  # a bright error in the bottom-left corner of one frame
    hot = ref.anomaly_map(ref.raw_maps(spiked), spiked)[0, 0]
    y, x = divmod(int(hot.argmax()), 8)
    assert y >= 5 and x <= 2, "the map is hottest where the error is"
