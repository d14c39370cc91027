"""The gossip-only development node: joins the network, announces a blob for one epoch,
fetches every blob others announce, and reports what it does as events. No chain: every
signer counts as an operator, and its Ethereum key is a development key kept in the data
directory. The full node (chain, epochs, training) builds on the same layers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import trio
from eth_account import Account

from p2pfl.events import (
    Announced,
    AnnouncementSeen,
    Connected,
    Emit,
    Fetched,
    FetchFailed,
    Listening,
)
from p2pfl.hashing import keccak256
from p2pfl.net.announce import Announcement
from p2pfl.net.config import NetConfig
from p2pfl.net.errors import NetError
from p2pfl.net.identity import load_or_create_identity
from p2pfl.net.peer import Peer, open_peer

DEV_KEY_FILE = "dev-operator.key"
DEV_AVS = "0x0000000000000000000000000000000000000000"


def dev_operator_key(data_dir: Path) -> bytes:
    """The development Ethereum key in ``data_dir`` (created 0600 on first use)."""
    path = data_dir / DEV_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(os.urandom(32).hex())
    return bytes.fromhex(path.read_text().strip())


async def run_gossip_node(
    cfg: NetConfig,
    data_dir: Path,
    *,
    epoch: int,
    chain_id: int,
    announce_bytes: int,
    expect_peers: int,
    emit: Emit,
    announce_at: float | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    """Run until cancelled (Ctrl-C); with ``metrics_port``, serve metrics and the AVS
    node API (see :mod:`p2pfl.metrics`) too."""
    metrics = None
    if metrics_port is not None:
        from p2pfl.metrics import NodeMetrics

        metrics = NodeMetrics()
        metrics.epoch.set(epoch)
        emit = metrics.wrap(emit)
    data_dir.mkdir(parents=True, exist_ok=True)
    pair = load_or_create_identity(data_dir)
    key = dev_operator_key(data_dir)
    started = time.monotonic()
    async with open_peer(
        cfg,
        pair,
        chain_id=chain_id,
        avs=DEV_AVS,
        window=lambda: (epoch, epoch),
        blob_dir=data_dir / "blobs",
    ) as peer:
        await peer.join(epoch)
        emit(
            Listening(
                peer_id=peer.net.peer_id.to_base58(),
                addrs=peer.net.addrs(),
                operator=Account.from_key(key).address,
                role="gossip",
            )
        )
        async with trio.open_nursery() as nursery:
            if metrics is not None and metrics_port is not None:
                from p2pfl.metrics import peer_sampler, start_metrics

                metrics.sampler = peer_sampler(peer)
                await start_metrics(nursery, metrics, metrics_host, metrics_port, emit)
            nursery.start_soon(report_first_peer, peer, started, emit)
            nursery.start_soon(_fetch_all, peer, epoch, emit)
            if announce_bytes:
                nursery.start_soon(
                    _announce,
                    peer,
                    key,
                    epoch,
                    chain_id,
                    announce_bytes,
                    expect_peers,
                    emit,
                    announce_at,
                )


async def report_first_peer(peer: Peer, started: float, emit: Emit) -> None:
    """Emit ``connected`` (with the seconds since ``started``) once a peer is connected."""
    await peer.net.discovery.first_peer.wait()
    emit(Connected(seconds=round(time.monotonic() - started, 3)))


async def _announce(
    peer: Peer,
    key: bytes,
    epoch: int,
    chain_id: int,
    size: int,
    expect: int,
    emit: Emit,
    at: float | None,
) -> None:
    # Give the mesh a moment to include the expected peers (at most 10 s), so the
    # announcement is pushed rather than only gossiped lazily.
    with trio.move_on_after(10):
        while len(peer.net.connected_peers()) < expect:
            await trio.sleep(0.1)
        await trio.sleep(1.5)  # a GossipSub heartbeat or so, for the mesh to graft
    if at is not None:  # a shared wall-clock instant lines up the nodes of a test network
        await trio.sleep(max(0.0, at - time.time()))
    data = os.urandom(size)
    digest = keccak256(data)
    peer.blobs.store.put(digest, data)
    ann = peer.sign(key, "updates", epoch, digest, size)
    await peer.board.publish(ann)
    emit(Announced(digest=ann.digest, size=size))


async def _fetch_all(peer: Peer, epoch: int, emit: Emit) -> None:
    async with trio.open_nursery() as nursery:
        async for ann in peer.board.watch("updates", epoch):
            emit(AnnouncementSeen(operator=ann.operator, digest=ann.digest))
            nursery.start_soon(_fetch_one, peer, ann, emit)


async def _fetch_one(peer: Peer, ann: Announcement, emit: Emit) -> None:
    started = time.monotonic()
    try:
        data = await peer.fetch(ann)
    except NetError as exc:
        emit(FetchFailed(digest=ann.digest, error=str(exc)))
        return
    emit(Fetched(digest=ann.digest, bytes=len(data), seconds=round(time.monotonic() - started, 3)))
