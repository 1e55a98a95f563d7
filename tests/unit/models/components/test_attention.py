"""TemporalAttention against a naive reference, and the head-count invariants the experiments rely on."""

import math

import pytest
import torch
import torch.nn.functional as F

from vadlit.models.components.attention import TemporalAttention

B, T, C, H, W = 2, 4, 16, 2, 3


def naive_reference(ta: TemporalAttention, x: torch.Tensor, heads: int) -> torch.Tensor:
    """Loop over every clip and spatial position; split the projections into ``heads`` by hand."""
    out = torch.empty_like(x)
    d = C // heads
    w_qkv, b_qkv = ta.qkv.weight, ta.qkv.bias
    for b in range(x.shape[0]):
        for i in range(x.shape[3]):
            for j in range(x.shape[4]):
                tok = x[b, :, :, i, j]  # (T, C)
                z = F.layer_norm(tok + ta.pos[0, : x.shape[1]], (C,), ta.norm.weight, ta.norm.bias, ta.norm.eps)
                qkv = z @ w_qkv.T + b_qkv
                q, k, v = qkv[:, :C], qkv[:, C : 2 * C], qkv[:, 2 * C :]
                per_head = []
                for h in range(heads):
                    qh, kh, vh = (t[:, h * d : (h + 1) * d] for t in (q, k, v))
                    a = torch.softmax(qh @ kh.T / math.sqrt(d), dim=-1)
                    per_head.append(a @ vh)
                o = torch.cat(per_head, dim=-1)
                out[b, :, :, i, j] = tok + o @ ta.proj.weight.T + ta.proj.bias
    return out


def make(heads: int, seed: int = 0, max_len: int = 8) -> TemporalAttention:
    torch.manual_seed(seed)
    return TemporalAttention(C, heads, max_len=max_len).eval()


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(123)
    return torch.randn(B, T, C, H, W)


@pytest.mark.parametrize("heads", [1, 2, 4, 8])
def test_matches_naive_reference(heads, x):
    ta = make(heads)
    with torch.no_grad():
        assert torch.allclose(ta(x), naive_reference(ta, x, heads), atol=1e-5)


@pytest.mark.parametrize("heads", [1, 2, 4, 8])
def test_returned_weights(heads, x):
    ta = make(heads)
    with torch.no_grad():
        y_sdpa = ta(x)
        y, weights = ta(x, return_weights=True)
    assert weights.shape == (B, H * W, heads, T, T)
    assert weights.dtype == torch.float32
    assert torch.allclose(weights.sum(-1), torch.ones(B, H * W, heads, T), atol=1e-6)
    assert torch.allclose(y, y_sdpa, atol=1e-5)


def test_weights_are_per_position():
    """Weights of position (i, j) come from that position's tokens only."""
    ta = make(2)
    torch.manual_seed(0)
    x = torch.randn(1, T, C, 2, 2)
    x2 = x.clone()
    x2[..., 1, 1] += torch.randn(T, C)  # position index 3 in h*w order (not a constant: LayerNorm removes it)
    with torch.no_grad():
        _, w1 = ta(x, return_weights=True)
        _, w2 = ta(x2, return_weights=True)
    assert torch.equal(w1[:, :3], w2[:, :3])
    assert not torch.allclose(w1[:, 3], w2[:, 3])


def test_heads_zero_is_identity_without_parameters(x):
    ta = TemporalAttention(C, 0, max_len=2)  # max_len is irrelevant for the identity
    assert sum(p.numel() for p in ta.parameters()) == 0
    assert ta.state_dict() == {}
    assert ta(x) is x
    y, weights = ta(x, return_weights=True)
    assert y is x and weights is None


def test_identical_parameter_counts():
    counts = {h: sum(p.numel() for p in make(h).parameters()) for h in (1, 2, 4, 8)}
    assert len(set(counts.values())) == 1
    assert counts[1] == 8 * C + 2 * C + (3 * C * C + 3 * C) + (C * C + C)  # pos, norm, qkv, proj


def test_state_dict_moves_between_head_counts(x):
    ta1, ta4 = make(1, seed=0), make(4, seed=1)
    ta4.load_state_dict(ta1.state_dict())  # strict: same keys, same shapes
    with torch.no_grad():
        y1, y4 = ta1(x), ta4(x)
        assert not torch.allclose(y1, y4, atol=1e-4)  # same weights, different split
        assert torch.allclose(y4, naive_reference(ta1, x, heads=4), atol=1e-5)
        assert torch.allclose(y1, naive_reference(ta1, x, heads=1), atol=1e-5)


def test_shorter_clips_use_the_first_positions(x):
    ta = make(2, max_len=8)
    with torch.no_grad():
        assert torch.allclose(ta(x[:, :2]), naive_reference(ta, x[:, :2], 2), atol=1e-5)


def test_gradients_reach_every_parameter(x):
    ta = TemporalAttention(C, 4, max_len=T)
    ta(x, return_weights=True)[0].sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in ta.parameters())


@pytest.mark.parametrize("return_weights", [False, True])
def test_bf16_autocast_on_cpu(return_weights, x):
    ta = make(4)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = ta(x, return_weights=return_weights)
    y = out[0] if return_weights else out
    assert y.shape == x.shape and torch.isfinite(y).all()
    with torch.no_grad():
        assert torch.allclose(y.float(), ta(x), atol=0.1)
    if return_weights:
        assert out[1].dtype == torch.float32
        assert torch.allclose(out[1].sum(-1), torch.ones(()), atol=1e-5)


def test_dropout_only_in_training(x):
    torch.manual_seed(0)
    ta = TemporalAttention(C, 2, max_len=T, dropout=0.5)
    ta.eval()
    with torch.no_grad():
        assert torch.equal(ta(x), ta(x))
        ta.train()
        assert not torch.allclose(ta(x), ta(x))


@pytest.mark.parametrize("heads", [3, 5, 32])
def test_heads_must_divide_width(heads):
    with pytest.raises(ValueError, match=rf"heads={heads}.*width {C}"):
        TemporalAttention(C, heads, max_len=T)


def test_negative_heads():
    with pytest.raises(ValueError, match=r"heads=-1"):
        TemporalAttention(C, -1, max_len=T)


def test_clip_longer_than_positions(x):
    ta = make(2, max_len=T - 1)
    with pytest.raises(ValueError, match=rf"max_len={T - 1}"):
        ta(x)


def test_bad_max_len():
    with pytest.raises(ValueError, match=r"max_len=0"):
        TemporalAttention(C, 2, max_len=0)
