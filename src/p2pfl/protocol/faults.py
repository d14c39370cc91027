"""Faults a node survives: a refused transaction, an RPC endpoint that is down or slow,
a peer that does not answer, bytes that do not decode. Each is caught where it happens,
reported with its cause, and the work is retried with back-off; nothing here kills the
node. Programming errors are not in the list: they still surface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio
from requests.exceptions import RequestException
from web3.exceptions import Web3Exception

from p2pfl.errors import P2pflError
from p2pfl.events import Emit, Fault

# Everything that comes from outside the process: the chain, the network, the disk.
TRANSIENT: tuple[type[Exception], ...] = (
    P2pflError,  # ChainError (reverts), NetError, ProverError, corrupt blobs, ...
    RequestException,  # the RPC endpoint unreachable or timing out
    Web3Exception,  # the RPC endpoint answering with an error
    OSError,  # sockets, files
    TimeoutError,
)


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0][:300] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def backoff(failures: int, base: float = 0.5, cap: float = 10.0) -> float:
    """Seconds to wait after ``failures`` consecutive faults (0 after none)."""
    return 0.0 if failures <= 0 else min(cap, base * 2 ** (failures - 1))


async def retrying(
    task: str, fn: Callable[[], Awaitable[None]], emit: Emit, cap: float = 10.0
) -> None:
    """Run ``fn`` until it returns, retrying after every transient fault with back-off
    (for a child task, so that a fault in it never reaches its nursery)."""
    failures = 0
    while True:
        try:
            await fn()
            return
        except* TRANSIENT as group:
            failures += 1
            wait = backoff(failures, cap=cap)
            for exc in group.exceptions:
                emit(Fault(task=task, error=describe(exc), retry_s=wait))
        await trio.sleep(wait)
