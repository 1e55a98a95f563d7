"""OCR-GAN Video's hyper-parameters, written once: their types, defaults, checks and where each goes.

`conf/model/ocr_gan.yaml` documents the same keys for users (a test keeps the two equal); the
LightningModule validates and saves them; the torch model gets its share (`network`); a checkpoint is
recognised by the `identity` ones. Every check that names a config key lives here, so the torch
components below it raise plain ``ValueError``s about their own arguments and know nothing of configs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from vadlit.errors import ConfigError
from vadlit.image_size import as_size
from vadlit.models.components.attention import valid_head_counts
from vadlit.models.ocr_gan_video.discriminator import discriminator_levels
from vadlit.models.ocr_gan_video.generator import TEMPORAL_LEVELS, bottleneck_width, level_channels
from vadlit.models.ocr_gan_video.health import COLLAPSE_POLICIES, NONFINITE_POLICIES
from vadlit.models.ocr_gan_video.torch_model import OBJECTIVES
from vadlit.models.ocr_gan_video.reference import TERMS
from vadlit.models.components.temporal import MIXERS

NETWORK, TRAINING, SCORE, RECORD = "network", "training", "score", "record"


def _key(part: str, identity: bool = False) -> dict[str, Any]:
    return {"part": part, "identity": identity}


@dataclass(frozen=True)
class HParams:
    """Every key of ``model.*``. ``part``: who uses it; ``identity``: a checkpoint of this model has it."""

    variant: str | None = field(default=None, metadata=_key(RECORD))
    # the networks (OCRGANVideo's arguments)
    in_channels: int = field(default=1, metadata=_key(NETWORK, True))
    image_size: int | list[int] = field(default=64, metadata=_key(NETWORK, True))
    clip_len: int = field(default=8, metadata=_key(NETWORK, True))
    heads: int = field(default=4, metadata=_key(NETWORK, True))
    objective: str = field(default="reconstruct", metadata=_key(NETWORK, True))
    base_channels: int = field(default=32, metadata=_key(NETWORK, True))
    depth: int = field(default=3, metadata=_key(NETWORK, True))
    nz: int = field(default=64, metadata=_key(NETWORK, True))
    d_base_channels: int = field(default=32, metadata=_key(NETWORK))
    cs_reduction: int = field(default=4, metadata=_key(NETWORK))
    attn_dropout: float = field(default=0.0, metadata=_key(NETWORK))
    channels_last: bool = field(default=False, metadata=_key(NETWORK))
    temporal_levels: str = field(default="all", metadata=_key(NETWORK))
    temporal_mixer: str = field(default="attention", metadata=_key(NETWORK))
    # training
    lr: float = field(default=2e-4, metadata=_key(TRAINING))
    d_lr: float | None = field(default=None, metadata=_key(TRAINING))
    betas: tuple[float, float] = field(default=(0.5, 0.999), metadata=_key(TRAINING))
    w_adv: float = field(default=1.0, metadata=_key(TRAINING))
    w_con: float = field(default=50.0, metadata=_key(TRAINING))
    w_lat: float = field(default=1.0, metadata=_key(TRAINING))
    compile: bool = field(default=False, metadata=_key(TRAINING))
    on_nonfinite: str = field(default="stop", metadata=_key(TRAINING))
    max_skipped_steps: int = field(default=20, metadata=_key(TRAINING))
    on_d_collapse: str = field(default="warn", metadata=_key(TRAINING))
    d_collapse_loss: float = field(default=1e-3, metadata=_key(TRAINING))
    # the score
    score_lambda: float = field(default=0.9, metadata=_key(SCORE))
    memory_level: int = field(default=-1, metadata=_key(SCORE))
    memory_size: int = field(default=2048, metadata=_key(SCORE))
    memory_top: int = field(default=4, metadata=_key(SCORE))
    score_patch: int = field(default=4, metadata=_key(SCORE))
    playback_steps: int = field(default=3200, metadata=_key(SCORE))
    playback_speeds: Sequence[int] = field(default=(2, 3, 4), metadata=_key(SCORE))
    playback_level: int = field(default=1, metadata=_key(SCORE))
    playback_top: int = field(default=16, metadata=_key(SCORE))
    score_terms: Sequence[str] = field(default=("memory", "motion"), metadata=_key(SCORE))

    @classmethod
    def from_config(cls, values: Mapping[str, Any]) -> "HParams":
        """Checked hyper-parameters from ``model.*`` values (missing keys take their defaults)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"model.{unknown[0]}: not an option of this model; expected one of {', '.join(sorted(known))}")
        hp = cls(**values)
        hp.check()
        return hp

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def network(self) -> dict[str, Any]:
        """The torch model's arguments (``OCRGANVideo(**hp.network())``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata["part"] == NETWORK}

    @property
    def size(self) -> tuple[int, int]:
        return as_size(self.image_size)

    def level(self, key: str) -> int:
        """``memory_level`` / ``playback_level`` as ``0..depth-1`` (negative: from the bottleneck)."""
        return getattr(self, key) % self.depth

    def level_widths(self) -> list[int]:
        """Channels of the attention-mixed features at each encoder level (both streams: 2x)."""
        return [2 * c for c in level_channels(self.base_channels, self.depth)]

    # -- checks ------------------------------------------------------------------------------
    def check(self) -> None:
        """Raise a one-line ConfigError naming the key at fault and what was expected."""
        self._check_types()
        self._check_network()
        self._check_training()
        self._check_score()

    def _check_types(self) -> None:
        """A value of the wrong type (``model.lr=fast``) is named here, not deep inside torch."""
        for f in fields(self):
            value, check = getattr(self, f.name), _TYPE_CHECKS.get(f.type)
            if check is not None and not check[0](value):
                raise ConfigError(f"model.{f.name}={value!r}: expected {check[1]}")

    def _check_network(self) -> None:
        choose("model.objective", self.objective, OBJECTIVES, "{value!r} is not one of {choices}")
        if self.clip_len < 1:
            raise ConfigError(f"data.clip_len={self.clip_len} must be >= 1")
        if self.objective == "predict" and self.clip_len < 2:
            raise ConfigError(
                f"data.clip_len={self.clip_len} is too short for model.objective='predict': predicting the "
                f"last frame needs at least one earlier frame (data.clip_len >= 2)"
            )
        if self.in_channels < 1:
            raise ConfigError(f"in_channels={self.in_channels} (image channels) must be >= 1")
        if self.depth < 1:
            raise ConfigError(f"model.depth={self.depth} must be >= 1 (number of encoder levels)")
        if self.base_channels < 1:
            raise ConfigError(f"model.base_channels={self.base_channels} must be >= 1")
        if self.nz < 8 or self.nz % 8 != 0:
            raise ConfigError(
                f"model.nz={self.nz} must be a positive multiple of 8, so that 1, 2, 4 and 8 heads all divide it"
            )
        if self.d_base_channels < 1:
            raise ConfigError(f"model.d_base_channels={self.d_base_channels} must be >= 1")
        if self.cs_reduction < 1:
            raise ConfigError(f"model.cs_reduction={self.cs_reduction} must be >= 1")
        if not 0.0 <= self.attn_dropout < 1.0:
            raise ConfigError(f"model.attn_dropout={self.attn_dropout} must lie in [0, 1)")
        choose("model.temporal_levels", self.temporal_levels, TEMPORAL_LEVELS, "{value!r} is not one of {choices}")
        choose("model.temporal_mixer", self.temporal_mixer, MIXERS, "{value!r} is not one of {choices}")
        self._check_image_size()
        width = bottleneck_width(self.base_channels, self.depth)
        if self.heads < 0:
            raise ConfigError(f"model.heads={self.heads} must be >= 0 (0 disables temporal attention)")
        if self.heads > 0 and (width % self.heads or self.nz % self.heads):
            raise ConfigError(
                f"model.heads={self.heads} must divide both attention widths: the generator bottleneck "
                f"2*Cb={width} (from model.base_channels={self.base_channels}, model.depth={self.depth}) and the "
                f"discriminator model.nz={self.nz}; valid choices: {valid_head_counts(width, self.nz)}"
            )

    def _check_image_size(self) -> None:
        height, width = self.size
        factor = 2**self.depth
        if height % factor or width % factor or height // factor < 2 or width // factor < 2:
            raise ConfigError(
                f"data.image_size=({height}, {width}) does not fit model.depth={self.depth}: both sides must be "
                f"divisible by 2**depth={factor} and at least {2 * factor} (a bottleneck of at least 2x2); "
                f"use a smaller model.depth or a data.image_size that is a multiple of {factor}"
            )
        try:
            discriminator_levels(self.size)
        except ValueError:
            raise ConfigError(
                f"data.image_size=({height}, {width}) does not suit the discriminator: the smaller side must "
                f"be 4 * 2**k with k >= 1 (8, 16, 32, 64, 128, 256, ...) and the larger side a multiple of "
                f"2**k, so halving reaches a side of 4"
            ) from None

    def _check_training(self) -> None:
        for key, value in {"lr": self.lr, "d_lr": self.d_lr if self.d_lr is not None else self.lr}.items():
            if not value > 0:
                raise ConfigError(f"model.{key}={value}: expected a positive learning rate")
        betas = list(self.betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"model.betas={betas}: expected two Adam coefficients, each in [0, 1), e.g. [0.5, 0.999]")
        choose("model.on_nonfinite", self.on_nonfinite, NONFINITE_POLICIES)
        choose("model.on_d_collapse", self.on_d_collapse, COLLAPSE_POLICIES)
        if self.max_skipped_steps < 0:
            raise ConfigError(f"model.max_skipped_steps={self.max_skipped_steps!r}: expected an integer >= 0")
        if not self.d_collapse_loss >= 0:
            raise ConfigError(f"model.d_collapse_loss={self.d_collapse_loss!r}: expected a loss value >= 0")

    def _check_score(self) -> None:
        if not 0.0 <= self.score_lambda <= 1.0:
            raise ConfigError(f"model.score_lambda={self.score_lambda}: expected a weight in [0, 1]")
        for key in ("memory_level", "playback_level"):
            if not -self.depth <= getattr(self, key) < self.depth:
                raise ConfigError(f"model.{key}={getattr(self, key)}: expected an encoder level 0..{self.depth - 1}, "
                                  f"or -1 for the bottleneck (model.depth={self.depth})")
        if self.memory_size < 0:
            raise ConfigError(f"model.memory_size={self.memory_size}: expected an integer >= 0 (0: no memory term)")
        if self.score_patch < 1:
            raise ConfigError(f"model.score_patch={self.score_patch}: expected a window side >= 1 pixel")
        if self.memory_top < 1:
            raise ConfigError(f"model.memory_top={self.memory_top}: expected an integer >= 1")
        if self.playback_top < 1:
            raise ConfigError(f"model.playback_top={self.playback_top}: expected an integer >= 1")
        if self.playback_steps < 0:
            raise ConfigError(f"model.playback_steps={self.playback_steps}: expected an integer >= 0 (0: no motion term)")
        speeds = self.playback_speeds
        if isinstance(speeds, (str, bytes)) or not isinstance(speeds, Sequence):
            raise ConfigError(f"model.playback_speeds={speeds!r}: expected a list of integers >= 2, e.g. [2, 3]")
        if not speeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 2 for s in speeds):
            raise ConfigError(f"model.playback_speeds={list(speeds)!r}: expected a non-empty list of integers >= 2")
        terms = self.score_terms
        if isinstance(terms, str) or not terms or any(t not in TERMS for t in terms):
            raise ConfigError(f"model.score_terms={terms!r}: expected a non-empty list of {', '.join(TERMS)}")


def identity_keys() -> tuple[str, ...]:
    """The keys every checkpoint of this model has (a checkpoint without them is another model's)."""
    return tuple(f.name for f in fields(HParams) if f.metadata["identity"])


def choose(key: str, value: Any, choices: Sequence[str], form: str = "{value!r}: expected one of {choices}") -> None:
    """``value`` must be one of ``choices`` (a one-line ConfigError naming ``key`` otherwise)."""
    if value not in choices:
        raise ConfigError(f"{key}=" + form.format(value=value, choices=", ".join(choices)))


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_size(v: Any) -> bool:
    return _is_int(v) or (isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2 and all(map(_is_int, v)))


def _is_pair(v: Any) -> bool:
    return isinstance(v, Sequence) and not isinstance(v, str) and len(v) == 2 and all(map(_is_number, v))


# what each annotation of HParams accepts (the annotations are strings: `from __future__ import annotations`)
_TYPE_CHECKS = {
    "int": (_is_int, "an integer"),
    "float": (_is_number, "a number"),
    "float | None": (lambda v: v is None or _is_number(v), "a number or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "int | list[int]": (_is_size, "an integer or [height, width]"),
    "tuple[float, float]": (_is_pair, "two numbers, e.g. [0.5, 0.999]"),
}
