"""Whole writes on one Yamux stream, and a shutdown that leaves nothing behind."""

from __future__ import annotations

import threading

import psutil
import pytest
import trio
from libp2p.abc import INetStream
from libp2p.custom_types import TProtocol

from p2pfl.net.stream import SerialWriter, read_exactly
from tests.net.conftest import open_peers

ECHO = TProtocol("/p2pfl-test/sink/1")
BLOCK = 1_000_000


@pytest.mark.trio
async def test_concurrent_large_writes_on_one_stream_do_not_interleave() -> None:
    received: list[bytes] = []

    async def sink(stream: INetStream) -> None:
        received.append(await read_exactly(stream, 2 * BLOCK, idle_timeout=10))

    async with open_peers(2) as (reader, writer):
        reader.net.host.set_stream_handler(ECHO, sink)
        stream = await writer.net.host.new_stream(reader.net.peer_id, [ECHO])
        serial = SerialWriter(stream, chunk=64 * 1024)  # many frames per write
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(serial.write, b"A" * BLOCK)
                nursery.start_soon(serial.write, b"B" * BLOCK)
            while not received:
                await trio.sleep(0.05)
    data = received[0]
    assert sorted([data[:BLOCK], data[BLOCK:]]) == [b"A" * BLOCK, b"B" * BLOCK]


def _tcp_fds() -> int:
    return sum(1 for c in psutil.Process().net_connections("tcp") if c.status != "NONE")


@pytest.mark.trio
async def test_closing_peers_leaves_no_sockets_or_threads() -> None:
    threads_before = set(threading.enumerate())
    sockets_before = _tcp_fds()
    async with open_peers(3) as peers:
        assert _tcp_fds() > sockets_before
        assert len(set(threading.enumerate()) - threads_before) >= len(peers)
    with trio.fail_after(5):
        while _tcp_fds() > sockets_before:
            await trio.sleep(0.05)
    leftover = [t for t in set(threading.enumerate()) - threads_before if t.is_alive()]
    assert leftover == []
