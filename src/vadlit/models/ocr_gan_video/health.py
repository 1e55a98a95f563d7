"""Watching a GAN train: non-finite losses and discriminator collapse, with a documented response.

Non-finite losses (``on_nonfinite``):
- ``stop`` (default): steps with a NaN/Inf loss are counted on the device (no host sync in the step)
  and checked at the end of the epoch, *before* the epoch's checkpoints are written; the run stops
  with a message naming the last good checkpoint, which still holds finite weights.
- ``skip``: a step whose loss is not finite is skipped (no optimizer update) and counted; this costs
  one host-device sync per step. More than ``max_skipped_steps`` skips stop the run.

Discriminator collapse (``on_d_collapse``): an epoch whose mean D loss is below ``d_collapse_loss``
means D separates real from fake perfectly and G gets no useful adversarial gradient. ``warn``
(default) logs it and records the epoch in ``metrics.json`` (checkpoints are still chosen on the
validation reconstruction loss, which collapse does not corrupt); ``stop`` ends the run.
"""

from __future__ import annotations

import logging

import torch

from vadlit.errors import VadlitError

log = logging.getLogger(__name__)

NONFINITE_POLICIES = ("stop", "skip")
COLLAPSE_POLICIES = ("warn", "stop")


class TrainingHealth:
    def __init__(self, on_nonfinite: str = "stop", max_skipped_steps: int = 20, on_d_collapse: str = "warn",
                 d_collapse_loss: float = 1e-3) -> None:
        self.on_nonfinite, self.max_skipped_steps = on_nonfinite, max_skipped_steps
        self.on_d_collapse, self.d_collapse_loss = on_d_collapse, float(d_collapse_loss)
        self.skipped_steps = 0
        self.d_collapse_epochs: list[int] = []
        self._bad_steps: torch.Tensor | None = None  # non-finite steps this epoch, counted on the device
        self._first_bad: torch.Tensor | None = None

    @property
    def skips(self) -> bool:
        return self.on_nonfinite == "skip"

    def record(self) -> dict:
        """What metrics.json says about the training's health."""
        return {"on_nonfinite": self.on_nonfinite, "skipped_steps": self.skipped_steps,
                "on_d_collapse": self.on_d_collapse, "d_collapse_epochs": list(self.d_collapse_epochs)}

    def start_epoch(self, device: torch.device) -> None:
        self._bad_steps = torch.zeros((), dtype=torch.int64, device=device)
        self._first_bad = torch.full((), -1, dtype=torch.int64, device=device)

    def watch(self, step: int, *losses: torch.Tensor) -> None:
        """``stop`` policy: count a step with any non-finite loss, without leaving the device."""
        if self._bad_steps is None:
            self.start_epoch(losses[0].device)
        bad = torch.stack([~torch.isfinite(loss.detach()).all() for loss in losses]).any()
        self._bad_steps += bad
        self._first_bad = torch.where((self._first_bad < 0) & bad, step, self._first_bad)

    def skip(self, loss: torch.Tensor, what: str, step: int) -> bool:
        """``skip`` policy: True (and counted) when this loss is not finite; a host sync."""
        if bool(torch.isfinite(loss.detach()).all()):
            return False
        self.skipped_steps += 1
        log.warning("non-finite %s at step %d: step skipped (%d so far)", what, step, self.skipped_steps)
        if self.skipped_steps > self.max_skipped_steps:
            raise VadlitError(
                f"training diverged: {self.skipped_steps} steps skipped for non-finite losses, more than "
                f"model.max_skipped_steps={self.max_skipped_steps}; try a lower model.lr or trainer.precision=32-true"
            )
        return True

    def end_epoch(self, epoch: int, d_loss: torch.Tensor | None, last_good: str | None, lr: float) -> None:
        """Raise on divergence (before this epoch's checkpoints are written); note D collapse."""
        bad = 0 if self._bad_steps is None else int(self._bad_steps)  # one sync per epoch
        if bad:
            saved = (f"the last good checkpoint is {last_good}" if last_good
                     else "no checkpoint was saved before it (it diverged in the first epoch)")
            raise VadlitError(
                f"training diverged: a loss was NaN/Inf in {bad} step(s) of epoch {epoch} (first at step "
                f"{int(self._first_bad)}); {saved}; try a lower model.lr={lr}, trainer.precision=32-true, "
                "or model.on_nonfinite=skip"
            )
        if d_loss is not None and torch.isfinite(d_loss) and float(d_loss) < self.d_collapse_loss:
            self.d_collapse_epochs.append(epoch)
            message = (f"discriminator collapse in epoch {epoch}: mean D loss {float(d_loss):.2e} < "
                       f"model.d_collapse_loss={self.d_collapse_loss:g}, so the generator gets no useful adversarial "
                       "gradient; try a lower model.d_lr or a higher model.w_con")
            if self.on_d_collapse == "stop":
                raise VadlitError(message + (f"; the last checkpoint before it is {last_good}" if last_good else ""))
            log.warning("%s (model.on_d_collapse=warn: training goes on, recorded in metrics.json)", message)
