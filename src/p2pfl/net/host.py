"""The libp2p host: TCP, Noise (the only security transport offered) and Yamux (the
only muxer), with pubsub, GossipSub and the Kademlia DHT run as services under one
structured shutdown."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_pair
from libp2p.custom_types import TProtocol
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.network.config import ConnectionConfig
from libp2p.peer.id import ID
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.tools.anyio_service import background_trio_service

from p2pfl.errors import ConfigError
from p2pfl.net.config import NetConfig
from p2pfl.net.discovery import Discovery
from p2pfl.net.fastnoise import FastNoiseTransport
from p2pfl.net.fastyamux import FastYamux, install_muxers
from p2pfl.net.pubsub import GuardedPubsub, make_router

log = logging.getLogger(__name__)


TRANSPORT_ENV = "P2PFL_NET_TRANSPORT"
"""``stock`` selects py-libp2p's own Noise and Yamux classes (for comparison); anything
else, or unset, the fast subclasses. Both speak the same protocols on the wire."""


def build_host(pair: KeyPair, max_peers: int = 64, *, fast: bool | None = None) -> IHost:
    """A host that speaks only Noise and Yamux (py-libp2p also offers plaintext, TLS and
    secio by default; a node must not accept an unencrypted connection).

    py-libp2p's connection manager by default wants 50-100 connections and, below that,
    triggers a DHT discovery every interval: on a network of tens of operators it never
    gets there and keeps the DHT busy (measured: most of a node's CPU in an 8-node
    epoch). p2pfl's own discovery does that job, so the auto-connector stays idle.

    ``fast`` (default: unless ``$P2PFL_NET_TRANSPORT`` is ``stock``) uses
    ``FastNoiseTransport`` and ``FastYamux``: the same ``/noise`` and ``/yamux/1.0.0``
    on the wire, a several times cheaper data path (``p2pfl.net.fastyamux``)."""
    if fast is None:
        fast = os.environ.get(TRANSPORT_ENV, "fast") != "stock"
    noise_cls = FastNoiseTransport if fast else NoiseTransport
    muxer = FastYamux if fast else Yamux
    noise = noise_cls(pair, noise_privkey=new_x25519_pair().private_key)
    limits = ConnectionConfig(
        max_connections=4 * max_peers,
        min_connections=0,
        low_watermark=0,
        high_watermark=4 * max_peers,
    )
    muxers = {TProtocol(YAMUX_ID): muxer}
    host = new_host(
        key_pair=pair,
        sec_opt={NOISE_ID: noise},
        muxer_opt=muxers,
        connection_config=limits,
    )
    if fast:
        # py-libp2p builds its own Yamux for /yamux/1.0.0 whatever muxer_opt says.
        install_muxers(host, muxers)
    return host


@dataclass
class Network:
    """A running host with its services; valid inside ``open_network``."""

    host: IHost
    pubsub: GuardedPubsub
    dht: KadDHT
    discovery: Discovery
    nursery: trio.Nursery

    @property
    def peer_id(self) -> ID:
        return self.host.get_id()

    def addrs(self) -> list[str]:
        """Dialable multiaddrs of this node, each ending in /p2p/<peer id>."""
        return [str(a) for a in self.host.get_addrs()]

    def connected_peers(self) -> list[ID]:
        return list(self.host.get_connected_peers())


@asynccontextmanager
async def open_network(cfg: NetConfig, pair: KeyPair) -> AsyncIterator[Network]:
    """Listen, start pubsub, GossipSub and the DHT, dial the bootstrap peers in the
    background, and on exit close every connection before the services stop (py-libp2p
    does not close connections when ``host.run`` ends)."""
    host = build_host(pair, cfg.max_peers)
    router = make_router(cfg.gossip)
    pubsub = GuardedPubsub(host, router)
    dht = KadDHT(host, DHTMode.SERVER, enable_random_walk=False, max_peers_per_subnet=0)
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(host.run([multiaddr.Multiaddr(cfg.listen)]))
            # py-libp2p logs a failed bind (port in use, address not local) and runs on
            # without a listener; a node nobody can dial must not pretend to be up.
            if not host.get_network().listeners:
                raise ConfigError(
                    f"cannot listen on {cfg.listen} (port in use or address not local)"
                )
            for service in (pubsub, router, dht):
                await stack.enter_async_context(background_trio_service(service))
            await pubsub.wait_until_ready()
            nursery = await stack.enter_async_context(trio.open_nursery())
            discovery = Discovery(host, dht, cfg)
            net = Network(host, pubsub, dht, discovery, nursery)
            nursery.start_soon(discovery.run)
            try:
                yield net
            finally:
                nursery.cancel_scope.cancel()
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await host.close()
    finally:
        pubsub.stop_threads()
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await host.close()
