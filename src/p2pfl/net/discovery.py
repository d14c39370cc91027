"""Finding peers: dial the bootstrap addresses (with retries: the bootstrap may start
after us), then let the Kademlia DHT's routing-table refresh connect us to the peers it
learns of. A node that only knows the bootstrap thereby reaches every other node, so
gossip meshes form among all operators and blobs can be fetched from their announcers."""

from __future__ import annotations

import logging

import multiaddr
import trio
from libp2p.abc import IHost
from libp2p.kad_dht.kad_dht import KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr

from p2pfl.net.config import NetConfig
from p2pfl.net.errors import NetError

log = logging.getLogger(__name__)

REFRESH_FAST_S = 1.0
REFRESH_SLOW_S = 15.0
BOOTSTRAP_WATCH_S = 0.5  # how often a bootstrap connection is checked


class Discovery:
    """Bootstrap dialing and DHT-driven peer discovery for one host."""

    def __init__(self, host: IHost, dht: KadDHT, cfg: NetConfig) -> None:
        self._host = host
        self._dht = dht
        self._cfg = cfg
        self.first_peer = trio.Event()
        self._bootstrap = [info_from_p2p_addr(multiaddr.Multiaddr(a)) for a in cfg.bootstrap]

    async def run(self) -> None:
        async with trio.open_nursery() as nursery:
            for info in self._bootstrap:
                if info.peer_id != self._host.get_id():
                    nursery.start_soon(self._dial_until_connected, info)
            nursery.start_soon(self._refresh_loop)

    async def _dial_until_connected(self, info: PeerInfo) -> None:
        """Keep a connection to a bootstrap peer: dial with backoff until connected (a
        bootstrap that starts later than this node is still found; a warning once after
        ``bootstrap_attempts``), then watch it and dial again whenever it drops (a
        bootstrap that restarts, or a connection lost under load, is found again)."""
        while True:
            await self._dial_with_backoff(info)
            self._note_connected()
            await self._refresh()
            while info.peer_id in self._host.get_connected_peers():
                await trio.sleep(BOOTSTRAP_WATCH_S)
            log.info("bootstrap %s disconnected; dialing again", info.peer_id)

    async def _dial_with_backoff(self, info: PeerInfo) -> None:
        delay = 0.2
        attempt = 0
        while True:
            attempt += 1
            # py-libp2p 0.8.1's swarm refuses, for 60 s, every dial to a peer whose addresses
            # all failed once: a bootstrap that restarts would be unreachable for a minute.
            # The bootstrap is configured, and this loop has its own backoff: dial it.
            unblock = getattr(self._host.get_network(), "unblock_peer", None)
            if unblock is not None:
                unblock(info.peer_id)
            try:
                await self._host.connect(info)
                return
            except Exception as exc:  # any dial failure: retry with backoff
                log.info("bootstrap %s: attempt %d failed (%s)", info.peer_id, attempt, exc)
                if attempt == self._cfg.bootstrap_attempts:
                    log.warning("bootstrap %s unreachable after %d attempts", info.peer_id, attempt)
                await trio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _refresh_loop(self) -> None:
        while True:
            peers = len(self._host.get_connected_peers())
            if peers:
                self._note_connected()
                await self._refresh()
            # Fast while the node knows few peers, slow once it is part of the network.
            await trio.sleep(REFRESH_FAST_S if peers < 2 else REFRESH_SLOW_S)

    async def _refresh(self) -> None:
        try:
            with trio.move_on_after(10):
                await self._dht.refresh_routing_table()
        except Exception as exc:  # a refresh that fails is retried next round
            log.debug("DHT refresh failed: %s", exc)

    def _note_connected(self) -> None:
        if self._host.get_connected_peers() and not self.first_peer.is_set():
            self.first_peer.set()

    async def connect(self, peer: ID, timeout: float = 10.0) -> None:
        """Make sure ``peer`` is connected: its known addresses first, then a DHT lookup."""
        if peer in self._host.get_connected_peers():
            return
        with trio.move_on_after(timeout):
            addrs = self._known_addrs(peer)
            info: PeerInfo | None = PeerInfo(peer, addrs) if addrs else None
            if info is None:
                info = await self._dht.find_peer(peer)
            if info is not None:
                try:
                    await self._host.connect(info)
                    return
                except Exception as exc:
                    raise NetError(f"cannot connect to {peer}: {exc}") from None
        raise NetError(f"cannot find or reach peer {peer}")

    def _known_addrs(self, peer: ID) -> list[multiaddr.Multiaddr]:
        try:
            return list(self._host.get_peerstore().addrs(peer))
        except Exception:  # peerstore raises for unknown peers
            return []
