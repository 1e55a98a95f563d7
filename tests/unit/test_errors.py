"""How a failure reads as one line: the user's error behind Hydra's and OmegaConf's wrappers, or the
root cause of a bug; and why a run stopped."""

from __future__ import annotations

import errno

import pytest
from hydra.errors import InstantiationException

from vadlit.errors import ConfigError, Terminated, interruption, one_line, root_cause, user_error


def _wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


def test_a_value_a_library_refuses_names_the_config_node():
    exc = _wrapped(ValueError("Precision 17 is invalid"),
                   InstantiationException("Error in call to target 'Trainer':\nValueError(...)\nfull_key: trainer"))
    cause = user_error(exc)
    assert isinstance(cause, ConfigError)
    assert one_line(cause).startswith("trainer: ValueError: Precision 17 is invalid")


def test_a_bug_is_not_a_user_error_but_its_root_cause_is_recorded():
    exc = _wrapped(ZeroDivisionError("division by zero"), RuntimeError("Error in call to target"))
    assert user_error(exc) is None
    assert isinstance(root_cause(exc), ZeroDivisionError)


@pytest.mark.parametrize("code, expected", [(errno.EACCES, "Permission denied"), (errno.ENOTDIR, "Not a directory"),
                                            (errno.ENOSPC, "no space left")])
def test_paths_that_cannot_be_written_name_the_path(code, expected):
    cause = user_error(OSError(code, __import__("os").strerror(code) if code != errno.ENOSPC else "No space", "/x/y"))
    assert cause is not None and "/x/y" in one_line(cause) and expected.lower() in one_line(cause).lower()


def test_why_a_run_stopped():
    assert interruption(_wrapped(Terminated("SIGTERM"), SystemExit(1))) == "stopped by SIGTERM"
    assert interruption(_wrapped(KeyboardInterrupt(), SystemExit(1))) == "stopped by Ctrl-C (SIGINT)"
    assert interruption(SystemExit(3)) == "exited with status 3"
    assert interruption(SystemExit(0)) is None
