"""The node's health as the EigenLayer AVS Node API reports it: one status per backing
service (``Up``, ``Down``, ``Initializing``) and an overall health (HTTP 200, 206, 503),
derived from the node's events and its connected peers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from p2pfl.events import ChainUnreachable, Event, Listening, Ready

Status = Literal["Up", "Down", "Initializing"]


class Health(IntEnum):
    """The overall health, valued as the HTTP status ``/eigen/node/health`` answers."""

    HEALTHY = 200
    PARTIAL = 206  # initializing, or a backing service is not healthy
    UNHEALTHY = 503


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    description: str
    status: Status


SERVICES = {
    "p2p": ("libp2p host", "GossipSub announcements and blob transfers with other operators"),
    "chain": ("Ethereum RPC", "the chain endpoint the epoch manager is read and written on"),
    "trainer": ("Trainer", "local data, model and training of this operator's updates"),
}
CHAIN_GRACE_S = 30.0  # the chain counts as down this long after it was last unreachable


class HealthTracker:
    """Service statuses from events: ``p2p`` is initializing until the node listens, then
    up while a peer is connected; ``chain`` is initializing until the node listens (it
    checked the chain first), then down for ``CHAIN_GRACE_S`` after each
    ``chain-unreachable``; ``trainer`` is initializing until ``ready``."""

    def __init__(
        self,
        services: Iterable[str] = ("p2p",),
        *,
        chain_grace_s: float = CHAIN_GRACE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ids = [s for s in SERVICES if s in set(services)]
        self.chain_grace_s = chain_grace_s
        self.clock = clock
        self.listening = False
        self.ready = False
        self.chain_failed_at: float | None = None

    def observe(self, event: Event) -> None:
        if isinstance(event, Listening):
            self.listening = True
        elif isinstance(event, Ready):
            self.ready = True
        elif isinstance(event, ChainUnreachable):
            self.chain_failed_at = self.clock()

    def status(self, service: str, peers: int) -> Status:
        if not self.listening:
            return "Initializing"
        if service == "p2p":
            return "Up" if peers else "Down"
        if service == "chain":
            failed = self.chain_failed_at
            recent = failed is not None and self.clock() - failed < self.chain_grace_s
            return "Down" if recent else "Up"
        if service == "trainer":
            return "Up" if self.ready else "Initializing"
        raise KeyError(service)

    def services(self, peers: int) -> list[Service]:
        return [Service(s, *SERVICES[s], self.status(s, peers)) for s in self.ids]

    def health(self, peers: int) -> Health:
        """Unhealthy while the chain is down (the node can do nothing); partially healthy
        while anything initializes or no peer is connected; healthy otherwise."""
        statuses = {s.id: s.status for s in self.services(peers)}
        if statuses.get("chain") == "Down":
            return Health.UNHEALTHY
        if any(st != "Up" for st in statuses.values()):
            return Health.PARTIAL
        return Health.HEALTHY
