"""Turning a user's mistake into one clear line instead of a traceback from deep inside a library."""

from __future__ import annotations

import functools
import logging
import os
import re
import sys

import errno

from hydra.errors import HydraException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException

from vadlit.errors import VadlitError

log = logging.getLogger("vadlit")


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen, chain = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


def _user_error(exc: BaseException) -> BaseException | None:
    """The VadlitError or OmegaConf error behind `exc` (Hydra wraps errors of instantiated targets),
    a full disk, or else a Hydra error about the config itself (e.g. a `_target_` that does not exist)."""
    chain = _chain(exc)
    # vadlit's own message first: OmegaConf wraps an error raised inside a resolver (e.g. a refused resume)
    ours = next((c for c in chain if isinstance(c, VadlitError)), None)
    if ours is not None:
        return ours
    for cause in chain:
        if isinstance(cause, OmegaConfBaseException):
            return cause
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            where = f" writing '{cause.filename}'" if cause.filename else ""
            return VadlitError(f"no space left on the device{where} ({cause.strerror}); free space, or point "
                               "paths.log_dir (outputs) and paths.cache_dir (the frame cache) to a larger disk")
    return next((c for c in chain if isinstance(c, HydraException)), None)


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
            text = _one_line(cause)
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


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, MissingConfigException) and exc.options:
        return f"{str(exc).splitlines()[0]}; choose one of: {', '.join(exc.options)}"
    missing = re.search(r"Missing mandatory value: ?(\S+)", str(exc))
    if isinstance(exc, OmegaConfBaseException) and missing:  # a `???` the command line did not fill
        key = missing.group(1)
        return f"{key} is required and was not given: add {key}=<value> to the command line"
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    return text.replace(", set env var HYDRA_FULL_ERROR=1 to see chained exception.", ";")  # VADLIT_TRACEBACK=1 does


def composition_errors_as_messages(hydra_main):
    """Wrap a ``@hydra.main`` function: a command line Hydra cannot compose (an unknown config group
    option, a key that does not exist, a malformed override) exits with status 2 and one line."""

    @functools.wraps(hydra_main)
    def wrapper(*args, **kwargs):
        os.environ.setdefault("HYDRA_FULL_ERROR", "1")  # Hydra raises instead of printing its own report
        _failed.update(status=0, outer=True)
        try:
            result = hydra_main(*args, **kwargs)
        except (HydraException, OmegaConfBaseException) as exc:
            if os.environ.get("VADLIT_TRACEBACK"):
                raise
            print(f"vadlit: error: {_one_line(_user_error(exc) or exc)}", file=sys.stderr)
            sys.exit(2)
        finally:
            _failed["outer"] = False
        if _failed["status"]:
            sys.exit(_failed["status"])
        return result

    return wrapper
