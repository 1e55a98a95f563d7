"""Mixed precision stays float32 where it must: under autocast (bf16 on CPU here; CUDA takes the same
code path) the networks run in bf16, but the scores, the anomaly maps, the reference and the
attention weights given for the analysis are float32, and the reference is fitted under the same
autocast as the test scores it standardises."""

from dataclasses import dataclass

import lightning.pytorch as L
import pytest
import torch
from torch.utils.data import DataLoader

from tests.unit.models.ocr_gan_video.scored_model import CASES, clips, scored_model
from vadlit.models.ocr_gan_video.lightning_model import to_unit_range
from vadlit.models.ocr_gan_video.playback import span

BF16 = dict(device_type="cpu", dtype=torch.bfloat16)
TERM_RTOL = 1e-2
"""bf16 keeps 8 significant bits: each rounding is off by up to 2^-9 (0.2%) of its value. The terms
come out of a few layers of such roundings (the features) and float32 arithmetic (the distances,
the playback head, the error map), and are means over positions; 1% leaves room for the layers to
add up (measured: at most 0.15% on the tiny model here)."""


def terms_and_scores(model, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The raw terms (B, T', 3), scores and maps of the test path."""
    ref = model.reference
    x = to_unit_range(batch["clip"])
    ev = model.net.scored_evidence(x, model.hparams.score_lambda, model.memory_level, model.playback_level,
                                   ref.active().tolist())
    raw = ref.raw_maps(ev)
    scores, maps = model.frame_scores(batch)
    return ref.terms_of(raw, ev), scores, maps


@pytest.mark.parametrize("case", ["default", "all terms"])
@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_scores_and_maps_are_float32_and_close_to_float32_ones(objective, case):
    model = scored_model(objective, **CASES[case])
    batch = clips(1)
    with torch.no_grad():
        terms, scores, maps = terms_and_scores(model, batch)
        with torch.autocast(**BF16):
            terms16, scores16, maps16 = terms_and_scores(model, batch)
    assert scores16.dtype == maps16.dtype == terms16.dtype == torch.float32
    active = model.reference.active()
    torch.testing.assert_close(terms16[..., active], terms[..., active], rtol=TERM_RTOL, atol=0.0)
    # a score is (term - mean) / std: a term off by a relative e moves it by e * |term| / std
    std = model.reference.stats[:, 1]
    bound = (TERM_RTOL * terms.abs() / std)[..., active].amax()
    assert (scores16 - scores).abs().max() <= bound
    assert model.predict_step(batch, 0).scores.dtype == torch.float32


@pytest.mark.parametrize("objective", ["reconstruct", "predict"])
def test_the_attention_weights_for_the_analysis_are_float32(objective):
    model = scored_model(objective)
    x = to_unit_range(clips(1)["clip"])
    with torch.no_grad(), torch.autocast(**BF16):
        out = model.net.generate(x, return_attention=True)
        _, _, d_attn = model.net.discriminate(x, return_attention=True)
    assert out.x_hat.dtype == torch.bfloat16  # the networks did run in bf16
    for weights in (out.attention, d_attn):
        assert weights.dtype == torch.float32
        torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights[..., 0]))


@dataclass
class Video:
    name: str
    frames: int

    def __len__(self) -> int:
        return self.frames


class NormalData:
    """The datamodule methods the reference fit reads, over random clips of one 'normal' video."""

    def __init__(self, clip_len: int) -> None:
        self.clip_len = clip_len
        self.frames = 12 + span(clip_len, [2, 3, 4])  # long enough to replay 4x faster
        self.train_split = type("Split", (), {"videos": [Video("normal", self.frames)]})()

    def _clips(self, length: int, seed: int) -> list[dict[str, torch.Tensor]]:
        g = torch.Generator().manual_seed(seed)
        starts = range(self.frames - length + 1)
        return [{"clip": torch.randint(0, 256, (length, 1, 16, 16), generator=g, dtype=torch.uint8),
                 "video": torch.tensor(0), "frames": torch.arange(s, s + length)} for s in starts]

    def reference_dataloaders(self) -> tuple[DataLoader, DataLoader]:
        return (DataLoader(self._clips(self.clip_len, 0), batch_size=4),
                DataLoader(self._clips(self.clip_len, 1), batch_size=4))

    def train_windows(self, length: int) -> DataLoader:
        assert length == span(self.clip_len, [2, 3, 4])
        return DataLoader(self._clips(length, 2), batch_size=4)


# predict takes the same path with its last-slot target: slow (make test-all), to keep make test short
@pytest.mark.parametrize("objective", ["reconstruct", pytest.param("predict", marks=pytest.mark.slow)])
def test_the_reference_is_fitted_in_float32_under_the_test_autocast(objective):
    """The fit runs in a hook, outside Lightning's predict-step autocast: it takes the same autocast,
    so the memory and the statistics are those of the features the test scores are made of."""
    model = scored_model(objective, **CASES["all terms"])
    data = NormalData(model.hparams.clip_len)
    model.trainer = L.Trainer(accelerator="cpu", precision="bf16-mixed", logger=False, enable_progress_bar=False,
                              enable_checkpointing=False, enable_model_summary=False)
    model.fit_reference(data)
    ref = model.reference
    assert ref.stats.dtype == ref.memory.dtype == torch.float32
    assert all(p.dtype == torch.float32 for p in ref.playback.parameters())

    def validation_terms() -> torch.Tensor:
        _, val = data.reference_dataloaders()
        return torch.cat([ref.terms(model._evidence(b)[2]).flatten(0, 1) for b in val])

    with torch.no_grad():
        with torch.autocast(**BF16):
            autocast_terms = validation_terms()
        float32_terms = validation_terms()
    torch.testing.assert_close(ref.stats[:, 0], autocast_terms.mean(0), rtol=1e-5, atol=0.0)
    assert not torch.allclose(ref.stats[1:, 0], float32_terms.mean(0)[1:], rtol=1e-6, atol=0.0)
