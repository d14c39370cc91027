"""Stream helpers: whole writes that never interleave, and bounded reads.

py-libp2p 0.8.1's Yamux stream takes its write lock per frame, not per ``write()``: two
tasks writing more than one frame (>64 KiB) to the same stream concurrently get their
frames interleaved on the wire (upstream #793). ``SerialWriter`` holds a lock for the
whole logical write, so concurrent writers queue instead of mixing bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamEOF

from p2pfl.net.errors import NetError

log = logging.getLogger(__name__)
T = TypeVar("T")


class SerialWriter:
    """Writes to one stream, whole messages at a time, in ``chunk`` sized pieces."""

    def __init__(self, stream: INetStream, chunk: int = 256 * 1024) -> None:
        self._stream = stream
        self._chunk = chunk
        self._lock = trio.Lock()

    async def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        async with self._lock:
            for start in range(0, len(view), self._chunk):
                await self._stream.write(bytes(view[start : start + self._chunk]))


async def read_exactly(
    stream: INetStream, n: int, *, idle_timeout: float, chunk: int = 1 << 20
) -> bytes:
    """Exactly ``n`` bytes; NetError when the peer closes early or sends nothing for
    ``idle_timeout`` seconds (a stalled peer must not hold a fetch forever)."""
    parts: list[bytes] = []  # joined once at the end: appending to one buffer reallocates
    got = 0
    while got < n:
        with trio.move_on_after(idle_timeout) as scope:
            try:
                part = await stream.read(min(chunk, n - got))
            except StreamEOF:
                part = b""
        if scope.cancelled_caught:
            raise NetError(f"peer stalled after {got} of {n} bytes")
        if not part:
            raise NetError(f"stream ended after {got} of {n} bytes")
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def reset_quietly(stream: INetStream) -> None:
    """Reset ``stream``, shielded from cancellation; a failure is only logged (the
    stream is being given up on anyway)."""
    with trio.CancelScope(shield=True):
        try:
            await stream.reset()
        except Exception:
            log.debug("stream reset failed", exc_info=True)


async def close_quietly(stream: INetStream) -> None:
    """Close ``stream``; a failure is only logged (the answer was read already)."""
    try:
        await stream.close()
    except Exception:
        log.debug("stream close failed", exc_info=True)


async def request(
    stream: INetStream,
    data: bytes,
    read: Callable[[INetStream], Awaitable[T]],
    what: str,
) -> T:
    """Send ``data`` on ``stream`` and read the answer with ``read``. The stream is
    closed after a whole answer and reset after anything else; a failure that is not a
    NetError already (a reset stream, a lost connection) becomes one: "``what`` failed"."""
    try:
        await SerialWriter(stream).write(data)
        answer = await read(stream)
    except NetError:
        await reset_quietly(stream)
        raise
    except Exception as exc:
        await reset_quietly(stream)
        raise NetError(f"{what} failed: {exc}") from None
    await close_quietly(stream)
    return answer
