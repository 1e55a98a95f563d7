"""`VideoAnomalyModule`: the one LightningModule that trains OCR-GAN Video and scores test frames.

The network itself (`OCRGANVideo`) is plain torch; this module owns what Lightning is for: the two
optimizers under manual optimisation (so G and D steps stay correct under mixed precision), the
label-free validation loss that picks checkpoints, and turning clip scores into one score per test
frame and metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F

from vadlit.errors import ConfigError, VadlitError
from vadlit.evaluation.frame_scores import FrameScores
from vadlit.evaluation.metrics import compute_metrics, headline
from vadlit.evaluation.postprocess import ScoreOptions, apply_options
from vadlit.models.ocr_gan import OCRGANVideo

log = logging.getLogger(__name__)


@dataclass
class TestResult:
    """Frame scores of the test videos (after the chosen options) with their ground truth."""

    scores: dict[str, np.ndarray]
    labels: dict[str, np.ndarray] | None
    kinds: dict[str, list[str]] | None
    metrics: dict[str, Any] | None
    skipped_videos: list[str]


def to_unit_range(clip: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], done on the device so loaders ship bytes."""
    return clip.float().div_(127.5).sub_(1.0)


class VideoAnomalyModule(L.LightningModule):
    def __init__(
        self,
        in_channels: int = 1,
        image_size: int | list[int] = 64,
        clip_len: int = 8,
        heads: int = 4,
        objective: str = "reconstruct",
        base_channels: int = 32,
        depth: int = 3,
        nz: int = 64,
        d_base_channels: int = 32,
        cs_reduction: int = 4,
        attn_dropout: float = 0.0,
        lr: float = 2e-4,
        d_lr: float | None = None,
        betas: tuple[float, float] = (0.5, 0.999),
        w_adv: float = 1.0,
        w_con: float = 50.0,
        w_lat: float = 1.0,
        score_lambda: float = 0.9,
        variant: str | None = None,
    ):
        super().__init__()
        if not 0.0 <= score_lambda <= 1.0:
            raise ConfigError(f"model.score_lambda={score_lambda}: expected a weight in [0, 1]")
        for key, value in {"lr": lr, "d_lr": d_lr if d_lr is not None else lr}.items():
            if not value > 0:
                raise ConfigError(f"model.{key}={value}: expected a positive learning rate")
        self.save_hyperparameters()
        image_size = image_size if isinstance(image_size, int) else tuple(image_size)
        self.net = OCRGANVideo(
            in_channels=in_channels,
            image_size=image_size,
            clip_len=clip_len,
            heads=heads,
            objective=objective,
            base_channels=base_channels,
            depth=depth,
            nz=nz,
            d_base_channels=d_base_channels,
            cs_reduction=cs_reduction,
            attn_dropout=attn_dropout,
        )
        self.automatic_optimization = False
        self.score_options = ScoreOptions()
        self.test_result: TestResult | None = None
        self._frame_scores: FrameScores | None = None

    # -- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        betas = tuple(hp.betas)
        opt_g = torch.optim.Adam(self.net.generator.parameters(), lr=hp.lr, betas=betas)
        opt_d = torch.optim.Adam(self.net.discriminator.parameters(), lr=hp.d_lr or hp.lr, betas=betas)
        return [opt_g, opt_d]

    def _generator_losses(self, x: torch.Tensor, out) -> dict[str, torch.Tensor]:
        net, hp = self.net, self.hparams
        fake = net.fake_clip(x, out.x_hat)
        logits_fake, f_fake, _ = net.discriminate(fake)
        with torch.no_grad():
            _, f_real, _ = net.discriminate(x)
        logits_fake = net.targets(logits_fake)
        adv = F.binary_cross_entropy_with_logits(logits_fake.float(), torch.ones_like(logits_fake, dtype=torch.float32))
        con = F.l1_loss(net.targets(out.x_hat).float(), net.targets(x).float())
        lat = F.mse_loss(net.targets(f_fake).float(), net.targets(f_real).float())
        total = hp.w_adv * adv + hp.w_con * con + hp.w_lat * lat
        return {"g_loss": total, "adv_loss": adv, "con_loss": con, "lat_loss": lat}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        net = self.net
        x = to_unit_range(batch["clip"])

        self.toggle_optimizer(opt_g)
        out = net.generate(x)
        g = self._generator_losses(x, out)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(g["g_loss"])
        opt_g.step()
        self.untoggle_optimizer(opt_g)

        self.toggle_optimizer(opt_d)
        fake = net.fake_clip(x, out.x_hat.detach())
        logits_real, _, _ = net.discriminate(x)
        logits_fake, _, _ = net.discriminate(fake)
        logits_real, logits_fake = net.targets(logits_real).float(), net.targets(logits_fake).float()
        d_loss = 0.5 * (
            F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
        )
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        opt_d.step()
        self.untoggle_optimizer(opt_d)

        logs = {f"train/{k}": v.detach() for k, v in g.items()}
        logs["train/d_loss"] = d_loss.detach()
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=True, batch_size=x.shape[0])
        self.log("g_loss", g["g_loss"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.log("d_loss", d_loss.detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)

    def on_train_epoch_end(self) -> None:
        """Stop a diverged GAN instead of training on NaN (checked once an epoch: no per-step sync)."""
        for key in ("train/g_loss_epoch", "train/d_loss_epoch"):
            value = self.trainer.callback_metrics.get(key)
            if value is not None and not torch.isfinite(value).all():
                raise VadlitError(
                    f"training diverged: {key.removesuffix('_epoch')} is {float(value)} in epoch {self.current_epoch}; "
                    f"try a lower model.lr={self.hparams.lr} or trainer.precision=32-true"
                )

    # -- validation: label-free, on held-out normal training videos ----------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        x = to_unit_range(batch["clip"])
        out = self.net.generate(x)
        g = self._generator_losses(x, out)
        score = self.net.score(x, out, self.hparams.score_lambda)
        bs = x.shape[0]
        self.log_dict({f"val/{k}": v for k, v in g.items()}, on_epoch=True, batch_size=bs, sync_dist=True)
        self.log("val/score", score.mean(), on_epoch=True, batch_size=bs, sync_dist=True)
        return {"x": x, "x_hat": out.x_hat}

    # -- test: one score per frame ---------------------------------------------------------------
    def on_test_epoch_start(self) -> None:
        videos = self.trainer.datamodule.test_split.videos
        clip_len = self.hparams.clip_len
        # Videos too short for one clip get no score; length 0 keeps the indices aligned.
        self._frame_scores = FrameScores([v.name for v in videos], [len(v) if len(v) >= clip_len else 0 for v in videos])

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        x = to_unit_range(batch["clip"])
        out = self.net.generate(x)
        scores = self.net.score(x, out, self.hparams.score_lambda)
        frames = batch["frames"]
        self._frame_scores.update(batch["video"], self.net.targets(frames), scores)
        if self.net.objective == "predict":
            # The first clip_len-1 frames of a video have no history to be predicted from: they take
            # the score of the video's first prediction (a fixed rule, recorded in metrics.json).
            first = frames[:, 0] == 0
            if first.any():
                warmup = frames[first, :-1]
                self._frame_scores.update(batch["video"][first], warmup, scores[first].expand_as(warmup))
        return {"x": x, "x_hat": out.x_hat}

    def on_test_epoch_end(self) -> None:
        dm = self.trainer.datamodule
        raw = self._frame_scores.compute()
        skipped = [name for name, s in raw.items() if len(s) == 0]
        raw = {name: s for name, s in raw.items() if len(s)}
        scores = apply_options(raw, self.score_options)
        videos = {v.name: v for v in dm.test_split.videos}
        labels = kinds = metrics = None
        if all(videos[n].labels is not None for n in scores):
            labels = {n: videos[n].labels for n in scores}
            kinds = {n: list(videos[n].kinds) for n in scores}
            metrics = compute_metrics(scores, labels, kinds)
            self.log_dict(headline(metrics, prefix="test/"))
        self.test_result = TestResult(scores, labels, kinds, metrics, skipped)

    def parameter_counts(self) -> dict[str, int]:
        return self.net.parameter_counts()
