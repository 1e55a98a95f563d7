"""Turning a user's mistake into one clear line instead of a traceback from deep inside a library."""

from __future__ import annotations

import functools
import logging
import os
import sys
import traceback

from vadlit.errors import one_line, user_error

log = logging.getLogger("vadlit")


def user_errors_as_messages(fn):
    """Run `fn`; a user error exits with status 2 and one line (set VADLIT_TRACEBACK=1 to see all)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            cause = user_error(exc)
            if cause is None or os.environ.get("VADLIT_TRACEBACK"):
                raise
            text = one_line(cause)
            log.error("%s", text)
            print(f"vadlit: error: {text}", file=sys.stderr)
            # Returned, not raised: Hydra would add its own report of a failed job. The exit status is
            # set by `composition_errors_as_messages` once Hydra is done (or here without it).
            _failed["status"] = 2
            if not _failed["outer"]:
                sys.exit(2)
            return None

    return wrapper


_failed = {"status": 0, "outer": False}


def _hydra_usage(exc: BaseException) -> BaseException | None:
    """A command line Hydra's own argument handling refuses (e.g. ``-m --cfg hydra``): Hydra raises a
    bare ValueError for it, from its own code."""
    if not isinstance(exc, ValueError) or exc.__traceback__ is None:
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    if frames and f"{os.sep}hydra{os.sep}" in frames[-1].filename:
        return ValueError(f"{exc} (a Hydra command-line flag; see --help)")
    return None


def composition_errors_as_messages(hydra_main):
    """Wrap a ``@hydra.main`` function: a command line Hydra cannot compose (an unknown config group
    option, a key that does not exist, a malformed override) exits with status 2 and one line."""

    @functools.wraps(hydra_main)
    def wrapper(*args, **kwargs):
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra raises instead of printing its own report
        _failed.update(status=0, outer=True)
        try:
            result = hydra_main(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - classified below; a bug is re-raised with its traceback
            cause = user_error(exc) or _hydra_usage(exc)
            if cause is None or os.environ.get("VADLIT_TRACEBACK"):
                raise
            print(f"vadlit: error: {one_line(cause)}", file=sys.stderr)
            sys.exit(2)
        finally:
            _failed["outer"] = False
        if _failed["status"]:
            sys.exit(_failed["status"])
        return result

    return wrapper
