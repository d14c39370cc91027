"""A network peer as the layers above see it: the running host, the announcement board
and the blob service, opened and closed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement
from p2pfl.net.blob import BlobService, BlobStore, DigestFn
from p2pfl.net.config import NetConfig
from p2pfl.net.gossip import AnnouncementBoard, EpochWindow, OperatorCheck, any_signer
from p2pfl.net.host import Network, open_network


@dataclass
class Peer:
    net: Network
    board: AnnouncementBoard
    blobs: BlobService

    async def join(self, epoch: int) -> None:
        await self.board.join(epoch, self.net.nursery)

    async def fetch(self, ann: Announcement, extra: tuple[ID, ...] = ()) -> bytes:
        """The blob an announcement names, from its peer or any other that announced the
        same digest for the same epoch and kind."""
        same = [
            ID.from_base58(a.peer)
            for a in self.board.get(ann.kind, ann.epoch).values()
            if a.digest == ann.digest
        ]
        providers = [ID.from_base58(ann.peer), *[p for p in same if str(p) != ann.peer], *extra]
        return await self.blobs.fetch(ann.digest_bytes, providers, size=ann.size)


@asynccontextmanager
async def open_peer(
    cfg: NetConfig,
    pair: KeyPair,
    *,
    chain_id: int,
    avs: str,
    window: EpochWindow,
    is_operator: OperatorCheck = any_signer,
    digest_fn: DigestFn = keccak256,
    blob_dir: Path | None = None,
) -> AsyncIterator[Peer]:
    async with open_network(cfg, pair) as net:
        board = AnnouncementBoard(
            net.pubsub,
            chain_id,
            avs,
            window,
            is_operator,
            max_bytes=cfg.gossip.max_announcement_bytes,
        )
        blobs = BlobService(
            net.host,
            BlobStore(blob_dir),
            cfg.blob,
            digest_fn=digest_fn,
            connect=net.discovery.connect,
        )
        yield Peer(net, board, blobs)
        with trio.CancelScope(shield=True):
            await board.leave_all()
