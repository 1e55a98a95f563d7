"""Callbacks that only tests inject (through Hydra config) to simulate faults."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as L


class FailOnce(L.Callback):
    """Crash the run of model variant `variant` at the start of epoch `epoch`, once: a marker file
    remembers that it happened, so a resumed run goes through (a transient fault, like a lost node)."""

    def __init__(self, variant: str, marker: str, epoch: int = 1):
        self.variant, self.marker, self.epoch = variant, Path(marker), epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if pl_module.hparams.variant == self.variant and trainer.current_epoch == self.epoch and not self.marker.exists():
            self.marker.touch()
            raise RuntimeError(f"injected fault in {self.variant} at epoch {self.epoch}")


class ScalerWatch(L.Callback):
    """Records, after each training batch, the fp16 loss scale and which optimizers have stepped."""

    last: dict = {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        ScalerWatch.last = {
            "scale": float(trainer.precision_plugin.scaler.get_scale()),
            "stepped": [bool(opt.state_dict()["state"]) for opt in trainer.optimizers],
        }


class KillAt(L.Callback):
    """Send this process `signal` (default SIGKILL: a crash that leaves no chance to clean up; SIGTERM
    as a scheduler stops a job; SIGINT as Ctrl-C) at batch `batch` of epoch `epoch`."""

    def __init__(self, epoch: int, batch: int = 0, signal: str = "SIGKILL"):
        self.epoch, self.batch, self.signal = epoch, batch, signal

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            import os
            import signal

            if self.signal == "SIGINT":  # as in a terminal: a job started in the background ignores SIGINT
                signal.signal(signal.SIGINT, signal.default_int_handler)
            os.kill(os.getpid(), getattr(signal, self.signal))


class FillDiskAt(L.Callback):
    """At the start of epoch `epoch`, fill the filesystem holding `folder` until only `leave` bytes are
    free: room for the run's small records, not for another checkpoint (a disk filling up mid-run)."""

    def __init__(self, epoch: int, folder: str, leave: int = 96 * 1024):
        self.epoch, self.folder, self.leave = epoch, Path(folder), leave

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        import os

        if trainer.current_epoch != self.epoch:
            return
        stat = os.statvfs(self.folder)
        room = stat.f_bavail * stat.f_frsize - self.leave
        with open(self.folder / "filler", "wb") as f:
            while room > 0:
                chunk = min(room, 1 << 16)
                f.write(b"\0" * chunk)
                room -= chunk
