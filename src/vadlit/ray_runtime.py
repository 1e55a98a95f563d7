"""Whether this process is a Ray task (a job of hydra/launcher=ray_local or ray_cluster), and what
Ray gave it. Ray is never imported for this: only a process Ray started has it loaded."""

from __future__ import annotations

import logging
import sys
from typing import Any

log = logging.getLogger(__name__)


def ray_resources() -> dict[str, Any] | None:
    """Inside a Ray task: ``{"assigned": {"GPU": 0.2, "CPU": 1.0, ...}, "gpu_ids": ["0"]}``; else None."""
    ray = sys.modules.get("ray")
    if ray is None or not hasattr(ray, "is_initialized") or not ray.is_initialized():
        return None
    try:
        context = ray.get_runtime_context()
        return {"assigned": dict(context.get_assigned_resources()), "gpu_ids": [str(i) for i in ray.get_gpu_ids()]}
    except Exception as exc:  # the driver, or another Ray version: a record, never a failure
        log.debug("no Ray task resources: %s", exc)
        return None


def in_ray_worker() -> bool:
    return ray_resources() is not None
