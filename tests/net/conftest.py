"""Real py-libp2p hosts on loopback, opened in-process under one trio nursery."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement
from p2pfl.net.blob import DigestFn
from p2pfl.net.gossip import OperatorCheck, any_signer
from p2pfl.net.peer import Peer, open_local_peers
from p2pfl.net.topics import Kind

CHAIN_ID = 31337
AVS = "0x" + "ab" * 20
EPOCH = 7
LOOPBACK = "/ip4/127.0.0.1/tcp/0"


@asynccontextmanager
async def open_peers(
    n: int,
    *,
    epoch: int = EPOCH,
    window: Callable[[], tuple[int, int]] | None = None,
    is_operator: OperatorCheck = any_signer,
    digest_fn: DigestFn = keccak256,
    **net: object,
) -> AsyncIterator[list[Peer]]:
    """``n`` peers of the test network; the first is everyone's only bootstrap."""
    async with open_local_peers(
        n,
        chain_id=CHAIN_ID,
        avs=AVS,
        epoch=epoch,
        window=window,
        is_operator=is_operator,
        digest_fn=digest_fn,
        timeout=20,
        **net,
    ) as peers:
        yield peers


def announce_for(
    peer: Peer,
    key: bytes,
    digest: bytes,
    size: int,
    *,
    epoch: int = EPOCH,
    kind: Kind = "updates",
) -> Announcement:
    return peer.sign(key, kind, epoch, digest, size)


def random_blob(size: int) -> tuple[bytes, bytes]:
    data = os.urandom(size)
    return data, keccak256(data)
