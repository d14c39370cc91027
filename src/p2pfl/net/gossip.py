"""The announcement board: per-epoch topics, a validator that admits only well-formed,
signed, in-window announcements of registered operators, and the record of what was
accepted.

The validator runs inside py-libp2p's pubsub before a message is delivered or
forwarded, so a rejected announcement goes no further than the first honest peer. It
checks, cheapest first: size and schema, that the topic is the announcement's own
(chain, AVS, epoch, kind), the epoch window, that the gossip envelope's signer (strict
signing binds it) is the announced peer, the EIP-712 signature, the operator check, and
finally replay and equivocation against what this node already accepted.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from p2pfl.net.announce import Announcement, decode_announcement
from p2pfl.net.errors import AnnouncementError
from p2pfl.net.topics import KINDS, Kind, topic

log = logging.getLogger(__name__)

OperatorCheck = Callable[[str, int], bool]
"""``(operator address, epoch) -> bool``: is the signer a registered operator? The chain
fills this in; the gossip-only development mode admits every signer."""

EpochWindow = Callable[[], tuple[int, int]]
"""The inclusive range of epochs whose announcements are accepted right now."""


def any_signer(operator: str, epoch: int) -> bool:
    """Operator check of the gossip-only development mode: every signer is admitted."""
    return True


@dataclass
class Equivocation:
    """Two different announcements signed by one operator for the same epoch and kind:
    evidence kept for the protocol layer."""

    first: Announcement
    second: Announcement


@dataclass
class _Accepted:
    announcement: Announcement
    msg_id: bytes


@dataclass
class AnnouncementBoard:
    """Validated announcements of the epochs this node has joined."""

    pubsub: Pubsub
    chain_id: int
    avs: str
    window: EpochWindow
    is_operator: OperatorCheck = any_signer
    max_bytes: int = 1024
    rejected: Counter[str] = field(default_factory=Counter)  # by reason
    accepted: Counter[str] = field(default_factory=Counter)  # by kind
    equivocations: list[Equivocation] = field(default_factory=list)
    _accepted: dict[tuple[Kind, int], dict[str, _Accepted]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    _changed: trio.Event = field(default_factory=trio.Event)
    _joined: dict[int, list[trio.CancelScope]] = field(default_factory=dict)

    # -- validation ----------------------------------------------------------------
    def check(self, topic_id: str, msg: rpc_pb2.Message) -> Announcement:
        """The announcement in ``msg`` if it may be accepted on ``topic_id``; raises
        AnnouncementError with the reason otherwise. Records nothing."""
        ann = decode_announcement(msg.data, self.max_bytes)
        try:
            sender = ID(msg.from_id).to_base58()
        except Exception:
            raise AnnouncementError("peer-mismatch", "bad envelope sender") from None
        self.check_content(topic_id, ann, sender)
        return ann

    def check_content(self, topic_id: str, ann: Announcement, sender: str) -> None:
        """Every check but replay and equivocation, for an announcement sent by ``sender``."""
        if ann.chain_id != self.chain_id or ann.avs.lower() != self.avs.lower():
            raise AnnouncementError("wrong-network", f"{ann.chain_id}/{ann.avs}")
        if topic(ann.chain_id, ann.avs, ann.epoch, ann.kind) != topic_id:
            raise AnnouncementError("wrong-topic", f"epoch {ann.epoch} {ann.kind} on {topic_id}")
        lo, hi = self.window()
        if not lo <= ann.epoch <= hi:
            raise AnnouncementError("epoch-window", f"epoch {ann.epoch} outside [{lo}, {hi}]")
        if sender != ann.peer:
            raise AnnouncementError("peer-mismatch", f"announces {ann.peer}, sent by {sender}")
        if ann.signer() != ann.operator:
            raise AnnouncementError("forged", f"not signed by {ann.operator}")
        if not self.is_operator(ann.operator, ann.epoch):
            raise AnnouncementError("not-operator", ann.operator)

    def _validate(self, topic_id: str, msg: rpc_pb2.Message) -> bool:
        try:
            ann = self.check(topic_id, msg)
            self._record(ann, bytes(msg.from_id) + bytes(msg.seqno))
            self.accepted[ann.kind] += 1
        except AnnouncementError as exc:
            self.rejected[exc.reason] += 1
            log.info("rejected announcement on %s: %s", topic_id, exc)
            return False
        except Exception:  # a validator must never take pubsub down
            self.rejected["internal"] += 1
            log.exception("announcement validator failed")
            return False
        return True

    def _record(self, ann: Announcement, msg_id: bytes) -> None:
        slot = self._accepted[(ann.kind, ann.epoch)]
        prior = slot.get(ann.operator)
        if prior is None:
            slot[ann.operator] = _Accepted(ann, msg_id)
            self._changed.set()
            self._changed = trio.Event()
            return
        if prior.msg_id == msg_id:
            return  # the same envelope again, from another forwarder: fine
        if prior.announcement == ann:
            raise AnnouncementError("replay", f"{ann.operator} epoch {ann.epoch} resent")
        self.equivocations.append(Equivocation(prior.announcement, ann))
        raise AnnouncementError("equivocation", f"{ann.operator} epoch {ann.epoch}")

    # -- topics --------------------------------------------------------------------
    async def join(self, epoch: int, nursery: trio.Nursery) -> None:
        """Subscribe to ``epoch``'s topics (validators first, then the subscription)."""
        if epoch in self._joined:
            return
        scopes = self._joined[epoch] = []
        for kind in KINDS:
            name = topic(self.chain_id, self.avs, epoch, kind)
            self.pubsub.set_topic_validator(
                name, lambda _fwd, msg, name=name: self._validate(name, msg), False
            )
            sub = await self.pubsub.subscribe(name)
            scopes.append(trio.CancelScope())
            nursery.start_soon(self._drain, sub, scopes[-1])

    async def _drain(self, sub: object, scope: trio.CancelScope) -> None:
        # Delivery order does not matter: the validator already recorded the message.
        # Draining keeps py-libp2p's bounded subscription queue from dropping anything.
        with scope:
            async for _ in sub:  # type: ignore[attr-defined]
                pass

    async def leave(self, epoch: int) -> None:
        """Unsubscribe from ``epoch``'s topics and forget its announcements."""
        scopes = self._joined.pop(epoch, None)
        if scopes is None:
            return
        for scope in scopes:
            scope.cancel()
        for kind in KINDS:
            name = topic(self.chain_id, self.avs, epoch, kind)
            await self.pubsub.unsubscribe(name)
            self.pubsub.remove_topic_validator(name)
            self._accepted.pop((kind, epoch), None)

    def joined_epochs(self) -> list[int]:
        return sorted(self._joined)

    async def leave_all(self) -> None:
        for epoch in list(self._joined):
            await self.leave(epoch)

    async def publish(self, ann: Announcement) -> None:
        """Gossip our own announcement (checked like anyone else's first)."""
        if ann.epoch not in self._joined:
            raise AnnouncementError("not-joined", f"epoch {ann.epoch}")
        name = topic(ann.chain_id, ann.avs, ann.epoch, ann.kind)
        self.check_content(name, ann, self.pubsub.my_id.to_base58())
        if len(ann.encode()) > self.max_bytes:
            raise AnnouncementError("oversize", f"{len(ann.encode())} > {self.max_bytes}")
        if ann.operator in self._accepted.get((ann.kind, ann.epoch), {}):
            raise AnnouncementError("already-announced", f"{ann.operator} epoch {ann.epoch}")
        await self.pubsub.publish(name, ann.encode())

    # -- reading -------------------------------------------------------------------
    def get(self, kind: Kind, epoch: int) -> dict[str, Announcement]:
        """Accepted announcements of ``kind`` for ``epoch``, by operator address."""
        return {op: a.announcement for op, a in self._accepted.get((kind, epoch), {}).items()}

    async def wait_for(self, kind: Kind, epoch: int, count: int) -> dict[str, Announcement]:
        """Block until at least ``count`` operators announced (callers bound the wait)."""
        while len(self._accepted.get((kind, epoch), {})) < count:
            await self._changed.wait()
        return self.get(kind, epoch)

    async def watch(self, kind: Kind, epoch: int) -> AsyncIterator[Announcement]:
        """Every accepted announcement of ``kind`` for ``epoch``, as it arrives (the ones
        already accepted first)."""
        seen: set[str] = set()
        while True:
            changed = self._changed
            for op, acc in list(self._accepted.get((kind, epoch), {}).items()):
                if op not in seen:
                    seen.add(op)
                    yield acc.announcement
            await changed.wait()
