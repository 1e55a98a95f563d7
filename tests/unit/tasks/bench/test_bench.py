"""vadlit-bench's parts without a run: FLOP counts add up (a hand count); both attention paths agree;
peak tensor memory; case overrides; bad bench settings name their key."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.helpers.paths import CONF


def test_flop_count_of_one_layer_matches_a_hand_count():
    from vadlit.tasks.bench.flops import count_flops

    conv = nn.Conv2d(3, 8, kernel_size=4, stride=2, padding=1)
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    forward = 2 * 2 * 8 * 8 * 8 * 3 * 4 * 4  # 2 * N * C_out * H_out * W_out * C_in * k * k
    assert count_flops(conv, x) == forward
    # backward: the input gradient and the weight gradient each cost one forward
    assert count_flops(lambda: conv(x).sum().backward()) == 3 * forward

    linear = nn.Linear(16, 32)
    assert count_flops(linear, torch.randn(5, 16)) == 2 * 5 * 16 * 32


def test_fused_attention_on_cpu_is_counted_like_the_naive_path():
    from vadlit.tasks.bench.flops import count_flops
    from vadlit.models.components.attention import TemporalAttention

    attention = TemporalAttention(32, heads=4, max_len=8)
    x = torch.randn(2, 8, 32, 3, 3)
    fused, naive = count_flops(attention, x), count_flops(lambda: attention(x, return_weights=True))
    n, t, d = 2 * 9 * 4, 8, 8  # sequences * heads, frames, head width
    assert fused == naive
    projections = 2 * (2 * 9 * 8) * 32 * (3 * 32 + 32)  # qkv and output projections over all tokens
    assert fused == projections + 2 * (2 * n * t * t * d)  # q k^T and weights @ v


def test_naive_and_fused_attention_give_the_same_output_and_gradients():
    from vadlit.tasks.bench.attention_speed import compare_paths
    from vadlit.models.components.attention import TemporalAttention

    torch.manual_seed(0)
    attention = TemporalAttention(64, heads=4, max_len=16).train()
    x = torch.randn(3, 16, 64, 2, 2, requires_grad=True)
    diff = compare_paths(attention, x, torch.randn_like(x))
    assert diff["output"] < 1e-5 and diff["input_grad"] < 1e-5


def test_peak_tensor_memory_sees_allocations_and_frees():
    from vadlit.tasks.bench.memory import PeakTensorMemory

    kept = torch.zeros(10)
    with PeakTensorMemory() as memory:
        a = torch.empty(1000, dtype=torch.float32)  # 4000 bytes
        view = a.view(10, 100)
        a.add_(1)  # in place: no new memory
        b = torch.empty(500, dtype=torch.float64)  # 4000 bytes
        del b
        kept.add_(1)  # existed before: not counted
    assert memory.peak == 8000 and memory.current == 4000
    del a, view
    assert memory.current == 0


def test_case_overrides_replace_the_command_line_ones():
    from vadlit.tasks.bench.cases import merge_overrides, override_key

    assert override_key("+model.compile=true") == "model.compile" and override_key("model=ta4") == "model"
    merged = merge_overrides(["model=ta8", "model.lr=1e-3", "data.image_size=32"],
                             ["model=baseline", "data.image_size=128"])
    assert merged == ["model.lr=1e-3", "model=baseline", "data.image_size=128"]


@pytest.mark.parametrize(
    "override,key",
    [
        ("bench.steps=0", "bench.steps"),
        ("bench.models=[ta3]", "bench.models"),
        ("bench.objectives=[forecast]", "bench.objectives"),
        ("bench.attention.frames=[]", "bench.attention.frames"),
        ("bench.goals.cpu_mfu=-1", "bench.goals.cpu_mfu"),
    ],
)
def test_bad_bench_settings_fail_naming_the_key(override, key):
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from vadlit.tasks.bench.cases import Composer
    from vadlit.tasks.bench.settings import load_settings
    from vadlit.errors import ConfigError

    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF)):
        cfg = compose(config_name="bench", overrides=[override, "paths.output_dir=unused"])
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(cfg.bench, Composer("bench", [], CONF).group_options("model"))
