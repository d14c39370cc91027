"""Announcements and blobs among 2 to 6 real hosts on loopback."""

from __future__ import annotations

import os

import pytest
import trio

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
