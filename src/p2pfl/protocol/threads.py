"""Blocking work (JSON-RPC, training, sketching) off the trio thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import trio

T = TypeVar("T")


async def blocking(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a worker thread. On cancellation (Ctrl-C) the thread is abandoned
    rather than awaited: an RPC call may take its full timeout, a stop may not."""
    return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)  # type: ignore[call-arg]
