"""OmniFrequency: an exact, fixed high/low split of each frame."""

import pytest
import torch

from vadlit.models.components.frequency import OmniFrequency, binomial_kernel


def high_frequency_energy(x: torch.Tensor) -> torch.Tensor:
    """Energy of neighbouring-pixel differences, a simple measure of fine detail."""
    dx = x[..., :, 1:] - x[..., :, :-1]
    dy = x[..., 1:, :] - x[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


def test_split_is_exact():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    high, low = OmniFrequency()(x)
    assert torch.allclose(high + low, x, atol=1e-6)


def test_low_is_smooth_and_high_carries_the_detail():
    torch.manual_seed(0)
    x = torch.rand(2, 1, 32, 32) * 2 - 1  # white noise: all detail
    high, low = OmniFrequency()(x)
    assert high_frequency_energy(low) < 0.2 * high_frequency_energy(x)
    assert high_frequency_energy(high) > high_frequency_energy(low)


def test_constant_image_is_all_low():
    x = torch.full((1, 1, 16, 16), 0.3)
    high, low = OmniFrequency()(x)
    assert torch.allclose(low, x, atol=1e-6)
    assert high.abs().max() < 1e-6


@pytest.mark.parametrize("size", [(16, 16), (17, 17), (15, 22), (3, 5)])
def test_shapes_for_odd_and_even_sizes(size):
    x = torch.randn(2, 2, *size)
    high, low = OmniFrequency()(x)
    assert high.shape == low.shape == x.shape
    assert torch.allclose(high + low, x, atol=1e-6)


def test_batched_matches_per_image():
    torch.manual_seed(0)
    x = torch.randn(5, 1, 16, 16)
    freq = OmniFrequency()
    _, low = freq(x)
    for i in range(5):
        assert torch.allclose(low[i : i + 1], freq(x[i : i + 1])[1], atol=1e-6)


def test_kernel_is_a_fixed_normalised_buffer():
    freq = OmniFrequency()
    assert list(freq.parameters()) == []
    assert "kernel" not in freq.state_dict()
    kernel = binomial_kernel(5)
    assert torch.isclose(kernel.sum(), torch.tensor(1.0))
    assert torch.allclose(kernel[2], torch.tensor([1.0, 4, 6, 4, 1]) * 6 / 256)


def test_exact_under_autocast():
    x = torch.randn(2, 1, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        high, low = OmniFrequency()(x)
    assert high.dtype == low.dtype == torch.float32
    assert torch.allclose(high + low, x, atol=1e-6)
