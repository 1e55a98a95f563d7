"""Fake sweep folders as Hydra and vadlit write them: multirun.yaml, job folders, metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

HEADS = {"baseline": 0, "ta1": 1, "ta2": 2, "ta4": 4, "ta8": 8}


def write_multirun(root: Path, task: list[str], params: dict[str, str] | None) -> None:
    cfg = {"hydra": {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                                 "max_batch_size": None, "params": params},
                     "overrides": {"hydra": [f"hydra.sweep.dir={root}", "hydra.mode=MULTIRUN"], "task": task},
                     "job": {"name": "train"}},
           "seed": 0, "model": {"heads": 0}}
    root.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(OmegaConf.create(cfg), root / "multirun.yaml")


def fake_metrics(model: str, seed: int, auroc: float, objective: str = "reconstruct", clip_len: int = 8,
                 test_stats: bool = False) -> dict:
    return {
        "auroc": auroc, "auroc_macro": auroc - 0.02, "ap": auroc - 0.15, "eer": 1.0 - auroc - 0.05,
        "auroc_by_kind": {"object": auroc + 0.1, "running": auroc - 0.1},
        "n_frames": 720, "n_videos": 6,
        "model": {"variant": model, "heads": HEADS[model], "objective": objective, "clip_len": clip_len},
        "seed": seed,
        "data": {"source": "synthetic", "image_size": [64, 64], "clip_len": clip_len},
        "options": {"per_video_normalization": test_stats, "smoothing_sigma": 0.0,
                    "uses_test_statistics": test_stats, "order": "smooth, then normalise"},
        "params": {"generator": 10, "discriminator": 5, "total": 15},
        "auroc_macro_padded": auroc - 0.01,
        "conventions": {"auroc": "micro: pooled", "auroc_macro": "macro: one-class videos skipped",
                        "auroc_macro_padded": "padded macro: one pseudo-frame of each class per video"},
        "localization": fake_localization(model, seed),
    }


def fake_localization(model: str, seed: int) -> dict:
    """A localisation block that improves with heads, with a seed-dependent wobble."""
    base = 0.5 + 0.05 * HEADS[model] ** 0.5 + float(np.random.default_rng([HEADS[model], seed, 99]).normal(0, 0.02))
    return {"n_videos_with_masks": 6, "n_videos": 6, "pixel_auroc": base + 0.3, "aupro": base + 0.1,
            "rbdc": base - 0.2, "tbdc": base, "aupro_fpr_limit": 0.3, "beta": 0.1, "alpha": 0.1, "fp_limit": 1.0}


def write_job(root: Path, name: str, overrides: list[str], status: str, metrics: dict | None = None,
              error: str | None = None) -> Path:
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    info = {"task": "train", "start": "2026-11-21T05:53:49+00:00", "end": None, "status": status}
    if status != "running":
        info["end"] = "2026-11-21T06:00:00+00:00"
    if error:
        info["error"] = error
    (job / "run_info.json").write_text(json.dumps(info))
    if metrics is not None:
        (job / "metrics.json").write_text(json.dumps(metrics))
    return job
