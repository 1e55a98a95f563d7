"""`VideoAnomalyModule`: the one LightningModule that trains OCR-GAN Video and scores test frames.

The network itself (`OCRGANVideo`) is plain torch; this module owns what Lightning is for: the two
optimizers under manual optimisation (so G and D steps stay correct under mixed precision), the
label-free validation loss that picks checkpoints, and scoring clips (its predict step) for the test
and for new footage; `evaluation.test_result` turns those scores into frame scores and metrics.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F

from vadlit.errors import ConfigError
from vadlit.evaluation.frame_scores import ClipScores, FrameScores
from vadlit.models.ocr_gan_video import checkpoint as ckpt
from vadlit.models.ocr_gan_video.health import TrainingHealth
from vadlit.models.ocr_gan_video.hparams import HParams
from vadlit.models.ocr_gan_video.torch_model import OCRGANVideo
from vadlit.models.ocr_gan_video.playback import playback_clips, span
from vadlit.models.ocr_gan_video.reference import NormalReference, positions

log = logging.getLogger(__name__)


PLAYBACK_REPLAYS = 2  # random replays of each training window for the playback head's fit
PLAYBACK_MAPS = 8192  # feature maps the playback fit keeps in memory (float16), at most


def to_unit_range(clip: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], done on the device so loaders ship bytes."""
    return clip.float().div_(127.5).sub_(1.0)


class VideoAnomalyModule(L.LightningModule):
    def __init__(self, **hparams: Any):
        """``hparams``: the ``model.*`` keys, their types, defaults and meaning in `hparams.HParams` (and
        documented in `conf/model/ocr_gan.yaml`); checked there, so a wrong one is one clear line."""
        super().__init__()
        hp = HParams.from_config(hparams)
        # kept in checkpoints; not logged: the loggers get the run's factors (variant, heads, objective,
        # seed, ...) from tasks.results.hparams_row, not forty model internals that TensorBoard's
        # HPARAMS would list first and hide the factors behind (it shows five columns by default)
        self.save_hyperparameters(hp.as_dict(), logger=False)
        self.playback_speeds = tuple(hp.playback_speeds)
        self.net = OCRGANVideo(**hp.network())
        self.memory_level, self.playback_level = hp.level("memory_level"), hp.level("playback_level")
        widths = hp.level_widths()
        self.reference = NormalReference(widths[self.memory_level], memory_size=hp.memory_size, patch=hp.score_patch,
                                         top=hp.memory_top, playback_steps=hp.playback_steps,
                                         playback_top=hp.playback_top, playback_dim=widths[self.playback_level],
                                         terms=hp.score_terms)
        self.automatic_optimization = False
        self.health = TrainingHealth(hp.on_nonfinite, hp.max_skipped_steps, hp.on_d_collapse, hp.d_collapse_loss)
        # per-frame scores of the held-out normal videos at the last validation (saved with checkpoints)
        self.val_scores: np.ndarray | None = None
        self.localize = True  # anomaly maps for test clips that carry pixel masks (``eval.localization``)
        self.preprocessing: dict[str, Any] | None = None  # set when loaded from a checkpoint

    def configure_model(self) -> None:
        if self.hparams.get("compile"):
            # in place: parameter names (and so checkpoints) stay those of the uncompiled model.
            # The generator is always called through its forward (`generate`, and the encoder-only
            # path of the features), so compiling its forward compiles all of it. The discriminator
            # is not: training and the score call `encode` and `judge`, never its forward, so a
            # compiled forward would never run; its parts are compiled instead.
            self.net.generator.compile()
            d = self.net.discriminator
            for part in (d.encoder, d.attention, d.classifier):
                part.compile()

    # -- checkpoints ------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str) -> "VideoAnomalyModule":
        """The model a checkpoint was trained as (heads, objective, sizes from its own hyper-parameters),
        loaded safely (no pickled code runs) with its preprocessing and validation scores."""
        state = ckpt.read_checkpoint(path)
        try:
            model = cls(**state["hyper_parameters"])
            model.load_state_dict(state["state_dict"])
        except (TypeError, RuntimeError, ConfigError) as exc:
            raise ConfigError(
                f"ckpt_path={str(path)!r}: its weights or hyper-parameters do not fit this version's "
                f"{ckpt.MODEL} ({str(exc).splitlines()[0][:300]}); expected a checkpoint written by this vadlit"
            ) from exc
        model.preprocessing = ckpt.preprocessing(state)
        model.val_scores = ckpt.val_scores(state)
        return model

    def _preprocessing(self) -> dict[str, Any]:
        dm = getattr(self._trainer, "datamodule", None) if self._trainer is not None else None
        if dm is not None and hasattr(dm, "image_size"):
            return {"image_size": list(dm.image_size), "channels": int(dm.channels), "clip_len": int(dm.clip_len),
                    "eval_stride": int(dm.eval_stride), "source": str(dm.source.name)}
        if self.preprocessing:
            return dict(self.preprocessing)
        size = self.net.image_size
        return {"image_size": list(size), "channels": int(self.hparams.in_channels), "clip_len": int(self.hparams.clip_len)}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[ckpt.KEY] = ckpt.record(self._preprocessing(), self.val_scores)

    # -- optimisation -------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        betas = tuple(hp.betas)
        opt_g = torch.optim.Adam(self.net.generator.parameters(), lr=hp.lr, betas=betas)
        opt_d = torch.optim.Adam(self.net.discriminator.parameters(), lr=hp.d_lr or hp.lr, betas=betas)
        return [opt_g, opt_d]

    def _generator_losses(self, x: torch.Tensor, out) -> dict[str, torch.Tensor]:
        net, hp = self.net, self.hparams
        d = net.discriminator
        with torch.no_grad():
            real = d.encode(x)
            _, f_real, _ = d.judge(real)
        logits_fake, f_fake, _ = d.judge(net.fake_encoding(real, out.x_hat))
        logits_fake = net.targets(logits_fake)
        adv = F.binary_cross_entropy_with_logits(logits_fake.float(), torch.ones_like(logits_fake, dtype=torch.float32))
        con = F.l1_loss(out.x_hat.float(), net.targets(x).float())
        lat = F.mse_loss(net.targets(f_fake).float(), net.targets(f_real).float())
        total = hp.w_adv * adv + hp.w_con * con + hp.w_lat * lat
        return {"g_loss": total, "adv_loss": adv, "con_loss": con, "lat_loss": lat}

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        net = self.net
        x = to_unit_range(batch["clip"])

        health, step = self.health, self.global_step
        self.toggle_optimizer(opt_g)
        out = net.generate(x)
        g = self._generator_losses(x, out)
        skip_g = health.skips and health.skip(g["g_loss"], "generator loss", step)
        if not skip_g:
            opt_g.zero_grad(set_to_none=True)
            self.manual_backward(g["g_loss"])
            opt_g.step()
        self.untoggle_optimizer(opt_g)
        if skip_g:
            return

        self.toggle_optimizer(opt_d)
        d = net.discriminator
        real = d.encode(x)
        logits_real, _, _ = d.judge(real)
        logits_fake, _, _ = d.judge(net.fake_encoding(real, out.x_hat.detach()))
        logits_real, logits_fake = net.targets(logits_real).float(), net.targets(logits_fake).float()
        d_loss = 0.5 * (
            F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake))
        )
        if not (health.skips and health.skip(d_loss, "discriminator loss", step)):
            opt_d.zero_grad(set_to_none=True)
            self.manual_backward(d_loss)
            opt_d.step()
        self.untoggle_optimizer(opt_d)
        if not health.skips:
            health.watch(step, g["g_loss"], d_loss)

        logs = {f"train/{k}": v.detach() for k, v in g.items()}
        logs["train/d_loss"] = d_loss.detach()
        self.log_dict(logs, prog_bar=False, on_step=True, on_epoch=True, batch_size=x.shape[0])
        self.log("g_loss", g["g_loss"].detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)
        self.log("d_loss", d_loss.detach(), prog_bar=True, on_step=True, on_epoch=False, logger=False)

    def on_train_epoch_start(self) -> None:
        self.health.start_epoch(self.device)

    def on_train_epoch_end(self) -> None:
        """Stop a diverged GAN instead of training on NaN; runs before this epoch's checkpoints are
        written (Lightning calls checkpointing callbacks after the module), so the last one is good."""
        callback = self.trainer.checkpoint_callback
        last_good = (callback.last_model_path or callback.best_model_path or None) if callback else None
        self.health.end_epoch(self.current_epoch, self.trainer.callback_metrics.get("train/d_loss_epoch"),
                              last_good, self.hparams.lr)

    # -- validation: label-free, on held-out normal training videos ----------------------------
    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        x = to_unit_range(batch["clip"])
        out = self.net.generate(x)
        g = self._generator_losses(x, out)
        score = self.net.score(x, out, self.hparams.score_lambda)
        bs = x.shape[0]
        self.log_dict({f"val/{k}": v for k, v in g.items()}, on_epoch=True, batch_size=bs, sync_dist=True)
        self.log("val/score", score.mean(), on_epoch=True, batch_size=bs, sync_dist=True)
        return {"x": self.net.targets(x), "x_hat": out.x_hat}

    def on_validation_epoch_end(self) -> None:
        # new weights: the reference fitted to the old ones no longer holds
        self.reference.fitted.fill_(False)

    # -- the score's normal reference ------------------------------------------------------------
    def _evidence(self, batch: dict[str, torch.Tensor]):
        x = to_unit_range(batch["clip"].to(self.device))
        out = self.net.generate(x)
        return x, out, self.net.evidence(x, out, self.hparams.score_lambda, self.memory_level, self.playback_level)

    def _predict_precision(self):
        """The autocast of the run's predict step (a no-op for 32-true), for the networks' passes of
        the reference fit: it runs in a hook, outside that context, and without it under mixed
        precision the memory and statistics would come from float32 features and the test scores
        from bf16/fp16 ones."""
        trainer = self._trainer
        return trainer.precision_plugin.predict_step_context() if trainer is not None else nullcontext()

    @torch.no_grad()
    def fit_reference(self, datamodule) -> None:
        """Fit the score's reference to these weights on normal data only: the memory from the
        training clips, the statistics (and ``val_scores``) from the held-out validation videos.
        The networks run under the autocast the test scores are computed in; the rest of the fit
        (the playback head's, the statistics) in float32."""
        train_loader, val_loader = datamodule.reference_dataloaders()
        was_training = self.training
        self.eval()
        generator = torch.Generator().manual_seed(0)
        size = len(self.reference.memory)
        if size:  # draw about 4x the memory's size evenly over the training batches, then the memory
            per_batch = max(1, -(-4 * size // max(len(train_loader), 1)))
            pool = []
            for batch in train_loader:
                x = to_unit_range(batch["clip"].to(self.device))  # the encoder alone gives the features
                with self._predict_precision():
                    vectors = positions(self.net.target_features(x, self.memory_level)).cpu()
                pool.append(vectors[torch.randperm(len(vectors), generator=generator)[:per_batch]])
            self.reference.fit_memory(torch.cat(pool), generator)
        self._fit_playback(datamodule, generator)
        videos = datamodule.train_split.videos
        accumulator = FrameScores([v.name for v in videos], [len(v) for v in videos])
        rows, updates = [], []
        for batch in val_loader:
            with self._predict_precision():
                _, _, ev = self._evidence(batch)
            terms = self.reference.terms(ev).cpu()
            rows.append(terms.reshape(-1, terms.shape[-1]))
            updates.append(({"video": batch["video"], "frames": batch["frames"]}, terms))
        self.reference.fit_stats(torch.cat(rows).double())
        for batch, terms in updates:
            accumulator.add_clips(batch["video"], batch["frames"], self.reference.standardise(terms), self.last_only)
        self.val_scores = accumulator.scored()
        self.train(was_training)

    def _fit_playback(self, datamodule, generator: torch.Generator) -> None:
        """The playback head: ``PLAYBACK_REPLAYS`` random replays of every training window (normal
        training videos only), the features of their scored slots computed once, then the head's fit.

        The head learns on every slot the score reads (reconstruct scores all T, predict the last):
        fitted on the last slot only, it scored the middle slots of a reconstructed clip, whose
        attention sees both ways, 3-8 points worse per motion kind on the development benchmark.
        At most ``PLAYBACK_MAPS`` feature maps are kept: long training sets get fewer slots per clip.
        """
        if self.reference.playback_steps == 0:
            return
        level, clip_len = self.playback_level, self.hparams.clip_len
        loader = datamodule.train_windows(span(clip_len, self.playback_speeds))
        slots_scored = len(range(clip_len)[self.net.target_frames])
        clips_expected = 2 * PLAYBACK_REPLAYS * len(loader.dataset)
        per_clip = max(1, min(slots_scored, PLAYBACK_MAPS // max(clips_expected, 1)))
        features, labels, weights = [], [], []
        for batch in loader:
            window = to_unit_range(batch["clip"].to(self.device))
            for _ in range(PLAYBACK_REPLAYS):
                clips, y, w = playback_clips(window, clip_len, self.playback_speeds, generator)
                with self._predict_precision():
                    f = self.net.target_features(clips, level)
                pick = torch.rand(f.shape[:2], generator=generator).argsort(dim=1)[:, :per_clip]
                features.append(f[torch.arange(len(f)).unsqueeze(1), pick.to(f.device)].flatten(0, 1).half())
                labels.append(y.repeat_interleave(per_clip))
                w = F.adaptive_avg_pool2d(w.unsqueeze(1).float(), f.shape[-2:]).squeeze(1)
                weights.append(w.repeat_interleave(per_clip, dim=0))
        if not features:
            log.warning("no training window is long enough to replay clips faster; the score has no motion term")
            return
        features = torch.cat(features)
        losses = self.reference.fit_playback(features, torch.cat(labels), torch.cat(weights), generator)
        log.info("playback head fitted on %d feature maps: loss %.3f -> %.3f over %d steps", len(features), losses[0],
                 sum(losses[-20:]) / len(losses[-20:]), len(losses))

    def _ensure_reference(self) -> None:
        if self.reference.is_fitted:
            return
        dm = getattr(self.trainer, "datamodule", None)
        if dm is None or not hasattr(dm, "reference_dataloaders") or getattr(dm, "source", None) is None:
            raise ConfigError(
                "this checkpoint has no fitted normal reference (the score's memory and validation "
                "statistics): test it once with vadlit-eval on its training data, or use a checkpoint "
                "tested by vadlit-train"
            )
        self.fit_reference(dm)

    # -- test and new footage: one score per judged frame ---------------------------------------
    def on_predict_start(self) -> None:
        self._ensure_reference()

    @property
    def last_only(self) -> bool:
        """Whether a clip's score judges its last frame only (``predict``) or all of them."""
        return self.net.objective == "predict"

    def frame_scores(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Score a batch of clips: the scores (B, T') of their judged frames (for
        ``FrameScores.add_clips``), and their anomaly maps (B, T', H, W) when the clips carry pixel
        masks (``localize``), else None. Only the terms the score takes are computed (see
        ``OCRGANVideo.scored_evidence``): the default memory and motion read encoder features
        alone, so neither the decoder nor the discriminator runs."""
        x = to_unit_range(batch["clip"].to(self.device))
        ev = self.net.scored_evidence(x, self.hparams.score_lambda, self.memory_level, self.playback_level,
                                      self.reference.active().tolist())
        raw = self.reference.raw_maps(ev)
        scores = self.reference.standardise(self.reference.terms_of(raw, ev))
        maps = self.reference.anomaly_map(raw, ev) if self.localize and "masks" in batch else None
        return scores, maps

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> ClipScores:
        """The scores of a batch of test clips or new footage (``vadlit-score``), on the CPU, with the
        ground truth the clips carry, and the clips' anomaly maps when they carry pixel masks
        (``localize``); `evaluation.test_result` turns them into frame scores and metrics."""
        return ClipScores.of(batch, *self.frame_scores(batch))

    def parameter_counts(self) -> dict[str, int]:
        return self.net.parameter_counts()
