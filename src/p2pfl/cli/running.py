"""Running an async command: trio, Ctrl-C and SIGTERM as a clean stop, errors as one line."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from p2pfl.cli.errors import user_error
from p2pfl.events import Emit, Stopped, Stopping


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # py-libp2p logs every dropped DHT stream and failed dial as a warning; they are
    # routine on a churning network. Shown with --verbose only.
    logging.getLogger("libp2p").setLevel(logging.INFO if verbose else logging.CRITICAL)


def run_trio(emit: Emit, main: Callable[[], Awaitable[Any]]) -> None:
    """Run ``main`` under trio until it returns or Ctrl-C / SIGTERM; errors become one line."""

    async def guarded() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stop_on_signal, nursery.cancel_scope, emit)
            await main()
            nursery.cancel_scope.cancel()

    try:
        trio.run(guarded)
    except BaseExceptionGroup as group:
        raise user_error(group) from None
    emit(Stopped())


async def stop_on_signal(scope: trio.CancelScope, emit: Emit) -> None:
    """Ctrl-C or SIGTERM: cancel everything; the network layer closes its connections,
    streams and threads on the way out."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            emit(Stopping(signal=signal.Signals(signum).name))
            scope.cancel()
            return
