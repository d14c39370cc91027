"""What the node holds right now, read when the metrics are scraped (no event carries it):
connected peers, the blob service's, the gossip boards' and the attestation sync's
counters, the epoch phase."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from p2pfl.net.peer import Peer


@dataclass(frozen=True)
class Sample:
    peers: int = 0
    blob_stats: Mapping[str, int] = field(default_factory=dict)  # BlobService.stats
    gossip_accepted: Mapping[str, int] = field(default_factory=dict)  # by kind
    gossip_rejected: Mapping[str, int] = field(default_factory=dict)  # by reason
    attestations_accepted: int = 0  # gossiped or synced
    attestations_rejected: Mapping[str, int] = field(default_factory=dict)  # by reason
    attestation_sync: Mapping[str, int] = field(default_factory=dict)  # AttestationSync.stats
    phase: str | None = None  # EpochNode.phase; None: no epochs (gossip-only)


Sampler = Callable[[], Sample]


def peer_sampler(peer: Peer, phase: Callable[[], str | None] = lambda: None) -> Sampler:
    """A sampler reading ``peer`` (and the node's phase) at each call; cheap: counters
    are copied, nothing is computed."""

    def sample() -> Sample:
        return Sample(
            peers=len(peer.net.connected_peers()),
            blob_stats=dict(peer.blobs.stats),
            gossip_accepted=dict(peer.board.accepted),
            gossip_rejected=dict(peer.board.rejected),
            attestations_accepted=sum(peer.attestations.accepted.values()),
            attestations_rejected=dict(peer.attestations.rejected),
            attestation_sync=dict(peer.attestation_sync.stats),
            phase=phase(),
        )

    return sample
