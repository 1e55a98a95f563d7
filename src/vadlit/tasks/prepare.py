"""`vadlit-prepare`: build the frame cache now (not at the first run) and summarise the data set."""

from __future__ import annotations

import time

from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from vadlit.data.export import export_test_videos


def prepare(cfg: DictConfig) -> None:
    datamodule = instantiate(cfg.data, _convert_="object")
    start = time.perf_counter()
    splits = datamodule.prepare_data()
    seconds = time.perf_counter() - start

    table = Table(title=f"{datamodule.source.name}: {'x'.join(map(str, datamodule.image_size))}, "
                        f"{datamodule.channels} channel(s)")
    for column in ("split", "videos", "frames", "anomalous frames", "shorter than clip_len"):
        table.add_column(column, justify="right")
    frames = 0
    for name, split in splits.items():
        summary = split.summary()
        short = sum(len(v) < datamodule.clip_len for v in split.videos)
        anomalous = summary["anomalous_frames"] if split.has_labels else "no labels"
        table.add_row(name, str(summary["videos"]), str(summary["frames"]), str(anomalous), str(short))
        frames += summary["frames"]
    console = Console()
    console.print(table)
    for split in splits.values():
        console.print(f"cache ({split.split}): {split.path}")
    console.print(f"{frames} frames ready in {seconds:.1f} s ({frames / max(seconds, 1e-9):.0f} frames/s; "
                  "a cache that already existed is only opened)")
    if cfg.get("export"):
        for path in export_test_videos(datamodule.source, cfg.export, cfg.export_videos):
            console.print(f"wrote {path} (score it: make score CKPT=<ckpt> INPUT={path})")
