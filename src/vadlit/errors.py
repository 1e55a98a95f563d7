"""One exception type for every mistake a user can fix, so entry points can print it as one line."""


class VadlitError(Exception):
    """A user-fixable problem: the message names the file, key or value at fault and what was expected."""


class ConfigError(VadlitError, ValueError):
    """A configuration that cannot work (names the config keys and values)."""


class DataError(VadlitError, ValueError):
    """Input data that is missing or malformed (names the path and what was expected)."""
