"""Temporal attention: the fused kernel (`F.scaled_dot_product_attention`, the default forward) against
the naive matmul-softmax path (`forward(..., return_weights=True)`, used to plot attention maps).

Both run forward + backward on the generator-bottleneck token count of the configured model (every
spatial position of every clip in a batch is one sequence of T frames), at several T: the naive path
materialises the (sequences, heads, T, T) weights and keeps them for the backward pass, so its time and
memory grow with T^2, which is what decides whether longer clips stay affordable. Both paths must give
the same output; the largest difference is reported.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from vadlit.tasks.bench.memory import CudaPeak, PeakTensorMemory
from vadlit.tasks.bench.timing import seconds_per_call
from vadlit.models.components.attention import TemporalAttention


def attention_step(module: TemporalAttention, x: torch.Tensor, grad: torch.Tensor, naive: bool) -> torch.Tensor:
    """Forward + backward of one path; returns the output (x.grad holds the input gradient)."""
    x.grad = None
    module.zero_grad(set_to_none=True)
    y = module(x, return_weights=True)[0] if naive else module(x)
    y.backward(grad)
    return y


def compare_paths(module: TemporalAttention, x: torch.Tensor, grad: torch.Tensor) -> dict[str, float]:
    """Largest absolute differences between the fused and naive paths (output and input gradient)."""
    y_fused = attention_step(module, x, grad, naive=False).detach()
    g_fused = x.grad.detach().clone()
    y_naive = attention_step(module, x, grad, naive=True).detach()
    g_naive = x.grad.detach().clone()
    return {"output": float((y_fused.float() - y_naive.float()).abs().max()),
            "input_grad": float((g_fused.float() - g_naive.float()).abs().max())}


def measure_attention(frames: list[int], width: int, heads: int, batch: int, positions: tuple[int, int],
                      device: torch.device, warmup: int, repeats: int, context=nullcontext) -> list[dict[str, Any]]:
    """One record per T: milliseconds and peak memory of forward + backward for both paths.

    x is (batch, T, width, h, w): batch * h * w sequences of T tokens. `context` (e.g. the run's
    autocast) is a factory of the context every call runs in.
    """
    rows = []
    height, width_px = positions
    sequences = batch * height * width_px
    for t in frames:
        torch.manual_seed(0)
        module = TemporalAttention(width, heads, max_len=t).to(device).train()
        x = torch.randn(batch, t, width, height, width_px, device=device, requires_grad=True)
        grad = torch.randn_like(x)
        row: dict[str, Any] = {"frames": t, "sequences": sequences, "width": width, "heads": heads,
                               # the float32 (sequences, heads, T, T) weights the naive path keeps for backward
                               "naive_weights_bytes": sequences * heads * t * t * 4}
        with context():
            row["max_abs_diff"] = compare_paths(module, x, grad)
            for name, naive in (("fused", False), ("naive", True)):
                seconds = seconds_per_call(lambda: attention_step(module, x, grad, naive), device, repeats, warmup)
                x.grad = None
                module.zero_grad(set_to_none=True)
                with PeakTensorMemory() as tensors, CudaPeak(device) as allocator:
                    y = attention_step(module, x, grad, naive)
                    del y
                row[name] = {"ms": seconds * 1e3, "peak_tensor_bytes": tensors.peak,
                             "peak_allocator_bytes": allocator.peak}
        row["naive_over_fused_time"] = row["naive"]["ms"] / row["fused"]["ms"]
        row["warmup"], row["repeats"] = warmup, repeats
        rows.append(row)
    return rows
