"""A network peer as the layers above see it: the running host, the announcement board,
the blob service, the attestation board and its sync, opened and closed together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.crypto.keys import KeyPair
from libp2p.peer.id import ID

from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement, sign_announcement
from p2pfl.net.attestations import AttestationBoard
from p2pfl.net.attestsync import AttestationSync
from p2pfl.net.blob import BlobService, BlobStore, DigestFn
from p2pfl.net.config import NetConfig
from p2pfl.net.gossip import AnnouncementBoard, EpochWindow, OperatorCheck, any_signer
from p2pfl.net.host import Network, open_network
from p2pfl.net.topics import Kind, topic


@dataclass
class Peer:
    net: Network
    board: AnnouncementBoard
    blobs: BlobService
    attestations: AttestationBoard
    attestation_sync: AttestationSync

    async def join(self, epoch: int) -> None:
        await self.board.join(epoch, self.net.nursery)
        await self.attestations.join(epoch, self.net.nursery)

    async def sync_attestations(self, epoch: int, operators: frozenset[str]) -> int:
        """Ask connected peers for ``epoch``'s attestations until one of each of
        ``operators`` is held (a few peers at most); how many new ones were admitted."""
        board = self.attestations
        return await self.attestation_sync.sync(
            epoch,
            self.net.connected_peers(),
            enough=lambda: operators <= board.get(epoch).keys(),
        )

    async def leave(self, epoch: int) -> None:
        """Leave ``epoch``'s topics and forget what they carried."""
        await self.board.leave(epoch)
        await self.attestations.leave(epoch)

    def sign(
        self, key: bytes | str, kind: Kind, epoch: int, digest: bytes, size: int
    ) -> Announcement:
        """An announcement, signed by the operator that owns ``key``, of a blob this peer
        serves, for the network (chain and AVS) this peer's board belongs to."""
        return sign_announcement(
            key,
            kind=kind,
            chain_id=self.board.chain_id,
            avs=self.board.avs,
            epoch=epoch,
            digest=digest,
            size=size,
            peer=self.net.peer_id.to_base58(),
        )

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
    held: frozenset[bytes] = frozenset(),
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
            held=held,
        )
        attestations = AttestationBoard(
            net.pubsub,
            chain_id,
            avs,
            window,
            is_operator,
            max_bytes=cfg.gossip.max_announcement_bytes,
        )
        sync = AttestationSync(net.host, attestations, connect=net.discovery.connect)
        yield Peer(net, board, blobs, attestations, sync)
        with trio.CancelScope(shield=True):
            await board.leave_all()
            await attestations.leave_all()


@asynccontextmanager
async def open_local_peers(
    n: int,
    *,
    chain_id: int,
    avs: str,
    epoch: int,
    window: EpochWindow | None = None,
    is_operator: OperatorCheck = any_signer,
    digest_fn: DigestFn = keccak256,
    timeout: float = 30.0,
    **net: object,
) -> AsyncIterator[list[Peer]]:
    """``n`` peers on loopback with fresh identities; the first is everyone's only
    bootstrap. Yields once every peer is connected to every other one (through the DHT),
    has joined ``epoch``, and has a GossipSub mesh on its updates topic."""
    window = window or (lambda: (epoch, epoch))
    async with AsyncExitStack() as stack:
        peers: list[Peer] = []
        for i in range(n):
            boot = (peers[0].net.addrs()[0],) if i else ()
            cfg = NetConfig.build(listen="/ip4/127.0.0.1/tcp/0", bootstrap=boot, **net)
            peer = await stack.enter_async_context(
                open_peer(
                    cfg,
                    create_new_key_pair(),
                    chain_id=chain_id,
                    avs=avs,
                    window=window,
                    is_operator=is_operator,
                    digest_fn=digest_fn,
                )
            )
            await peer.join(epoch)
            peers.append(peer)
        name = topic(chain_id, avs, epoch, "updates")
        with trio.fail_after(timeout):
            for peer in peers:
                while len(peer.net.connected_peers()) < n - 1:
                    await trio.sleep(0.05)
            # The mesh forms on the first heartbeats (1 s) after subscriptions are known.
            for peer in peers:
                while len(peer.net.pubsub.router.mesh.get(name, ())) < min(n - 1, 4):
                    await trio.sleep(0.05)
        yield peers
