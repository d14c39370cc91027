"""An RPC endpoint that never answers (cut off by a partition, a hung provider) costs a
read its tries (``RPC_ATTEMPTS``) of ``--rpc-timeout`` each, then a clear failure the
caller can retry; never web3's default of 5 tries of the old 60 s (5 minutes)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from p2pfl.chain.client import Chain
from p2pfl.chain.rpc import RPC_ATTEMPTS, RPC_TIMEOUT_S
from p2pfl.errors import ConfigError
from p2pfl.runtime import connect_chain


@dataclass
class Silent:
    """An HTTP endpoint that accepts every connection and never answers."""

    url: str
    held: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.05)
    endpoint = Silent(f"http://127.0.0.1:{server.getsockname()[1]}")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                endpoint.held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join()
        for conn in endpoint.held:
            conn.close()
        server.close()


def test_a_silent_endpoint_fails_after_its_tries_of_the_timeout(silent: Silent) -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"cannot reach the chain at .*: ReadTimeout"):
        connect_chain(silent.url, "0x" + "11" * 20, timeout_s=0.5)
    took = time.monotonic() - started
    assert len(silent.held) == RPC_ATTEMPTS  # tried this often (web3's default is 5)
    assert took >= RPC_ATTEMPTS * 0.5  # each try waited the timeout given, not the default


def test_the_default_timeout_reaches_the_provider(silent: Silent) -> None:
    assert 5.0 <= RPC_TIMEOUT_S <= 30.0  # a read blind for at most ~45 s
    chain_timeout = Chain.__init__.__defaults__
    assert chain_timeout == (RPC_TIMEOUT_S,)
    with pytest.raises(Exception, match="timed out"):
        Chain(silent.url, timeout=0.2)
    assert len(silent.held) == RPC_ATTEMPTS
