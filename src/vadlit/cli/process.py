"""What every entry point does before Hydra composes its config."""

from __future__ import annotations

import functools


def vadlit_process(fn):
    """Register vadlit's resolvers (every config may use them), keep freed memory in the process
    (`vadlit.allocator`) and turn SIGTERM into an interruption a run can record (`errors.Terminated`),
    then run ``fn``: the outermost decorator of every Hydra main."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from vadlit.allocator import keep_freed_memory
        from vadlit.config.resolvers import register
        from vadlit.errors import terminate_on_sigterm

        register()
        keep_freed_memory()
        terminate_on_sigterm()
        return fn(*args, **kwargs)

    return wrapper
