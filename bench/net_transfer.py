"""Blob and raw TCP transfers between two processes (the server and the client of
``bench.net``'s throughput figures). Each role is a process of its own:

    python -m bench.net_transfer serve-blob SIZE...   # prints {"addr", "digests"}
    python -m bench.net_transfer fetch-blob ADDR DIGEST SIZE REPEATS
    python -m bench.net_transfer serve-tcp SIZE       # prints {"port"}
    python -m bench.net_transfer fetch-tcp PORT SIZE REPEATS

A server prints one JSON line and serves until its stdin closes; a client prints one
JSON line of timings. ``$P2PFL_NET_TRANSPORT=stock`` gives py-libp2p's own Noise and
Yamux (see ``p2pfl.net.host.build_host``).

The blob fetch is ``BlobService.fetch`` over ``/p2pfl/blob/1`` on an established
connection (a new stream each time), timed without the digest check; the keccak256 of
the received bytes is timed separately and must match.
"""

from __future__ import annotations

import json
import os
import sys
import time
from functools import partial

import multiaddr
import trio
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.peer.peerinfo import info_from_p2p_addr

from p2pfl.hashing import keccak256
from p2pfl.net.blob import BlobService, BlobStore
from p2pfl.net.config import BlobConfig
from p2pfl.net.host import build_host

CHUNK = 256 * 1024
LOOPBACK = "/ip4/127.0.0.1/tcp/0"


def _blob_config() -> BlobConfig:
    return BlobConfig(max_bytes=128 * 2**20)


async def _until_stdin_closes() -> None:
    stdin = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    while await stdin.receive_some(4096):
        pass
    await stdin.aclose()


async def serve_blob(sizes: list[int]) -> None:
    host = build_host(create_new_key_pair())
    store = BlobStore()
    digests = {}
    for size in sizes:
        data = os.urandom(size)
        digest = keccak256(data)
        store.put(digest, data)
        digests[str(size)] = digest.hex()
    BlobService(host, store, _blob_config())
    async with host.run([multiaddr.Multiaddr(LOOPBACK)]):
        print(json.dumps({"addr": str(host.get_addrs()[0]), "digests": digests}), flush=True)
        await _until_stdin_closes()
        await host.close()


async def fetch_blob(addr: str, digest_hex: str, size: int, repeats: int) -> None:
    digest = bytes.fromhex(digest_hex)
    host = build_host(create_new_key_pair())
    # The transfer is timed without the digest check (timed separately below).
    service = BlobService(host, BlobStore(), _blob_config(), digest_fn=lambda _: digest)
    info = info_from_p2p_addr(multiaddr.Multiaddr(addr))
    times, hashing = [], []
    async with host.run([multiaddr.Multiaddr(LOOPBACK)]):
        await host.connect(info)
        for _ in range(repeats):
            service.store = BlobStore()  # fetch again, not from the store
            started = time.perf_counter()
            data = await service.fetch(digest, [info.peer_id], size=size, rounds=1)
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            ok = keccak256(data) == digest
            hashing.append(time.perf_counter() - started)
            if not ok or len(data) != size:
                raise SystemExit("digest mismatch")
        await host.close()
    print(json.dumps({"seconds": times, "hash_seconds": hashing}), flush=True)


async def serve_tcp(size: int) -> None:
    data = os.urandom(size)

    async def handler(stream: trio.SocketStream) -> None:
        view = memoryview(data)
        for start in range(0, size, CHUNK):
            await stream.send_all(view[start : start + CHUNK])
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handler, 0, host="127.0.0.1"))
        print(json.dumps({"port": listeners[0].socket.getsockname()[1]}), flush=True)
        await _until_stdin_closes()
        nursery.cancel_scope.cancel()


async def fetch_tcp(port: int, size: int, repeats: int) -> None:
    times = []
    for _ in range(repeats):
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        started = time.perf_counter()
        parts, got = [], 0
        while got < size:
            part = await stream.receive_some(1 << 20)
            if not part:
                raise SystemExit(f"tcp ended after {got} bytes")
            parts.append(part)
            got += len(part)
        b"".join(parts)
        times.append(time.perf_counter() - started)
        await stream.aclose()
    print(json.dumps({"seconds": times}), flush=True)


def main(argv: list[str]) -> None:
    role, args = argv[0], argv[1:]
    if role == "serve-blob":
        trio.run(serve_blob, [int(a) for a in args])
    elif role == "fetch-blob":
        trio.run(fetch_blob, args[0], args[1], int(args[2]), int(args[3]))
    elif role == "serve-tcp":
        trio.run(serve_tcp, int(args[0]))
    elif role == "fetch-tcp":
        trio.run(fetch_tcp, int(args[0]), int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown role {role}")


if __name__ == "__main__":
    main(sys.argv[1:])
