"""Only what is scored is computed: the test path's scores and maps equal those of the full
computation (every slot decoded, the whole fake clip through the discriminator, every term at every
position, then the judged frames selected), while the parts the score does not read never run."""

import pytest
import torch

from tests.unit.models.ocr_gan_video.scored_model import B, CASES, T, clips, full_computation, scored_model
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule, to_unit_range


def close(new: torch.Tensor, old: torch.Tensor) -> None:
    """Equal up to float32 rounding: 1e-5 relative (of the largest value, for values near 0)."""
    assert new.dtype == old.dtype == torch.float32 and new.shape == old.shape
    torch.testing.assert_close(new, old, rtol=1e-5, atol=1e-5 * float(old.abs().max()))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_the_test_path_scores_as_the_full_computation(objective, case):
    model = scored_model(objective, **CASES[case])
    ref, batch = model.reference, clips(1)
    with torch.no_grad():
        terms, ev = full_computation(model, batch)
        old_scores = ref.standardise(terms)
        old_maps = ref.anomaly_map(ref.raw_maps(ev), ev)
        scores, maps = model.frame_scores(batch)
        clip_scores = model.predict_step(batch, 0)
    assert scores.shape == (B, T if objective == "reconstruct" else 1)
    close(scores, old_scores)
    close(maps, old_maps)
    assert torch.equal(clip_scores.scores, scores)  # the predict step is this path


def test_the_baseline_under_predict_falls_back_to_its_error():
    """The baseline's features of the hidden slot never see the clip: memory and motion do not vary,
    the score takes the error, and the test path computes it."""
    model = scored_model("predict", heads=0)
    assert model.reference.active().tolist() == [True, False, False]
    with torch.no_grad():
        terms, _ = full_computation(model, clips(1))
        close(model.frame_scores(clips(1))[0], model.reference.standardise(terms))


class Calls:
    """Counts the calls of modules (forward hooks)."""

    def __init__(self, **modules: torch.nn.Module) -> None:
        self.counts = dict.fromkeys(modules, 0)
        for name, module in modules.items():
            module.register_forward_hook(lambda *_, name=name: self.counts.__setitem__(name, self.counts[name] + 1))


@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_what_the_score_does_not_read_never_runs(objective):
    def calls(model: VideoAnomalyModule, masks: bool) -> dict[str, int]:
        g = model.net.generator
        seen = Calls(decoder=g.high.head, discriminator=model.net.discriminator.encoder,
                     level_1=g.high.encoder[1], surprise=model.reference.playback)
        with torch.no_grad():
            model.frame_scores(clips(1, masks=masks))
        return seen.counts

    # memory and motion read the encoder: no decoder, no discriminator, every level up to the bottleneck
    assert calls(scored_model(objective), masks=True) == dict(decoder=0, discriminator=0, level_1=1, surprise=1)
    # the motion term alone, on the first level: the encoder stops there
    first = scored_model(objective, **CASES["first level only"])
    assert calls(first, masks=False) == dict(decoder=0, discriminator=0, level_1=0, surprise=1)
    # the error term needs the decoded frames and the discriminator, once for the real and once for the fake
    assert calls(scored_model(objective, **CASES["error"]), masks=True) == dict(decoder=1, discriminator=2,
                                                                               level_1=1, surprise=0)


@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_the_reference_features_are_the_generators(objective):
    """`target_features` (the memory and playback fits) runs the encoder alone, with the same values."""
    model = scored_model(objective)
    x = to_unit_range(clips(2)["clip"])
    with torch.no_grad():
        out = model.net.generate(x)
        for level in (0, 1, -1):
            close(model.net.target_features(x, level), model.net.targets(out.features[level]))
