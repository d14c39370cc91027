"""Turning what escapes a trio nursery into the one error the user should read."""

from __future__ import annotations

from p2pfl.errors import ConfigError, P2pflError


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def user_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first P2pflError inside ``group``, an OSError as a ConfigError (a port in use,
    an unwritable data directory), or the group itself (a bug: keep its traceback)."""
    leaves = _leaves(group)
    for leaf in leaves:
        if isinstance(leaf, P2pflError):
            return leaf
    for leaf in leaves:
        if isinstance(leaf, OSError):
            return ConfigError(str(leaf))
    return group
