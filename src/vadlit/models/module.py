"""`VideoAnomalyModule`: the one LightningModule that trains OCR-GAN Video and scores test frames.

The network itself (`OCRGANVideo`) is plain torch; this module owns what Lightning is for: the two
optimizers under manual optimisation (so G and D steps stay correct under mixed precision), the
label-free validation loss that picks checkpoints, and turning clip scores into one score per test
frame and metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
import torch.nn.functional as F

from vadlit.errors import ConfigError
from vadlit.evaluation.frame_scores import FrameScores
from vadlit.evaluation.metrics import compute_metrics, headline
from vadlit.evaluation.postprocess import ScoreOptions, apply_options
from vadlit.models import checkpoint as ckpt
from vadlit.models.health import TrainingHealth
from vadlit.models.generator import level_channels
from vadlit.models.ocr_gan import OCRGANVideo
from vadlit.models.playback import check_speeds, playback_clips, span
from vadlit.models.reference import NormalReference, positions

log = logging.getLogger(__name__)


@dataclass
class TestResult:
    """Frame scores of the test videos (after the chosen options) with their ground truth."""

    scores: dict[str, np.ndarray]
    labels: dict[str, np.ndarray] | None
    kinds: dict[str, list[str]] | None
    metrics: dict[str, Any] | None
    skipped_videos: list[str]


_INTS = ("in_channels", "clip_len", "heads", "base_channels", "depth", "nz", "d_base_channels", "cs_reduction",
         "max_skipped_steps", "memory_level", "memory_size", "memory_top", "score_patch", "playback_steps",
         "playback_level", "playback_top")
_NUMBERS = ("attn_dropout", "lr", "w_adv", "w_con", "w_lat", "score_lambda", "d_collapse_loss")
_FLAGS = ("channels_last", "compile")
PLAYBACK_REPLAYS = 2  # random replays of each training window for the playback head's fit
PLAYBACK_MAPS = 8192  # feature maps the playback fit keeps in memory (float16), at most


def check_types(values: dict[str, Any]) -> None:
    """A value of the wrong type (``model.lr=fast``) is named here, not deep inside torch."""

    def wrong(key: str, expected: str) -> ConfigError:
        return ConfigError(f"model.{key}={values[key]!r}: expected {expected}")

    for key in _INTS:
        if isinstance(values[key], bool) or not isinstance(values[key], int):
            raise wrong(key, "an integer")
    for key in _NUMBERS + ("d_lr",):
        value = values[key]
        if (value is None and key == "d_lr") or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            continue
        raise wrong(key, "a number" + (" or null" if key == "d_lr" else ""))
    for key in _FLAGS:
        if not isinstance(values[key], bool):
            raise wrong(key, "true or false")
    betas = values["betas"]
    if not (isinstance(betas, Sequence) and not isinstance(betas, str) and len(betas) == 2 and all(isinstance(b, (int, float)) for b in betas)):
        raise wrong("betas", "two numbers, e.g. [0.5, 0.999]")
    size = values["image_size"]
    if not (isinstance(size, int) or (isinstance(size, Sequence) and not isinstance(size, str) and len(size) == 2
                                       and all(isinstance(v, int) and not isinstance(v, bool) for v in size))):
        raise wrong("image_size", "an integer or [height, width]")


def _level(key: str, level: int, depth: int) -> int:
    """An encoder level ``-depth..depth-1`` (negative: from the bottleneck) as ``0..depth-1``."""
    if not -depth <= level < depth:
        raise ConfigError(f"model.{key}={level}: expected an encoder level 0..{depth - 1}, or -1 for the "
                          f"bottleneck (model.depth={depth})")
    return level % depth


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
        channels_last: bool = False,
        compile: bool = False,
        on_nonfinite: str = "stop",
        max_skipped_steps: int = 20,
        on_d_collapse: str = "warn",
        d_collapse_loss: float = 1e-3,
        temporal_levels: str = "all",
        temporal_mixer: str = "attention",
        memory_level: int = -1,
        memory_size: int = 2048,
        memory_top: int = 4,
        score_patch: int = 4,
        playback_steps: int = 3200,
        playback_speeds: Sequence[int] = (2, 3, 4),
        playback_level: int = 1,
        playback_top: int = 16,
        score_terms: Sequence[str] = ("memory", "motion"),
    ):
        """``channels_last`` / ``compile``: speed options (``torch.compile`` of G and D); they change
        no result and are worth it on GPUs only (measured by ``vadlit-bench``).
        ``on_nonfinite`` ... ``d_collapse_loss``: what happens when training diverges (`health.py`).
        ``memory_level``, ``playback_level``: the encoder levels the memory and the playback head read
        (negative: counted from the bottleneck). ``playback_steps``, ``playback_speeds``,
        ``playback_top``: the playback head's fit, its replay speeds, and how many of a frame's most
        surprising positions its term averages (`playback.py`). ``score_terms``: which of
        `reference.TERMS` the score takes the largest of."""
        super().__init__()
        check_types(locals())
        self.playback_speeds = check_speeds(playback_speeds)
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
            channels_last=channels_last,
            temporal_levels=temporal_levels,
            temporal_mixer=temporal_mixer,
        )
        self.memory_level, self.playback_level = (_level(key, value, depth) for key, value in
                                                  (("memory_level", memory_level), ("playback_level", playback_level)))
        widths = [2 * c for c in level_channels(base_channels, depth)]
        self.reference = NormalReference(widths[self.memory_level], memory_size=memory_size, patch=score_patch,
                                         top=memory_top, playback_steps=playback_steps, playback_top=playback_top,
                                         playback_dim=widths[self.playback_level], terms=score_terms)
        self.automatic_optimization = False
        self.health = TrainingHealth(on_nonfinite, max_skipped_steps, on_d_collapse, d_collapse_loss)
        self.score_options = ScoreOptions()
        self.test_result: TestResult | None = None
        self._frame_scores: FrameScores | None = None
        # per-frame scores of the held-out normal videos at the last validation (saved with checkpoints)
        self.val_scores: np.ndarray | None = None
        self.preprocessing: dict[str, Any] | None = None  # set when loaded from a checkpoint

    def configure_model(self) -> None:
        if self.hparams.get("compile"):
            # in place: parameter names (and so checkpoints) stay those of the uncompiled model
            self.net.generator.compile()
            self.net.discriminator.compile()

    # -- checkpoints ------------------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str) -> "VideoAnomalyModule":
        """The model a checkpoint was trained as (heads, objective, sizes from its own hyper-parameters),
        loaded safely (no pickled code runs) with its preprocessing and validation scores."""
        state = ckpt.read_checkpoint(path)
        try:
            model = cls(**state["hyper_parameters"])
            model.load_state_dict(state["state_dict"])
        except (TypeError, RuntimeError) as exc:
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

    @torch.no_grad()
    def fit_reference(self, datamodule) -> None:
        """Fit the score's reference to these weights on normal data only: the memory from the
        training clips, the statistics (and ``val_scores``) from the held-out validation videos."""
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
                vectors = positions(self.net.target_features(x, self.memory_level)).cpu()
                pool.append(vectors[torch.randperm(len(vectors), generator=generator)[:per_batch]])
            self.reference.fit_memory(torch.cat(pool), generator)
        self._fit_playback(datamodule, generator)
        videos = datamodule.train_split.videos
        accumulator = FrameScores([v.name for v in videos], [len(v) for v in videos])
        rows, updates = [], []
        for batch in val_loader:
            _, _, ev = self._evidence(batch)
            terms = self.reference.terms(ev).cpu()
            rows.append(terms.reshape(-1, terms.shape[-1]))
            updates.append(({"video": batch["video"], "frames": batch["frames"]}, terms))
        self.reference.fit_stats(torch.cat(rows).double())
        for batch, terms in updates:
            for update in self._frame_updates(batch, self.reference.standardise(terms)):
                accumulator.update(*update)
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

    # -- test: one score per frame ---------------------------------------------------------------
    def on_test_start(self) -> None:
        self._ensure_reference()

    def on_predict_start(self) -> None:
        self._ensure_reference()

    def on_test_epoch_start(self) -> None:
        videos = self.trainer.datamodule.test_split.videos
        clip_len = self.hparams.clip_len
        # Videos too short for one clip get no score; length 0 keeps the indices aligned.
        self._frame_scores = FrameScores([v.name for v in videos], [len(v) if len(v) >= clip_len else 0 for v in videos])

    def _frame_updates(self, batch: dict[str, torch.Tensor], scores: torch.Tensor) -> list[tuple[torch.Tensor, ...]]:
        """``[(video, frames, scores), ...]`` updates for FrameScores from the scores of a batch's target frames."""
        frames = batch["frames"]
        updates = [(batch["video"], self.net.targets(frames), scores)]
        if self.net.objective == "predict":
            # The first clip_len-1 frames of a video have no history to be predicted from: they take
            # the score of the video's first prediction (a fixed rule, recorded in metrics.json).
            first = frames[:, 0] == 0
            if first.any():
                warmup = frames[first, :-1]
                updates.append((batch["video"][first], warmup, scores[first].expand_as(warmup)))
        return updates

    def frame_scores(self, batch: dict[str, torch.Tensor]) -> tuple[list[tuple[torch.Tensor, ...]], dict]:
        """Score a batch of clips: ``[(video, frames, scores), ...]`` updates for FrameScores, and the
        tensors a callback may show (``x``, ``x_hat`` of the target frames)."""
        x, out, ev = self._evidence(batch)
        scores = self.reference.standardise(self.reference.terms(ev))
        return self._frame_updates(batch, scores), {"x": self.net.targets(x), "x_hat": out.x_hat}

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> dict[str, torch.Tensor]:
        updates, shown = self.frame_scores(batch)
        for update in updates:
            self._frame_scores.update(*update)
        return shown

    def predict_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> list[tuple[torch.Tensor, ...]]:
        """Scores of new footage (``vadlit-score``): FrameScores updates, on the CPU."""
        updates, _ = self.frame_scores(batch)
        return [tuple(t.detach().cpu() for t in update) for update in updates]

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
