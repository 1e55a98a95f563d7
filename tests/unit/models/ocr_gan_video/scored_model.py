"""A tiny random OCR-GAN Video with a scoring reference, and the straightforward way to score it,
for the tests of the test path (`test_scoring`, `test_mixed_precision`)."""

import torch
import torch.nn.functional as F

from vadlit.models.ocr_gan_video.lightning_model import VideoAnomalyModule, to_unit_range
from vadlit.models.ocr_gan_video.torch_model import Evidence

B, T, S = 3, 4, 16
LAM = 0.7
# tiny: generator levels of 8 and 16 joint channels (8x8 and 4x4), discriminator 16 x 4x4
TINY = dict(image_size=S, clip_len=T, base_channels=4, depth=2, nz=16, d_base_channels=4, memory_size=32,
            memory_top=3, playback_steps=1, playback_top=5, score_lambda=LAM)
CASES = {  # the score's terms and the levels they read
    "default": dict(score_terms=["memory", "motion"]),
    "levels apart": dict(score_terms=["memory", "motion"], memory_level=0, playback_level=1),
    "first level only": dict(score_terms=["motion"], playback_level=0),
    "error": dict(score_terms=["error"]),
    "all terms": dict(score_terms=["error", "memory", "motion"], memory_level=0),
}


def clips(seed: int, masks: bool = True) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    batch = {"clip": torch.randint(0, 256, (B, T, 1, S, S), generator=g, dtype=torch.uint8),
             "video": torch.arange(B), "frames": torch.arange(T).repeat(B, 1)}
    if masks:
        batch.update(masks=torch.zeros(B, T, S, S, dtype=torch.bool), masked=torch.ones(B, dtype=torch.bool))
    return batch


def full_computation(model: VideoAnomalyModule, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Evidence]:
    """The straightforward way: everything for every slot, then the judged frames (B, T', 3 terms)."""
    net, ref = model.net, model.reference
    x = to_unit_range(batch["clip"])
    high, low = net.decompose(net.generator_input(x).flatten(0, 1))
    g = net.generator(high, low, B)  # every slot decoded
    x_hat = net.targets((g.high_hat + g.low_hat).view_as(x))
    fake = net.fake_clip(x, (g.high_hat + g.low_hat).view_as(x))
    f_real, f_fake = net.discriminate(x)[1], net.discriminate(fake)[1]  # whole clips, every slot
    rec = (net.targets(x) - x_hat).pow(2).mean(dim=2)
    feat = F.interpolate((net.targets(f_real) - net.targets(f_fake)).pow(2).mean(dim=2), size=(S, S),
                         mode="bilinear", align_corners=False)
    error = LAM * rec + (1 - LAM) * feat
    memory, motion = (net.targets(g.features[level]) for level in (model.memory_level, model.playback_level))
    terms = torch.stack([ref.error_term(error), ref.memory_term(memory), ref.motion_term(motion)], dim=-1)
    return terms, Evidence(error, memory, motion, error.shape)


def scored_model(objective: str, heads: int = 2, **score) -> VideoAnomalyModule:
    """A random model with a random memory and playback head, standardised on random 'validation' clips."""
    torch.manual_seed(0)
    model = VideoAnomalyModule(**TINY, heads=heads, objective=objective, **score).eval()
    with torch.no_grad():
        model.reference.memory.normal_()
        val = torch.cat([full_computation(model, clips(seed))[0].flatten(0, 1) for seed in (10, 11, 12)])
    model.reference.fit_stats(val.double())
    return model
