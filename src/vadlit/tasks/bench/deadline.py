"""A time budget for a check that must end by a fixed time: each part asks whether its estimated
cost still fits before it starts, so a slow part costs the parts after it, never the whole result."""

from __future__ import annotations

import time
from collections.abc import Callable


class Deadline:
    """`budget_s` seconds from creation (or from `start`, a `clock()` reading)."""

    def __init__(self, budget_s: float, clock: Callable[[], float] = time.monotonic, start: float | None = None):
        if not budget_s > 0:
            raise ValueError(f"a time budget must be positive, got {budget_s!r} s")
        self.budget_s = float(budget_s)
        self.clock = clock
        self.start = clock() if start is None else start

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    @property
    def remaining(self) -> float:
        return self.budget_s - self.elapsed

    def allows(self, estimate_s: float, reserve_s: float = 0.0) -> bool:
        """Whether a part expected to take `estimate_s` ends with `reserve_s` still left."""
        return self.remaining - reserve_s >= estimate_s

    def slice(self, cap_s: float, reserve_s: float = 0.0) -> float:
        """The longest a part may run: `cap_s`, or less so that `reserve_s` is left (never negative)."""
        return max(0.0, min(cap_s, self.remaining - reserve_s))
