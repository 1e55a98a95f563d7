"""`AtomicCheckpointIO`: Lightning checkpoints written beside their destination and renamed.

Lightning's `TorchCheckpointIO` writes through an fsspec transaction whose temporary file lives in
``$TMPDIR``; when that is another filesystem, committing it copies over ``last.ckpt`` in place, and a
full disk leaves a truncated checkpoint where a good one was. This plugin serialises the checkpoint
and replaces the file with `files.atomic_write` instead (temporary file in the same folder, fsync,
rename), so a failed write keeps the previous checkpoint whole.
"""

from __future__ import annotations

import io
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO.save_checkpoint takes no storage_options")
        from vadlit.files import atomic_write

        buffer = io.BytesIO()  # serialised first, so a full disk is an OSError, not a torch zip error
        torch.save(checkpoint, buffer)
        atomic_write(path, lambda f: f.write(buffer.getbuffer()))
