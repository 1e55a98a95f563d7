"""`model.channels_last` and `model.compile` change how the networks run, not what they compute:
channels_last puts the convolution weights and inputs in NHWC, compile compiles the networks in
place (the parts the training step and the score call), never the LightningModule."""

import torch
from torch import nn

from tests.unit.models.ocr_gan_video.scored_model import TINY, clips
from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule, to_unit_range

CHANNELS_LAST = torch.channels_last


def module(**options) -> VideoAnomalyModule:
    torch.manual_seed(0)
    return VideoAnomalyModule(**TINY, heads=2, objective="predict", **options).eval()


def test_channels_last_runs_every_convolution_in_nhwc_with_the_same_results():
    plain, nhwc = module(), module(channels_last=True)
    four_d = [(name, p) for name, p in nhwc.net.named_parameters() if p.ndim == 4]
    assert four_d and all(p.is_contiguous(memory_format=CHANNELS_LAST) for _, p in four_d)
    layouts = []
    for layer in nhwc.net.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            layer.register_forward_hook(
                lambda m, args, out: layouts.append(out.is_contiguous(memory_format=CHANNELS_LAST)))
    x = to_unit_range(clips(1)["clip"])
    with torch.no_grad():
        a, b = plain.net.generate(x), nhwc.net.generate(x)
        scores_a = plain.net.score(x, a, 0.9)
        scores_b = nhwc.net.score(x, b, 0.9)
    assert len(layouts) > 10 and all(layouts), "every convolution of G and D ran in NHWC"
    torch.testing.assert_close(b.x_hat, a.x_hat, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(scores_b, scores_a, rtol=1e-5, atol=1e-7)


def compiled(m: nn.Module) -> bool:
    return getattr(m, "_compiled_call_impl", None) is not None


def test_compile_compiles_the_networks_where_they_are_called_and_keeps_the_checkpoint_names():
    model = module(compile=True)
    names = list(model.state_dict())
    model.configure_model()  # compiling is lazy: nothing runs here
    g, d = model.net.generator, model.net.discriminator
    # G is always called through its forward; D through `encode` and `judge`, never its forward
    assert compiled(g) and all(compiled(part) for part in (d.encoder, d.attention, d.classifier))
    assert not compiled(model) and not compiled(model.net)
    assert list(model.state_dict()) == names
    untouched = module()
    untouched.configure_model()
    assert not any(compiled(m) for m in untouched.modules())
