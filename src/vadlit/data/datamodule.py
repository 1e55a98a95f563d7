"""`ClipDataModule`: train / val / test clips from any source, through the frame cache.

Train and val both come from the normal training videos: val is a held-out part of them (whole
videos when there are several, the tail of the video otherwise) and is what picks checkpoints.
The test split is only ever scored, never used to choose anything.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import lightning.pytorch as L
from torch.utils.data import DataLoader

from vadlit.data.cache import CachedSplit, load_split
from vadlit.data.clips import ClipDataset, Segment, scored_stride
from vadlit.data.source import Source
from vadlit.data.workers import worker_start_method
from vadlit.image_size import as_size
from vadlit.errors import ConfigError, DataError

log = logging.getLogger(__name__)


class ClipDataModule(L.LightningDataModule):
    def __init__(
        self,
        source: Source,
        root: str | None = None,
        image_size: int | list[int] = 64,
        channels: int = 1,
        clip_len: int = 8,
        stride: int = 4,
        eval_stride: int | None = None,
        test_stride: int | None = None,
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        val_fraction: float = 0.2,
        cache_dir: str = ".cache/vadlit",
        rebuild_cache: bool = False,
        decode_workers: int | None = None,
        pin_memory: bool = False,
    ):
        """`root` is not used here: it is the key the real sources' configs read as ${data.root}, and
        Hydra passes every key of `data` to this constructor."""
        super().__init__()
        _check_positive(clip_len=clip_len, stride=stride, batch_size=batch_size, channels=channels,
                        **{k: v for k, v in {"eval_stride": eval_stride, "test_stride": test_stride,
                                             "eval_batch_size": eval_batch_size,
                                             "decode_workers": decode_workers}.items() if v is not None})
        if channels not in (1, 3):
            raise ConfigError(f"data.channels={channels}: expected 1 (grey) or 3 (RGB)")
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0.0 < val_fraction < 1.0:
            raise ConfigError(f"data.val_fraction={val_fraction!r}: expected a fraction strictly between 0 and 1")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ConfigError(f"data.num_workers={num_workers!r}: expected an integer >= 0 (0: load in the main process)")
        for key, value in {"pin_memory": pin_memory, "rebuild_cache": rebuild_cache}.items():
            if not isinstance(value, bool):
                raise ConfigError(f"data.{key}={value!r}: expected true or false")
        self._test_stride_key = "data.test_stride" if test_stride else "data.eval_stride" if eval_stride else "data.stride"
        self.source = source
        self.image_size = as_size(image_size)
        self.channels, self.clip_len, self.stride = channels, clip_len, stride
        self.eval_stride = eval_stride or stride
        self.test_stride = test_stride or self.eval_stride
        self.batch_size, self.eval_batch_size = batch_size, eval_batch_size or batch_size
        self.num_workers, self.pin_memory = num_workers, pin_memory
        self.val_fraction = val_fraction
        self.cache_dir, self.rebuild_cache = Path(cache_dir), rebuild_cache
        self.decode_workers = decode_workers
        self.train_split: CachedSplit | None = None
        self.test_split: CachedSplit | None = None
        self._splits: dict[str, CachedSplit] = {}

    def score_for(self, last_only: bool) -> None:
        """Test clips for a model that judges every frame of a clip, or only its last (``predict``:
        then every frame must end a clip, see `clips.scored_stride`)."""
        self.test_stride = scored_stride(self.test_stride, last_only)
        if self.test_stride > self.clip_len:  # windows further apart than they are long skip frames
            raise ConfigError(f"{self._test_stride_key}={self.test_stride} with data.clip_len={self.clip_len}: test "
                              "clips that far apart leave the frames between them unscored; expected a stride <= "
                              "data.clip_len")

    # -- splits -------------------------------------------------------------------------------
    def _cached(self, split: str) -> CachedSplit:
        """The split's cache, opened (or built) once per datamodule: listing a large data set's files
        to check the cache key is not free."""
        if split not in self._splits:
            self._splits[split] = load_split(self.source, split, self.cache_dir, self.image_size, self.channels,
                                             self.rebuild_cache, self.decode_workers)
        return self._splits[split]

    def _load(self, split: str) -> CachedSplit:
        cached = self._cached(split)
        if not cached.videos:
            raise DataError(f"data source '{self.source.name}' has no {split} videos")
        short = [v.name for v in cached.videos if len(v) < self.clip_len]
        if short:
            log.warning(
                "skipping %d %s video(s) shorter than data.clip_len=%d frames: %s",
                len(short), split, self.clip_len, ", ".join(short[:10]),
            )
        return cached

    def prepare_data(self) -> dict[str, CachedSplit]:
        """Build the caches once (rank 0); later runs reuse them."""
        splits = {split: self._cached(split) for split in ("train", "test")}
        self.rebuild_cache = False
        return splits

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit", "validate") and self.train_split is None:
            self.train_split = self._load("train")
            self.train_segments, self.val_segments = self._hold_out(self.train_split)
        if stage in (None, "test", "predict") and self.test_split is None:
            self.test_split = self._load("test")

    def _hold_out(self, split: CachedSplit) -> tuple[list[Segment], list[Segment]]:
        usable = [i for i, v in enumerate(split.videos) if len(v) >= self.clip_len]
        if not usable:
            raise DataError(f"no training video has at least data.clip_len={self.clip_len} frames")
        if len(usable) >= 2:  # whole videos: val frames share no clip with training frames
            n_val = min(len(usable) - 1, max(1, math.ceil(len(usable) * self.val_fraction)))
            train = [Segment(i, 0, len(split.videos[i])) for i in usable[:-n_val]]
            val = [Segment(i, 0, len(split.videos[i])) for i in usable[-n_val:]]
            return train, val
        i = usable[0]
        n = len(split.videos[i])
        cut = n - max(self.clip_len, int(round(n * self.val_fraction)))
        if cut < self.clip_len:
            raise DataError(
                f"the only training video '{split.videos[i].name}' has {n} frames: too few to hold out "
                f"data.val_fraction={self.val_fraction} of it with data.clip_len={self.clip_len}"
            )
        return [Segment(i, 0, cut)], [Segment(i, cut, n)]

    @property
    def test_videos(self) -> list:
        """Test videos that are scored (those at least one clip long)."""
        assert self.test_split is not None, "call setup('test') first"
        return [v for v in self.test_split.videos if len(v) >= self.clip_len]

    # -- loaders ------------------------------------------------------------------------------
    def _loader(self, dataset: ClipDataset, batch_size: int, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.num_workers > 0,
            multiprocessing_context=worker_start_method(self.num_workers),
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        ds = ClipDataset(self.train_split.videos, self.train_segments, self.clip_len, self.stride)
        return self._loader(ds, self.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        ds = ClipDataset(self.train_split.videos, self.val_segments, self.clip_len, self.eval_stride)
        return self._loader(ds, self.eval_batch_size, shuffle=False)

    def reference_dataloaders(self) -> tuple[DataLoader, DataLoader]:
        """Normal clips for the score's reference (``NormalReference``): the training clips (its
        memory) and the held-out validation clips, windowed like test clips (its statistics)."""
        if self.train_split is None:
            self.setup("fit")
        train = ClipDataset(self.train_split.videos, self.train_segments, self.clip_len, self.stride)
        val = ClipDataset(self.train_split.videos, self.val_segments, self.clip_len, self.test_stride)
        return self._loader(train, self.eval_batch_size, shuffle=False), self._loader(val, self.eval_batch_size, shuffle=False)

    def train_windows(self, length: int) -> DataLoader:
        """Windows of ``length`` frames over the training segments (every ``stride`` frames), for the
        score's playback head; empty when no segment is that long."""
        if self.train_split is None:
            self.setup("fit")
        ds = ClipDataset(self.train_split.videos, self.train_segments, length, self.stride)
        return self._loader(ds, self.eval_batch_size // 2 or 1, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        videos = self.test_split.videos
        segments = [Segment(i, 0, len(v)) for i, v in enumerate(videos) if len(v) >= self.clip_len]
        ds = ClipDataset(videos, segments, self.clip_len, self.test_stride)
        return self._loader(ds, self.eval_batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        """The test clips: a test is the model's predict loop over them (see `tasks.evaluate`)."""
        return self.test_dataloader()


def _check_positive(**values: int) -> None:
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"data.{key}={value!r}: expected a positive integer")
