"""Real py-libp2p hosts on loopback, opened in-process under one trio nursery."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import trio
from libp2p.crypto.ed25519 import create_new_key_pair

from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement, sign_announcement
from p2pfl.net.blob import DigestFn
from p2pfl.net.config import NetConfig
from p2pfl.net.gossip import OperatorCheck, any_signer
from p2pfl.net.peer import Peer, open_peer
from p2pfl.net.topics import Kind, topic

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
    """``n`` peers; the first is everyone's only bootstrap. Returns once every peer has
    found every other one (through the DHT) and joined ``epoch``."""
    window = window or (lambda: (epoch, epoch))
    async with AsyncExitStack() as stack:
        peers: list[Peer] = []
        for i in range(n):
            boot = (peers[0].net.addrs()[0],) if i else ()
            cfg = NetConfig.build(listen=LOOPBACK, bootstrap=boot, **net)
            peer = await stack.enter_async_context(
                open_peer(
                    cfg,
                    create_new_key_pair(),
                    chain_id=CHAIN_ID,
                    avs=AVS,
                    window=window,
                    is_operator=is_operator,
                    digest_fn=digest_fn,
                )
            )
            await peer.join(epoch)
            peers.append(peer)
        name = topic(CHAIN_ID, AVS, epoch, "updates")
        with trio.fail_after(20):
            for peer in peers:
                while len(peer.net.connected_peers()) < n - 1:
                    await trio.sleep(0.05)
            # The mesh forms on the first heartbeats (1 s) after subscriptions are known.
            for peer in peers:
                while len(peer.net.pubsub.router.mesh.get(name, ())) < min(n - 1, 4):
                    await trio.sleep(0.05)
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
    return sign_announcement(
        key,
        kind=kind,
        chain_id=CHAIN_ID,
        avs=AVS,
        epoch=epoch,
        digest=digest,
        size=size,
        peer=peer.net.peer_id.to_base58(),
    )


def random_blob(size: int) -> tuple[bytes, bytes]:
    data = os.urandom(size)
    return data, keccak256(data)
