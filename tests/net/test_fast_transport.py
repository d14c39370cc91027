"""The fast Noise and Yamux subclasses (``p2pfl.net.fastnoise``, ``p2pfl.net.fastyamux``):
real hosts on 127.0.0.1, against each other and against py-libp2p's stock classes."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import multiaddr
import pytest
import trio
from libp2p.abc import IHost, INetStream
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_pair
from libp2p.custom_types import TProtocol
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.network.stream.exceptions import StreamReset
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux.yamux import Yamux

from p2pfl.hashing import keccak256
from p2pfl.net.blob import BlobService, BlobStore
from p2pfl.net.config import BlobConfig
from p2pfl.net.errors import NetError
from p2pfl.net.fastnoise import MAX_PLAINTEXT, FastNoiseTransport, FastSecureSession
from p2pfl.net.fastyamux import MAX_FRAME_PAYLOAD, RECV_WINDOW, FastYamux, FastYamuxStream
from p2pfl.net.host import build_host
from p2pfl.net.stream import SerialWriter, read_exactly

SINK = TProtocol("/p2pfl-test/fast/1")
LOOPBACK = "/ip4/127.0.0.1/tcp/0"
KINDS = [(True, True), (True, False), (False, True)]
IDS = ["fast-fast", "fast-stock", "stock-fast"]


@asynccontextmanager
async def two_hosts(fast_a: bool, fast_b: bool) -> AsyncIterator[tuple[IHost, IHost]]:
    """Host a (listening) and host b, connected; b dialed a."""
    a = build_host(create_new_key_pair(), fast=fast_a)
    b = build_host(create_new_key_pair(), fast=fast_b)
    async with a.run([multiaddr.Multiaddr(LOOPBACK)]), b.run([multiaddr.Multiaddr(LOOPBACK)]):
        try:
            await b.connect(info_from_p2p_addr(a.get_addrs()[0]))
            yield a, b
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await b.close()
                await a.close()


def _muxer(host: IHost, peer: ID) -> object:
    conns = host.get_network().get_connections(peer)
    assert conns
    return conns[0].muxed_conn


@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_hosts_negotiate_the_requested_classes(fast_a: bool, fast_b: bool) -> None:
    async with two_hosts(fast_a, fast_b) as (a, b):
        for host, other, fast in ((a, b, fast_a), (b, a, fast_b)):
            muxer = _muxer(host, other.get_id())
            assert isinstance(muxer, FastYamux) is fast
            assert isinstance(muxer, Yamux)
            secured = muxer.secured_conn
            assert isinstance(secured, FastSecureSession) is fast


# -- Noise messages at the size limits --------------------------------------------------
@asynccontextmanager
async def noise_pair(fast_writer: bool) -> AsyncIterator[tuple[SecureSession, SecureSession]]:
    """(writer, reader) Noise sessions over a real loopback TCP connection: the writer
    fast or stock, the reader the other kind."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    port = listeners[0].socket.getsockname()[1]
    client = await trio.open_tcp_stream("127.0.0.1", port)
    server = await listeners[0].accept()
    kp_a, kp_b = create_new_key_pair(), create_new_key_pair()
    fast_t = FastNoiseTransport(kp_a, noise_privkey=new_x25519_pair().private_key)
    stock_t = NoiseTransport(kp_b, noise_privkey=new_x25519_pair().private_key)
    out_t, in_t = (fast_t, stock_t) if fast_writer else (stock_t, fast_t)
    in_id = ID.from_pubkey((kp_b if fast_writer else kp_a).public_key)
    sessions: dict[str, object] = {}

    async def outbound() -> None:
        raw = RawConnection(TrioTCPStream(client), True)
        sessions["out"] = await out_t.secure_outbound(raw, in_id)

    async def inbound() -> None:
        sessions["in"] = await in_t.secure_inbound(RawConnection(TrioTCPStream(server), False))

    try:
        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(outbound)
                nursery.start_soon(inbound)
        writer, reader = sessions["out"], sessions["in"]
        assert isinstance(writer, SecureSession)
        assert isinstance(reader, SecureSession)
        assert isinstance(writer, FastSecureSession) is fast_writer
        assert isinstance(reader, FastSecureSession) is not fast_writer
        yield writer, reader
    finally:
        await client.aclose()
        await server.aclose()
        await listeners[0].aclose()


SIZES = [MAX_PLAINTEXT, MAX_PLAINTEXT + 1, 0, 1, 3 * MAX_PLAINTEXT + 7]


@pytest.mark.trio
async def test_fast_noise_messages_at_the_limits_read_by_stock_noise() -> None:
    with trio.fail_after(20):
        await _fast_to_stock()


async def _fast_to_stock() -> None:
    async with noise_pair(fast_writer=True) as (writer, reader):
        assert isinstance(writer, FastSecureSession)
        for size in SIZES:
            data = os.urandom(size)
            async with trio.open_nursery() as nursery:  # the socket holds less than a write
                nursery.start_soon(writer.write, data)
                # The stock reader sees Noise messages: one per 65,519 bytes (one empty
                # one for an empty write).
                count = max(1, -(-size // MAX_PLAINTEXT))
                msgs = [await reader.conn.read_msg() for _ in range(count)]
            assert [len(m) for m in msgs[:-1]] == [MAX_PLAINTEXT] * (len(msgs) - 1)
            assert b"".join(msgs) == data
        # A batch: each frame one message, a frame over the limit refused before sending.
        frames = [os.urandom(MAX_PLAINTEXT), b"", os.urandom(1)]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.write_frames, frames)
            assert [await reader.conn.read_msg() for _ in frames] == frames
        with pytest.raises(ValueError, match="does not fit"):
            await writer.write_frames([b"x", os.urandom(MAX_PLAINTEXT + 1)])
        await writer.write(b"still in step")
        assert await reader.conn.read_msg() == b"still in step"


@pytest.mark.trio
async def test_stock_noise_messages_at_the_limits_read_by_fast_noise() -> None:
    with trio.fail_after(20):
        await _stock_to_fast()


async def _stock_to_fast() -> None:
    async with noise_pair(fast_writer=False) as (writer, reader):
        assert isinstance(reader, FastSecureSession)
        for size in SIZES:
            data = os.urandom(size)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer.write, data)
                if size:
                    assert await reader.read_exact(size) == data
        await writer.write(b"end")
        assert await reader.read(100) == b"end"


# -- Yamux frames at the size limits ---------------------------------------------------
FRAME_SIZES = [
    0,
    1,
    MAX_FRAME_PAYLOAD,  # header + payload = exactly one Noise message
    MAX_FRAME_PAYLOAD + 1,
    MAX_PLAINTEXT,
    MAX_PLAINTEXT + 1,
    65_536,
    3 * MAX_FRAME_PAYLOAD + 5,
]


@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_writes_at_frame_limits_arrive_whole(fast_a: bool, fast_b: bool) -> None:
    blobs = [os.urandom(n) for n in FRAME_SIZES]
    total = sum(FRAME_SIZES)
    got: list[bytes] = []

    async def sink(stream: INetStream) -> None:
        got.append(await read_exactly(stream, total, idle_timeout=10))
        await stream.write(b"k")
        await stream.close()

    async with two_hosts(fast_a, fast_b) as (a, b):
        a.set_stream_handler(SINK, sink)
        with trio.fail_after(20):
            stream = await b.new_stream(a.get_id(), [SINK])
            for blob in blobs:
                await stream.write(blob)
            assert await read_exactly(stream, 1, idle_timeout=10) == b"k"
    assert got == [b"".join(blobs)]


# -- window updates under back-pressure ------------------------------------------------
@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_slow_reader_blocks_the_writer_without_loss(
    fast_a: bool, fast_b: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """a writes 2.5x the fast receive window to b, which does not read for 1 s and then
    reads in small pieces: the writer blocks, nothing is lost, no window is exceeded."""
    size = RECV_WINDOW * 5 // 2
    data = os.urandom(size)
    done = trio.Event()
    sender: list[object] = []

    async def source(stream: INetStream) -> None:
        sender.append(stream.muxed_stream)  # type: ignore[attr-defined]
        await stream.write(data)
        done.set()
        await stream.close()

    caplog.set_level(logging.WARNING)
    async with two_hosts(fast_a, fast_b) as (a, b):
        a.set_stream_handler(SINK, source)
        with trio.fail_after(30):
            stream = await b.new_stream(a.get_id(), [SINK])
            await stream.write(b"go")
            await trio.sleep(1.0)
            assert not done.is_set()  # blocked on the window: b has read nothing
            window = getattr(sender[0], "send_window", None)
            assert window == 0
            buf = bytearray()
            while len(buf) < size:
                buf += await stream.read(min(100_000, size - len(buf)))
                await trio.sleep(0)
            await done.wait()
        for host, other in ((a, b), (b, a)):
            muxer = _muxer(host, other.get_id())
            if isinstance(muxer, FastYamux):
                assert muxer.window_violations == 0
    assert hashlib.sha256(buf).digest() == hashlib.sha256(data).digest()
    assert "exceeded" not in caplog.text  # stock py-libp2p's window-violation warning


# -- a reset in the middle of a transfer -----------------------------------------------
@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_reader_reset_mid_transfer_stops_writer_and_keeps_connection(
    fast_a: bool, fast_b: bool
) -> None:
    outcome: list[str] = []

    async def source(stream: INetStream) -> None:
        try:
            await stream.write(os.urandom(20_000_000))
            outcome.append("finished")
        except Exception as exc:
            outcome.append(type(exc).__name__)

    async with two_hosts(fast_a, fast_b) as (a, b):
        a.set_stream_handler(SINK, source)
        with trio.fail_after(20):
            stream = await b.new_stream(a.get_id(), [SINK])
            await read_exactly(stream, 1_000_000, idle_timeout=10)
            await stream.reset()
            while not outcome:
                await trio.sleep(0.05)
        assert outcome != ["finished"]
        # The connection still carries streams.
        await _fetch_roundtrip(a, b, 300_000)


@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_writer_reset_mid_transfer_fails_the_reader(fast_a: bool, fast_b: bool) -> None:
    async def source(stream: INetStream) -> None:
        await stream.write(os.urandom(700_000))
        await stream.reset()

    async with two_hosts(fast_a, fast_b) as (a, b):
        a.set_stream_handler(SINK, source)
        with trio.fail_after(20):
            stream = await b.new_stream(a.get_id(), [SINK])
            with pytest.raises((NetError, StreamReset)):
                await read_exactly(stream, 5_000_000, idle_timeout=5)
            await _fetch_roundtrip(a, b, 300_000)


async def _fetch_roundtrip(a: IHost, b: IHost, size: int) -> None:
    data = os.urandom(size)
    digest = keccak256(data)
    store = BlobStore()
    store.put(digest, data)
    BlobService(a, store, BlobConfig())
    fetcher = BlobService(b, BlobStore(), BlobConfig())
    assert await fetcher.fetch(digest, [a.get_id()], size=size) == data


# -- interleaved concurrent streams ----------------------------------------------------
@pytest.mark.trio
@pytest.mark.parametrize(("fast_a", "fast_b"), KINDS, ids=IDS)
async def test_concurrent_blob_fetches_both_ways(fast_a: bool, fast_b: bool) -> None:
    """Eight blobs each way fetched at once over one connection, each digest checked."""
    async with two_hosts(fast_a, fast_b) as (a, b):
        services: dict[IHost, BlobService] = {}
        wanted: dict[IHost, list[tuple[bytes, bytes]]] = {}
        for host in (a, b):
            store = BlobStore()
            wanted[host] = []
            for i in range(8):
                data = os.urandom(200_000 + i * 150_001)
                store.put(keccak256(data), data)
                wanted[host].append((keccak256(data), data))
            services[host] = BlobService(
                host, store, BlobConfig(fetch_per_peer=8, serve_per_peer=8)
            )
        results: list[bool] = []

        async def fetch(me: IHost, them: IHost, digest: bytes, data: bytes) -> None:
            got = await services[me].fetch(digest, [them.get_id()], size=len(data))
            results.append(got == data)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for me, them in ((a, b), (b, a)):
                    for digest, data in wanted[them]:
                        nursery.start_soon(fetch, me, them, digest, data)
    assert results == [True] * 16


# -- the #793 write race ----------------------------------------------------------------
@pytest.mark.trio
@pytest.mark.parametrize("serial", [True, False], ids=["SerialWriter", "stream.write"])
async def test_concurrent_large_writes_do_not_interleave_on_fast_yamux(serial: bool) -> None:
    """With SerialWriter (the guard) and, on the fast stream, with bare ``write`` calls:
    a whole write holds the stream until it is sent."""
    block = 1_000_000
    received: list[bytes] = []

    async def sink(stream: INetStream) -> None:
        received.append(await read_exactly(stream, 3 * block, idle_timeout=10))

    async with two_hosts(True, True) as (a, b):
        a.set_stream_handler(SINK, sink)
        stream = await b.new_stream(a.get_id(), [SINK])
        assert isinstance(stream.muxed_stream, FastYamuxStream)  # type: ignore[attr-defined]
        write = SerialWriter(stream, chunk=256 * 1024).write if serial else stream.write
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for letter in b"ABC":
                    nursery.start_soon(write, bytes([letter]) * block)
            while not received:
                await trio.sleep(0.05)
    data = received[0]
    parts = sorted(data[i * block : (i + 1) * block] for i in range(3))
    assert parts == [bytes([x]) * block for x in b"ABC"]


@pytest.mark.trio
async def test_large_transfers_both_ways_at_once_while_streams_open() -> None:
    """Both peers send several MB to each other at once (more than the socket buffers
    hold) while new streams are opened: the incoming loops must keep reading (their
    ACKs go out from their own task), or both directions stop with full buffers."""
    size = 12_000_000
    async with two_hosts(True, True) as (a, b):
        services: dict[IHost, BlobService] = {}
        wanted: dict[IHost, list[tuple[bytes, bytes]]] = {}
        for host in (a, b):
            store = BlobStore()
            wanted[host] = []
            for _ in range(2):
                data = os.urandom(size)
                store.put(keccak256(data), data)
                wanted[host].append((keccak256(data), data))
            cfg = BlobConfig(fetch_per_peer=8, serve_per_peer=8)
            services[host] = BlobService(host, store, cfg)
        results: list[bool] = []

        async def fetch(me: IHost, them: IHost, digest: bytes, data: bytes) -> None:
            got = await services[me].fetch(digest, [them.get_id()], size=len(data), rounds=1)
            results.append(got == data)

        async def echo(stream: INetStream) -> None:
            await stream.write(await read_exactly(stream, 1000, idle_timeout=10))
            await stream.close()

        async def small(me: IHost, them: IHost) -> None:
            for _ in range(20):
                stream = await me.new_stream(them.get_id(), [SINK])
                ping = os.urandom(1000)
                await stream.write(ping)
                assert await read_exactly(stream, 1000, idle_timeout=10) == ping
                await stream.close()
                results.append(True)

        a.set_stream_handler(SINK, echo)
        b.set_stream_handler(SINK, echo)

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for me, them in ((a, b), (b, a)):
                    for digest, data in wanted[them]:
                        nursery.start_soon(fetch, me, them, digest, data)
                    nursery.start_soon(small, me, them)
    assert results == [True] * 44
