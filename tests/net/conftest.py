"""Real py-libp2p hosts on loopback, opened in-process under one trio nursery, and the
helpers of the hostile-gossip tests (announcements and attestations alike)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

import trio

from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement
from p2pfl.net.blob import DigestFn
from p2pfl.net.board import Signed, SignedBoard
from p2pfl.net.gossip import OperatorCheck, any_signer
from p2pfl.net.peer import Peer, open_local_peers
from p2pfl.net.topics import Kind, TopicKind, topic

CHAIN_ID = 31337
AVS = "0x" + "ab" * 20
EPOCH = 7
LOOPBACK = "/ip4/127.0.0.1/tcp/0"

M = TypeVar("M", bound=Signed)


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


# -- hostile gossip -------------------------------------------------------------------


async def raw_publish(peer: Peer, data: bytes, kind: TopicKind, epoch: int = EPOCH) -> None:
    """Publish on ``kind``'s topic without the sender's own checks (as a modified client
    would)."""
    name = topic(CHAIN_ID, AVS, epoch, kind)
    peer.net.pubsub.remove_topic_validator(name)
    await peer.net.pubsub.publish(name, data)


async def wait_rejected(victim: SignedBoard[M], reason: str, count: int = 1) -> None:
    """Wait until the victim's validator has rejected ``count`` messages for ``reason``."""
    with trio.fail_after(10):
        while victim.rejected[reason] < count:
            await trio.sleep(0.02)


async def still_accepts(victim: SignedBoard[M], honest: SignedBoard[M], msg: M) -> M:
    """An honest message, published after an attack, still reaches the victim: its copy,
    equal to ``msg``."""
    await honest.publish(msg)
    with trio.fail_after(10):
        got = await victim.wait_until(
            victim.rules.kind(msg), msg.epoch, lambda operators: msg.operator in operators
        )
    assert got[msg.operator] == msg
    return got[msg.operator]


async def meshed(peers: Sequence[Peer], kind: TopicKind, epoch: int = EPOCH) -> None:
    """Wait until every peer has every other one in its mesh of ``kind``'s topic."""
    name = topic(CHAIN_ID, AVS, epoch, kind)
    with trio.fail_after(10):
        for p in peers:
            while len(p.net.pubsub.router.mesh.get(name, ())) < len(peers) - 1:
                await trio.sleep(0.05)
