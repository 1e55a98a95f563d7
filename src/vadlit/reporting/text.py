"""The two text conventions that reading and rendering share: `—` for no value, and one-line messages.

A missing job's folder name and an empty table cell are both `DASH`; an error read from a run and a
problem found while reading are both folded to one line. They live here so that neither the reading
modules nor the rendering ones import the other for them.
"""

from __future__ import annotations

from typing import Any

DASH = "—"


def one_line(text: Any) -> str:
    """`text` with every run of whitespace (newlines included) as one space."""
    return " ".join(str(text).split())
