"""`SyntheticSource`, the benchmark as a `Source` (what `data.source._target_` names), and the
generation of one video from the stages beside it: scene, normal traffic, events, rendering.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import numpy as np

from vadlit.data.source import NORMAL, Source, VideoData, VideoRecord
from vadlit.data.sources.synthetic.actors import normal_traffic
from vadlit.data.sources.synthetic.config import (KINDS, MIN_FRAMES, MIN_IMAGE_SIZE, Config, check_channels,
                                                  check_float, check_int, check_kinds)
from vadlit.data.sources.synthetic.events import plan_events
from vadlit.data.sources.synthetic.render import finish, render
from vadlit.data.sources.synthetic.scene import static_background
from vadlit.errors import DataError

GENERATOR_VERSION = 3
"""Bump whenever the generated pixels or labels change, so frame caches are rebuilt."""

_SPLIT_IDS = {"train": 0, "test": 1}


class SyntheticSource(Source):
    """Deterministic synthetic pedestrian videos with frame labels, kinds and pixel masks.

    Training videos show normal walkers only; each test video adds 1-2 anomalous events (about one
    video in three holds two) whose kinds cycle through `kinds` across the test set (see
    `events._event_kinds`): every kind appears once n_test >= len(kinds) (with fewer test videos,
    second events fill the gaps where time allows), and when n_test is a multiple of len(kinds) the
    kinds have equally many events, give or take one (the default 24 test videos: 8 of each of the 4).
    """

    name = "synthetic"

    def __init__(
        self,
        seed: int = 0,
        image_size: int = 64,
        channels: int = 1,
        n_train: int = 8,
        n_test: int = 24,
        frames: int = 120,
        kinds: Sequence[str] | str = KINDS,
        max_people: int = 4,
        noise_std: float = 2.0,
    ) -> None:
        self.config = Config(
            seed=check_int("seed", seed, 0),
            image_size=check_int("image_size", image_size, MIN_IMAGE_SIZE,
                                 "so that a pedestrian sprite is a few pixels wide"),
            channels=check_channels(channels),
            n_train=check_int("n_train", n_train, 1),
            n_test=check_int("n_test", n_test, 1),
            frames=check_int("frames", frames, MIN_FRAMES,
                             "so that a test video holds a normal stretch and an anomalous event"),
            kinds=check_kinds(kinds),
            max_people=check_int("max_people", max_people, 1),
            noise_std=check_float("noise_std", noise_std),
        )

    def videos(self, split: str) -> list[VideoRecord]:
        """The videos of `split`, named ``train_001``... / ``test_001``...; each loads lazily."""
        if split not in _SPLIT_IDS:
            raise DataError(f"synthetic data has splits {sorted(_SPLIT_IDS)}, got split {split!r}")
        count = self.config.n_train if split == "train" else self.config.n_test
        return [
            VideoRecord(f"{split}_{i + 1:03d}", functools.partial(_generate_video, self.config, split, i))
            for i in range(count)
        ]

    def cache_key(self) -> dict[str, Any]:
        """All constructor arguments plus the generator version: together they fix every pixel."""
        key = {name: getattr(self.config, name) for name in self.config.__dataclass_fields__}
        key["kinds"] = list(self.config.kinds)
        key["generator_version"] = GENERATOR_VERSION
        return key


def _generate_video(config: Config, split: str, index: int, transform=None) -> VideoData:
    """Video `index` of `split`: normal traffic, plus planned anomalous events on test videos.

    Frames are drawn at the configured size already; `transform` (the cache's) is applied as given.
    """
    rng, background, walkers, events = _scene(config, split, index)
    rgb, masks = render(background, walkers, events, config.frames)
    frames = finish(rgb, config.channels, config.noise_std, rng)
    if transform is not None:
        frames = transform(frames)
    if split == "train":
        return VideoData(frames)
    labels = masks.any(axis=(1, 2)).astype(np.uint8)
    kinds = [NORMAL] * config.frames
    for actor in events:
        for t in np.flatnonzero(actor.anomalous & labels.astype(bool)):
            kinds[t] = actor.kind
    return VideoData(frames, labels, kinds, masks)


def _scene(config: Config, split: str, index: int):
    """The video's random stream (after planning), background, normal walkers and event actors."""
    rng = np.random.default_rng([config.seed, _SPLIT_IDS[split], index])
    background, layout = static_background(config.seed, config.image_size)
    walkers = normal_traffic(rng, config, layout)
    events = plan_events(rng, config, layout, index, walkers) if split == "test" else []
    return rng, background, walkers, events
