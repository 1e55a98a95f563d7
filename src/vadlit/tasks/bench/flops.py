"""FLOPs of a training step and the machine's dense rate, for model FLOP utilisation (MFU).

Seconds per step alone cannot say whether a model is slow or the machine is: MFU = achieved FLOP/s over
what large dense kernels reach on the same device and dtype, measured in the same run (not a datasheet
number, which a shared or throttled machine never reaches). The reference is the faster of a large
`torch.mm` and a large 3x3 convolution: on some CPUs the BLAS behind `torch.mm` is slower than the
convolution library (oneDNN) the model's convolutions use, and an MFU above 100% would say nothing.

FLOPs are counted by `torch.utils.flop_counter.FlopCounterMode` (matmuls, convolutions and their
backward passes, attention kernels; elementwise work, norms and optimizer updates count as 0, as is
usual for MFU). PyTorch's CPU fused-attention kernel has no formula there, so one is added here (the
same formulas as the GPU attention kernels), otherwise a CPU step would count its attention as free.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from vadlit.tasks.bench.timing import best_seconds

_aten = torch.ops.aten


def _extra_formulas() -> dict:
    try:
        from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count
    except ImportError:  # a torch without these helpers: CPU attention is then counted as 0
        return {}

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    formulas = {}
    for name, formula in (("_scaled_dot_product_flash_attention_for_cpu", forward),
                          ("_scaled_dot_product_flash_attention_for_cpu_backward", backward)):
        if hasattr(_aten, name):
            formulas[getattr(_aten, name)] = formula
    return formulas


def flop_counter() -> FlopCounterMode:
    """A FlopCounterMode (no printout) that also counts PyTorch's CPU fused attention."""
    return FlopCounterMode(display=False, custom_mapping=_extra_formulas())


def count_flops(fn, *args, **kwargs) -> int:
    """FLOPs of everything `fn(*args, **kwargs)` runs, backward passes included."""
    with flop_counter() as counter:
        fn(*args, **kwargs)
    return int(counter.get_total_flops())


def compute_dtype(precision: str) -> torch.dtype:
    """The dtype a Lightning precision setting does its matmuls in (`bf16-mixed` -> bfloat16)."""
    p = str(precision)
    if "bf16" in p:
        return torch.bfloat16
    if p.startswith("16") or p in ("half",):
        return torch.float16
    if p.startswith("64") or p == "double":
        return torch.float64
    return torch.float32


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def matmul_rate(device: torch.device, dtype: torch.dtype, sizes: list[int], repeats: int) -> dict:
    """Dense `torch.mm` FLOP/s of n x n matrices (best of `repeats`) per size, and the best size's."""
    by_size = {}
    generator = torch.Generator(device=device).manual_seed(0)
    for n in sizes:
        a = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
        b = torch.randn(n, n, device=device, dtype=dtype, generator=generator)
        seconds = best_seconds(lambda: torch.mm(a, b), device, repeats)
        by_size[str(n)] = 2.0 * n**3 / seconds
    return {"flops_per_s": max(by_size.values()), "by_size": by_size}


def conv_rate(device: torch.device, dtype: torch.dtype, channels: int, repeats: int, batch: int = 32,
              side: int = 16) -> dict:
    """Dense 3x3 convolution FLOP/s (`channels` in and out, stride 1) with the default backend settings."""
    generator = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(batch, channels, side, side, device=device, dtype=dtype, generator=generator)
    w = torch.randn(channels, channels, 3, 3, device=device, dtype=dtype, generator=generator)
    seconds = best_seconds(lambda: F.conv2d(x, w, padding=1), device, repeats)
    flops = 2.0 * batch * channels * channels * side * side * 9
    return {"flops_per_s": flops / seconds, "shape": [batch, channels, side, side]}


def dense_rate(device: torch.device, dtype: torch.dtype, sizes: list[int], conv_channels: int, repeats: int) -> dict:
    """The MFU reference in `dtype`: the best of `torch.mm` (per size) and, if `conv_channels`, a 3x3 conv."""
    record = {"dtype": dtype_name(dtype), "repeats": repeats, "mm": matmul_rate(device, dtype, sizes, repeats)}
    if conv_channels:
        record["conv3x3"] = conv_rate(device, dtype, conv_channels, repeats)
    best = max(("mm", "conv3x3") if conv_channels else ("mm",), key=lambda k: record[k]["flops_per_s"])
    record.update(flops_per_s=record[best]["flops_per_s"], reference=best)
    if device.type == "cuda" and dtype == torch.float32:  # TF32 or not: what 32-true training gets too
        record["float32_matmul_precision"] = torch.get_float32_matmul_precision()
        record["cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
    return record
