"""OCRGANVideo: every head count x objective runs end to end; predict never sees its target frame."""

import pytest
import torch

from vadlit.errors import ConfigError
from vadlit.models.ocr_gan_video.hparams import HParams
from vadlit.models.ocr_gan_video.torch_model import GeneratorOutput, OCRGANVideo

B, T, S = 2, 4, 16
HEADS = [0, 1, 2, 4, 8]
OBJECTIVES = ["reconstruct", "predict"]
# tiny: generator widths 4, 8 -> bottleneck 2*Cb = 16 (4x4); discriminator 16 -> 4x4 with nz = 16
TINY = dict(in_channels=1, image_size=S, clip_len=T, base_channels=4, depth=2, nz=16, d_base_channels=4)


def tiny(heads: int = 4, objective: str = "reconstruct", seed: int = 0, **overrides) -> OCRGANVideo:
    torch.manual_seed(seed)
    hp = HParams.from_config({**TINY, "heads": heads, "objective": objective, **overrides})  # checked as a config is
    return OCRGANVideo(**hp.network())


def clip(seed: int = 1, batch: int = B) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.rand(batch, T, 1, S, S) * 2 - 1


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("heads", HEADS)
def test_runs_end_to_end(heads, objective):
    model = tiny(heads, objective)
    x = clip()
    out = model.generate(x, return_attention=True)
    assert isinstance(out, GeneratorOutput)
    for t in (out.high, out.low):
        assert t.shape == x.shape
    for t in (out.x_hat, out.high_hat, out.low_hat):  # only the judged frames are decoded
        assert t.shape == model.targets(x).shape
    assert torch.allclose(out.x_hat, out.high_hat + out.low_hat)
    if heads == 0:
        assert out.attention is None
    else:
        assert out.attention.shape == (B, (S // 4) ** 2, heads, T, T)
        assert torch.allclose(out.attention.sum(-1), torch.ones(()), atol=1e-5)

    fake = model.fake_clip(x, out.x_hat)
    logits_fake, f_fake, attn_d = model.discriminate(fake, return_attention=True)
    logits_real, f_real, _ = model.discriminate(x)
    assert logits_fake.shape == logits_real.shape == (B, T)
    assert f_fake.shape == f_real.shape == (B, T, 16, 4, 4)
    assert (attn_d is None) == (heads == 0)
    if heads:
        assert attn_d.shape == (B, 16, heads, T, T)

    scores = model.score(x, out, lam=0.9)
    t_prime = T if objective == "reconstruct" else 1
    assert scores.shape == (B, t_prime) and torch.isfinite(scores).all() and (scores >= 0).all()

    rec = (model.targets(x) - out.x_hat).abs().mean()
    loss = rec + logits_fake.mean() - logits_real.mean() + (f_real - f_fake).pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"no gradient for {name}"


def test_parameter_counts():
    counts = {h: tiny(h).parameter_counts() for h in HEADS}
    for c in counts.values():
        assert c["total"] == c["generator"] + c["discriminator"]
    attention_totals = {counts[h]["total"] for h in (1, 2, 4, 8)}
    assert len(attention_totals) == 1
    assert counts[0]["total"] < attention_totals.pop()
    assert counts[0]["generator"] < counts[4]["generator"]
    assert counts[0]["discriminator"] < counts[4]["discriminator"]
    # the decomposition is fixed: every parameter belongs to the generator or the discriminator
    model = tiny(4)
    assert sum(p.numel() for p in model.parameters()) == counts[4]["total"]


def test_state_dict_moves_between_head_counts():
    one, eight = tiny(1, seed=0), tiny(8, seed=1)
    eight.load_state_dict(one.state_dict())


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_eval_mode_is_deterministic(objective):
    model = tiny(4, objective, attn_dropout=0.3).eval()
    x = clip()
    with torch.no_grad():
        a, b = model.generate(x), model.generate(x)
        assert torch.equal(a.x_hat, b.x_hat)
        c, d = model.generate(x, return_attention=True), model.generate(x, return_attention=True)
        assert torch.equal(c.x_hat, d.x_hat) and torch.equal(c.attention, d.attention)
        assert torch.allclose(c.x_hat, a.x_hat, atol=1e-6)  # explicit-weights path == SDPA path
        assert torch.equal(model.score(x, a, 0.5), model.score(x, b, 0.5))
        assert torch.equal(model.discriminate(x)[0], model.discriminate(x)[0])


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("heads", [0, 4])
def test_predict_never_sees_the_last_frame(heads, train):
    model = tiny(heads, "predict").train(train)
    x = clip()
    changed_last = x.clone()
    changed_last[:, -1] = torch.rand_like(x[:, -1]) * 2 - 1
    changed_earlier = x.clone()
    changed_earlier[:, -2] = torch.rand_like(x[:, -2]) * 2 - 1
    with torch.no_grad():
        base = model.generate(x)
        assert torch.equal(model.generate(changed_last).x_hat, base.x_hat)
        # the earlier frames reach the hidden slot through attention only: not at all in the baseline
        # (in training mode BatchNorm's batch statistics mix every frame of the batch)
        unchanged = torch.allclose(model.generate(changed_earlier).x_hat, base.x_hat)
        assert not unchanged if heads else unchanged or train
    # the generator input blanks the last slot (and its features are the mask token anyway)
    assert not base.high[:, -1].any() and not base.low[:, -1].any()
    assert model.generator.mask_frame is not None


@pytest.mark.parametrize("temporal_levels", ["all", "bottleneck"])
@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("heads", [0, 1, 4])
def test_attention_is_the_only_path_between_frames(heads, objective, temporal_levels):
    """The baseline's networks have no temporal path: the last frame's generated image, its
    generator features and its discriminator features do not change when an earlier frame of the
    clip changes; with attention all of them do."""
    model = tiny(heads, objective, temporal_levels=temporal_levels).eval()  # eval: BatchNorm mixes no frames
    x = clip()
    changed = x.clone()
    changed[:, 0] = torch.rand_like(x[:, 0]) * 2 - 1
    with torch.no_grad():
        a, b = model.generate(x), model.generate(changed)
        pairs = [(a.x_hat[:, -1], b.x_hat[:, -1]), (model.discriminate(x)[1][:, -1], model.discriminate(changed)[1][:, -1])]
        pairs += [(fa[:, -1], fb[:, -1]) for fa, fb in zip(a.features, b.features)]
    same = [torch.allclose(u, v, atol=1e-6) for u, v in pairs]
    if heads == 0:
        assert all(same)
    else:
        # image, D features and the bottleneck always; every level when attention is on every level
        must_differ = same if temporal_levels == "all" else same[:2] + same[-1:]
        assert not any(must_differ)


def test_targets_and_fake_clip():
    x, x_hat = clip(1), clip(2)
    rec = tiny(0, "reconstruct")
    assert rec.targets(x).shape == (B, T, 1, S, S)
    assert torch.equal(rec.fake_clip(x, x_hat), x_hat)
    pred = tiny(0, "predict")
    assert torch.equal(pred.targets(x), x[:, -1:])
    fake = pred.fake_clip(x, x_hat)
    assert torch.equal(fake[:, :-1], x[:, :-1]) and torch.equal(fake[:, -1], x_hat[:, -1])


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_evidence_terms(objective):
    model = tiny(2, objective).eval()
    x = clip()
    with torch.no_grad():
        out = model.generate(x)
        rec = (model.targets(x) - out.x_hat).pow(2).mean(dim=2)
        f_real = model.discriminate(x)[1]
        f_fake = model.discriminate(model.fake_clip(x, out.x_hat))[1]
        feat = (model.targets(f_real) - model.targets(f_fake)).pow(2).mean(dim=2)
        feat = torch.nn.functional.interpolate(feat, size=(S, S), mode="bilinear", align_corners=False)
        assert torch.allclose(model.evidence(x, out, 1.0, 0).error, rec, atol=1e-6)
        assert torch.allclose(model.evidence(x, out, 0.0, 0).error, feat, atol=1e-6)
        assert torch.allclose(model.evidence(x, out, 0.3, 0).error, 0.3 * rec + 0.7 * feat, atol=1e-6)
        assert torch.allclose(model.score(x, out, 0.3), (0.3 * rec + 0.7 * feat).mean(dim=(2, 3)), atol=1e-6)
        # the memory sees the judged frames' attention-mixed features of the chosen level
        assert torch.equal(model.evidence(x, out, 0.5, 1).features, model.targets(out.features[1]))
        # a perfect reconstruction scores zero
        perfect = GeneratorOutput(model.targets(x), out.high, out.low, out.high_hat, out.low_hat, features=out.features)
        assert torch.allclose(model.score(x, perfect, 0.5), torch.zeros(()), atol=1e-6)
    with pytest.raises(ValueError, match="lam"):
        model.score(x, out, 1.5)


def test_fake_encoding_reuses_the_real_history():
    model = tiny(4, "predict").eval()
    x, x_hat = clip(1), clip(2)[:, -1:]
    with torch.no_grad():
        real = model.discriminator.encode(x)
        assert torch.allclose(model.fake_encoding(real, x_hat), model.discriminator.encode(model.fake_clip(x, x_hat)),
                              atol=1e-6)


def test_bf16_autocast_on_cpu():
    model = tiny(4, "predict").eval()
    x = clip()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = model.generate(x, return_attention=True)
        logits, _, _ = model.discriminate(model.fake_clip(x, out.x_hat))
        scores = model.score(x, out, 0.9)
    assert torch.isfinite(out.x_hat).all() and torch.isfinite(logits).all()
    assert scores.dtype == torch.float32 and scores.shape == (B, 1)


def test_rectangular_frames():
    model = tiny(2, image_size=(16, 32))
    x = torch.rand(B, T, 1, 16, 32) * 2 - 1
    out = model.generate(x)
    logits, features, _ = model.discriminate(out.x_hat)
    assert out.x_hat.shape == x.shape and logits.shape == (B, T) and features.shape == (B, T, 16, 4, 8)


def test_x_hat_can_reach_the_image_range():
    out = tiny(0).generate(clip())
    assert out.low_hat.abs().max() <= 1 and out.high_hat.abs().max() <= 1  # tanh on both streams


@pytest.mark.parametrize("heads", HEADS)
def test_default_configuration_builds(heads):
    counts = OCRGANVideo(**HParams(heads=heads).network()).parameter_counts()
    assert counts["total"] > 0


@pytest.mark.parametrize(
    "overrides, pattern",
    [
        (dict(heads=3), r"model\.heads=3.*2\*Cb=16.*model\.nz=16"),
        (dict(heads=16, nz=8), r"model\.heads=16.*model\.nz=8"),
        (dict(heads=-1), r"model\.heads=-1"),
        (dict(nz=12), r"model\.nz=12"),
        (dict(nz=0, heads=0), r"model\.nz=0"),
        (dict(objective="predict", clip_len=1), r"data\.clip_len=1.*model\.objective"),
        (dict(clip_len=0), r"data\.clip_len=0"),
        (dict(objective="forecast"), r"model\.objective='forecast'"),
        (dict(image_size=18), r"data\.image_size=\(18, 18\).*model\.depth=2"),
        (dict(image_size=8, depth=3), r"data\.image_size=\(8, 8\).*model\.depth=3"),
        (dict(image_size=24), r"data\.image_size=\(24, 24\)"),  # fits the generator, not the discriminator
        (dict(depth=0), r"model\.depth=0"),
        (dict(base_channels=0), r"model\.base_channels=0"),
    ],
)
def test_config_errors_name_the_key(overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        tiny(**{"heads": 4, **overrides})


def test_clip_longer_than_clip_len():
    model = tiny(4)
    with pytest.raises(ValueError, match=r"clip_len=4"):
        model.generate(torch.zeros(1, T + 1, 1, S, S))


def test_temporal_convolution_variant_mixes_time_with_attentions_budget():
    conv, attention = tiny(4, "predict", temporal_mixer="conv"), tiny(4, "predict")
    c, a = conv.parameter_counts()["total"], attention.parameter_counts()["total"]
    widths = [b.dim for b in [*attention.generator.temporal, attention.discriminator.attention]]
    assert a - c == 2 * sum(widths), "the same budget but for the q/k/v biases (3C) against the conv's (C)"
    x = clip()
    changed = x.clone()
    changed[:, -2] = torch.rand_like(x[:, -2]) * 2 - 1
    conv.eval()
    with torch.no_grad():
        out = conv.generate(x, return_attention=True)
        assert out.attention is None  # a convolution has no attention weights
        assert not torch.allclose(conv.generate(changed).x_hat, out.x_hat), "the hidden frame sees its neighbour"
    with pytest.raises(ConfigError, match="model.temporal_mixer"):
        tiny(4, temporal_mixer="lstm")
