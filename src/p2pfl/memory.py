"""Keeping a long-running node's resident memory flat.

Two things grow a Python process that trains with torch in worker threads, besides live
objects: glibc gives every thread that allocates its own malloc arena (up to 8 per
core), and freed memory stays in those arenas instead of going back to the system. A
node limits the arenas once at start and returns freed memory after each epoch. Both are
no-ops where the C library is not glibc."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # mallopt parameter (glibc malloc.h)


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.mallopt  # noqa: B018  (glibc has both; musl and others may not)
        lib.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return lib


def limit_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas (call before worker threads start allocating)."""
    lib = _glibc()
    return bool(lib is not None and lib.mallopt(M_ARENA_MAX, arenas) == 1)


def release() -> bool:
    """Return freed heap memory to the system (glibc ``malloc_trim``)."""
    lib = _glibc()
    return bool(lib is not None and lib.malloc_trim(0) == 1)
