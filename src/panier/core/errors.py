"""Errors that end a stage with one readable message instead of a traceback."""


class PanierError(Exception):
    """A failure the user can fix; its message says what and how."""


class ConfigError(PanierError):
    """``params.yaml`` is missing, malformed or holds an invalid value."""


class DataError(PanierError):
    """Input data cannot be used: unreadable, wrong shape, or too dirty."""


class DriftDetected(PanierError):
    """Drift was found and the params ask the drift-check stage to fail on it."""
