"""One exception type for every mistake a user can fix, and how any failure reads as one line.

The entry points print `one_line(user_error(exc))` (cli/errors.py); a run's record (run_info.json)
keeps the same line, or the root cause of an unexpected failure, not the wrapper Hydra put around it.
"""

from __future__ import annotations

import errno
import re

from hydra.errors import HydraException, InstantiationException, MissingConfigException
from omegaconf.errors import OmegaConfBaseException


class VadlitError(Exception):
    """A user-fixable problem: the message names the file, key or value at fault and what was expected."""


class ConfigError(VadlitError, ValueError):
    """A configuration that cannot work (names the config keys and values)."""


class DataError(VadlitError, ValueError):
    """Input data that is missing or malformed (names the path and what was expected)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler's or `kill`'s stop), raised like Ctrl-C so that a run can record that it
    was interrupted instead of staying `running` forever."""


def terminate_on_sigterm() -> None:
    """Raise `Terminated` on SIGTERM in the main thread (Lightning keeps and calls this handler too)."""
    import signal
    import threading

    def handler(signum, frame):
        raise Terminated(f"stopped by signal {signal.Signals(signum).name}")

    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) in (
            signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, handler)


def interruption(exc: BaseException) -> str | None:
    """Why a run stopped early, when it was stopped (SIGTERM, Ctrl-C, an exit), else None."""
    chain = cause_chain(exc)
    if any(isinstance(c, Terminated) for c in chain):
        return "stopped by SIGTERM"
    if any(isinstance(c, KeyboardInterrupt) for c in chain):
        return "stopped by Ctrl-C (SIGINT)"
    if isinstance(exc, SystemExit) and exc.code not in (0, None):
        return f"exited with status {exc.code}"
    return None


def cause_chain(exc: BaseException | None) -> list[BaseException]:
    seen, chain = set(), []
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    return chain


# An OS error about a named file the user pointed at (an output or cache folder that cannot be
# created or written, an input that cannot be read): theirs to fix, not a bug.
_PATH_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.EEXIST,
                errno.ENAMETOOLONG, errno.ELOOP)


def _refused_value(exc: BaseException) -> bool:
    """A library's "this value is wrong": ValueError, TypeError, an ImportError (a value naming what
    is not installed, e.g. ``trainer.accelerator=tpu``) or Lightning's MisconfigurationException
    (matched by name: importing Lightning here would make every light command pay for torch)."""
    return isinstance(exc, (ValueError, TypeError, ImportError)) or any(t.__name__ == "MisconfigurationException"
                                                           for t in type(exc).__mro__)


def user_error(exc: BaseException) -> BaseException | None:
    """The user's error behind `exc`, or None for a bug: vadlit's own error; an OmegaConf error; a
    full disk or a path that cannot be created, written or read; a value of the config that the
    library it configures refuses (Hydra's "Error in call to target"); else a Hydra error about the
    config itself (e.g. a `_target_` that does not exist)."""
    chain = cause_chain(exc)
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
        if isinstance(cause, OSError) and cause.errno in _PATH_ERRNOS and cause.filename:
            return VadlitError(f"'{cause.filename}': {cause.strerror}; expected a location this user can create "
                               "and write (outputs: paths.log_dir or hydra.run.dir; frame cache: paths.cache_dir) "
                               "or an existing readable input")
    instantiation = next((c for c in chain if isinstance(c, InstantiationException)), None)
    if instantiation is not None and _refused_value(chain[-1]):
        key = re.search(r"full_key: (\S+)", str(instantiation))
        where = key.group(1) if key else "the config"
        return ConfigError(f"{where}: {type(chain[-1]).__name__}: {one_line(chain[-1])} (a value under {where}.* "
                           "that the library it configures refuses)")
    return next((c for c in chain if isinstance(c, HydraException)), None)


def one_line(exc: BaseException) -> str:
    if isinstance(exc, MissingConfigException) and exc.options:
        return f"{str(exc).splitlines()[0]}; choose one of: {', '.join(exc.options)}"
    missing = re.search(r"Missing mandatory value: ?(\S+)", str(exc))
    if isinstance(exc, OmegaConfBaseException) and missing:  # a `???` the command line did not fill
        key = missing.group(1)
        return f"{key} is required and was not given: add {key}=<value> to the command line"
    text = " ".join(line.strip() for line in str(exc).strip().splitlines() if line.strip())
    trailer = re.search(r"\s*full_key: (\S+)(?: (?:reference_type|object_type)=\S+)*\s*$", text)
    if trailer and isinstance(exc, OmegaConfBaseException):  # the key first, not OmegaConf's trailer
        return f"{trailer.group(1)}: {text[:trailer.start()]}"
    return text.replace(", set env var HYDRA_FULL_ERROR=1 to see chained exception.", ";")  # VADLIT_TRACEBACK=1 does


def root_cause(exc: BaseException) -> BaseException:
    """What to record about a failure: the user's error if it is one, else the innermost cause
    (e.g. the error inside Hydra's ``InstantiationException: Error in call to target ...``)."""
    return user_error(exc) or cause_chain(exc)[-1]
