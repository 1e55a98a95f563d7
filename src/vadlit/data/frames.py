"""Frame conversion to the configured size and channel count, done once when the cache is built."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# ITU-R BT.601 luma weights: what video decoders and OpenCV use for RGB -> grey.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def convert_channels(frames: np.ndarray, channels: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, H, W, channels): grey <-> RGB, alpha dropped."""
    if frames.ndim == 3:
        frames = frames[..., None]
    have = frames.shape[-1]
    if have == 4:
        frames, have = frames[..., :3], 3
    if have == channels:
        return frames
    if have == 1 and channels == 3:
        return np.repeat(frames, 3, axis=-1)
    if have == 3 and channels == 1:
        grey = frames.astype(np.float32) @ _LUMA
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None]
    raise ValueError(f"cannot convert frames with {have} channels to {channels}")


def resize_frames(frames: np.ndarray, size: tuple[int, int], chunk: int = 256) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, h, w, C) uint8 with antialiased bilinear resampling.

    torch resamples uint8 directly, and (N, H, W, C) memory is already its channels-last layout:
    an order of magnitude faster than going through float.
    """
    if frames.shape[1:3] == tuple(size):
        return frames
    out = np.empty((frames.shape[0], *size, frames.shape[-1]), dtype=np.uint8)
    for start in range(0, frames.shape[0], chunk):
        t = torch.from_numpy(np.ascontiguousarray(frames[start : start + chunk])).permute(0, 3, 1, 2)
        r = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
        out[start : start + chunk] = r.permute(0, 2, 3, 1).numpy()
    return out


def resize_masks(masks: np.ndarray, size: tuple[int, int], chunk: int = 256) -> np.ndarray:
    """(N, H, W) masks (any dtype, may be a memmap) -> (N, h, w) bool, nearest neighbour, chunk by chunk."""
    if masks.shape[1:3] == tuple(size):
        return np.asarray(masks) != 0
    out = np.empty((masks.shape[0], *size), dtype=bool)
    for start in range(0, masks.shape[0], chunk):
        part = np.asarray(masks[start : start + chunk]) != 0
        t = torch.from_numpy(part.astype(np.uint8))[:, None].float()
        out[start : start + chunk] = (F.interpolate(t, size=size, mode="nearest")[:, 0] > 0.5).numpy()
    return out
