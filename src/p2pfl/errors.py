"""Errors that carry a message meant for the person running p2pfl.

The CLI prints these without a traceback; everything else is a bug.
"""


class P2pflError(Exception):
    """Base class of every error p2pfl reports to its user."""


class ConfigError(P2pflError, ValueError):
    """A setting, argument or parameter combination that cannot work."""


class DataError(P2pflError):
    """Training data that is missing, corrupt or of the wrong shape."""


class CodecError(P2pflError, ValueError):
    """Update bytes that do not decode into the expected model update."""
