"""Turning a user's mistake into one clear line instead of a traceback from deep inside a library."""

from __future__ import annotations

import functools
import logging
import os
import sys

from omegaconf.errors import OmegaConfBaseException

from vadlit.errors import VadlitError

log = logging.getLogger("vadlit")


def _user_error(exc: BaseException) -> BaseException | None:
    """The VadlitError or OmegaConf error behind `exc` (Hydra wraps errors of instantiated targets)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (VadlitError, OmegaConfBaseException)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def user_errors_as_messages(fn):
    """Run `fn`; a user error exits with status 2 and one line (set VADLIT_TRACEBACK=1 to see all)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            cause = _user_error(exc)
            if cause is None or os.environ.get("VADLIT_TRACEBACK"):
                raise
            message = str(cause).strip().splitlines()
            text = " ".join(line.strip() for line in message if line.strip())
            log.error("%s", text)
            print(f"vadlit: error: {text}", file=sys.stderr)
            sys.exit(2)

    return wrapper
