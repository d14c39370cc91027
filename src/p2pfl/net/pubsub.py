"""GossipSub and Pubsub, configured for p2pfl and guarded against py-libp2p 0.8.1 defects.

- One malformed frame (protobuf ``DecodeError``) escapes ``Pubsub.continuously_read_stream``
  and tears down the whole host. ``GuardedPubsub`` resets that peer's pubsub stream,
  counts the frame and drops the peer from pubsub; the host keeps serving everyone else.
- A frame that arrives while the service is stopping makes ``run_task`` raise "Nursery is
  closed to new arrivals", which also crashes the host's swarm: treated as shutdown.
- Each Pubsub starts a ``seen_messages`` thread; ``stop_threads`` ends it.
- A peer that reconnects before the old connection's death has been processed keeps its
  old outbound stream in ``peers`` ("already has pubsub stream, skipping"): every later
  message to it is written to a closed connection and lost. ``GuardedPubsub`` replaces
  an outbound stream whose connection has closed when the new connection arrives.
"""

from __future__ import annotations

import logging
from collections import Counter

from google.protobuf.message import DecodeError
from libp2p.abc import IHost, INetStream
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub

from p2pfl.net.config import GossipConfig

log = logging.getLogger(__name__)


class GuardedPubsub(Pubsub):
    """Pubsub whose read loop survives malformed frames and shutdown races."""

    def __init__(self, host: IHost, router: GossipSub, max_rpc_bytes: int = 256 * 1024) -> None:
        # strict signing: unsigned, spoofed and tampered envelopes are dropped before any
        # validator runs, and the envelope's from_id is the publishing peer.
        super().__init__(host, router, strict_signing=True, max_inbound_rpc_size=max_rpc_bytes)
        self.malformed_frames: Counter[str] = Counter()

    async def continuously_read_stream(self, stream: INetStream) -> None:
        peer_id = stream.muxed_conn.peer_id
        try:
            await super().continuously_read_stream(stream)
        except DecodeError as exc:
            self.malformed_frames[str(peer_id)] += 1
            log.warning("malformed pubsub frame from %s (%s): stream reset", peer_id, exc)
            try:
                await stream.reset()
            except Exception:  # the stream may already be gone
                log.debug("reset after malformed frame failed", exc_info=True)
            self._handle_dead_peer(peer_id)
        except RuntimeError as exc:
            if "closed to new arrivals" not in str(exc):
                raise
            log.debug("pubsub frame from %s arrived during shutdown", peer_id)

    async def _handle_new_peer(self, peer_id: ID) -> None:
        old = self.peers.get(peer_id)
        if old is not None and old.muxed_conn.is_closed:
            log.info("pubsub stream to %s belongs to a closed connection: replaced", peer_id)
            del self.peers[peer_id]
            queue = self.peer_queues.pop(peer_id, None)
            if queue is not None:
                queue.close()
            self.router.remove_peer(peer_id)
        await super()._handle_new_peer(peer_id)

    def stop_threads(self) -> None:
        """Stop the seen-messages sweeper thread (py-libp2p never does)."""
        self.seen_messages.stop()


def make_router(cfg: GossipConfig) -> GossipSub:
    """GossipSub v1.1 with p2pfl's mesh degree, 1 s heartbeat and rate limits."""
    return GossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11],
        degree=cfg.degree,
        degree_low=cfg.degree_low,
        degree_high=cfg.degree_high,
        heartbeat_interval=cfg.heartbeat_s,  # type: ignore[arg-type]  # float works
        heartbeat_initial_delay=0.1,
        max_messages_per_topic_per_second=cfg.max_messages_per_topic_per_second,
    )
