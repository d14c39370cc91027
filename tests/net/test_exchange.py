"""Announcements and blobs among 2 to 6 real hosts on loopback."""

from __future__ import annotations

import os
import socket

import pytest
import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID

from p2pfl.net.config import NetConfig
from p2pfl.net.host import open_network
from p2pfl.net.peer import Peer
from p2pfl.net.topics import topic
from tests.net.conftest import EPOCH, announce_for, open_peers, random_blob


@pytest.mark.trio
@pytest.mark.parametrize(("n", "size"), [(2, 200_000), (6, 200_000), (2, 5_000_000)])
async def test_every_peer_gets_every_announcement_and_blob(n: int, size: int) -> None:
    async with open_peers(n) as peers:
        blobs = {}
        for peer in peers:
            data, digest = random_blob(size)
            blobs[digest] = data
            peer.blobs.store.put(digest, data)
            await peer.board.publish(announce_for(peer, os.urandom(32), digest, size))

        async def collect(peer: object) -> None:
            anns = await peer.board.wait_for("updates", EPOCH, n)  # type: ignore[attr-defined]
            got = {}
            async with trio.open_nursery() as nursery:
                for ann in anns.values():

                    async def one(a: object = ann) -> None:
                        got[a.digest_bytes] = await peer.fetch(a)  # type: ignore[attr-defined]

                    nursery.start_soon(one)
            assert got == blobs

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(collect, peer)
        for peer in peers:
            assert not peer.board.rejected
            assert peer.blobs.stats["fetched"] == n - 1  # its own blob comes from its store


@pytest.mark.trio
async def test_node_that_knows_only_the_bootstrap_reaches_a_late_joiner() -> None:
    """Peers 1..3 dialed only peer 0; discovery connects them to each other, so an
    announcement of peer 3 reaches peer 1 and peer 1 fetches directly from peer 3."""
    async with open_peers(4) as peers:
        data, digest = random_blob(50_000)
        peers[3].blobs.store.put(digest, data)
        await peers[3].board.publish(announce_for(peers[3], os.urandom(32), digest, len(data)))
        with trio.fail_after(10):
            anns = await peers[1].board.wait_for("updates", EPOCH, 1)
            assert await peers[1].fetch(next(iter(anns.values()))) == data
        assert peers[3].net.peer_id in peers[1].net.connected_peers()


@pytest.mark.trio
async def test_a_dropped_bootstrap_connection_is_dialed_again() -> None:
    """The connection to the bootstrap is closed under the peer (as a crash or a
    connection lost under load would); the peer dials it again, rejoins the mesh and
    gets the next announcement and its blob."""
    async with open_peers(2) as peers:
        await peers[0].net.host.disconnect(peers[1].net.peer_id)
        with trio.fail_after(15):
            while peers[0].net.peer_id not in peers[1].net.connected_peers():
                await trio.sleep(0.05)
            data, digest = random_blob(100_000)
            peers[0].blobs.store.put(digest, data)
            while not peers[0].net.pubsub.router.mesh.get(_topic(peers[0]), ()):
                await trio.sleep(0.05)
            await peers[0].board.publish(announce_for(peers[0], os.urandom(32), digest, len(data)))
            anns = await peers[1].board.wait_for("updates", EPOCH, 1)
            assert await peers[1].fetch(next(iter(anns.values()))) == data


def _topic(peer: Peer) -> str:
    return topic(peer.board.chain_id, peer.board.avs, EPOCH, "updates")


@pytest.mark.trio
async def test_a_bootstrap_that_comes_back_is_reached_at_once() -> None:
    """A node dials its bootstrap while the bootstrap is down (every dial fails, so
    py-libp2p's swarm puts it in its 60-second negative cache); when the bootstrap comes
    back on its address, the node connects within its own backoff (at most 5 s)."""
    boot_key = create_new_key_pair()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    boot_id = ID.from_pubkey(boot_key.public_key)
    addr = f"/ip4/127.0.0.1/tcp/{port}/p2p/{boot_id.to_base58()}"
    node_cfg = NetConfig.build(listen="/ip4/127.0.0.1/tcp/0", bootstrap=(addr,))
    async with open_network(node_cfg, create_new_key_pair()) as node:
        swarm = node.host.get_network()
        with trio.fail_after(10):  # the dials fail until the swarm blocks the bootstrap
            while not swarm._negative_peer_cache.is_blocked(str(boot_id)):  # type: ignore[attr-defined]
                await trio.sleep(0.05)
        boot_cfg = NetConfig.build(listen=f"/ip4/127.0.0.1/tcp/{port}")
        async with open_network(boot_cfg, boot_key):
            with trio.fail_after(8):
                while boot_id not in node.connected_peers():
                    await trio.sleep(0.05)
