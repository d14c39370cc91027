"""A board of signed gossip messages: per-epoch topics, a validator that admits only the
messages its rules accept, and the record of what was accepted. The announcement board
(:mod:`p2pfl.net.gossip`) and the attestation board (:mod:`p2pfl.net.attestations`) are
this board with their :class:`MessageRules`.

The validator runs inside py-libp2p's pubsub before a message is delivered or
forwarded, so a rejected message goes no further than the first honest peer. In order:
the rules' decoding (size and schema), the rules' content checks (network, topic, epoch
window, signature, operator check; they see the gossip envelope's signer, which strict
signing binds), then the record. The record keeps one message per slot (the kind of its
topic and its epoch) and operator: the same envelope again, from another forwarder, is
fine; the same message in another envelope is a ``replay``; a different one is an
``equivocation``, refused and kept as evidence while the first stands. Every rejection is
counted by reason; an unexpected exception is counted as ``internal`` and rejects the
message, since a validator must never take pubsub down.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, KeysView
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, Protocol, TypeVar

import trio
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from p2pfl.net.errors import AnnouncementError
from p2pfl.net.topics import TopicKind, topic

log = logging.getLogger(__name__)

OperatorCheck = Callable[[str, int], bool]
"""``(operator address, epoch) -> bool``: is the signer a registered operator? The chain
fills this in; the gossip-only development mode admits every signer."""

EpochWindow = Callable[[], tuple[int, int]]
"""The inclusive range of epochs whose messages are accepted right now."""

Slot = tuple[TopicKind, int]
"""Where a message is recorded: the kind of its topic and its epoch (then its operator)."""

SYNCED = b"synced"
"""The envelope of a message admitted outside gossip (:meth:`SignedBoard.admit`)."""


def any_signer(operator: str, epoch: int) -> bool:
    """Operator check of the gossip-only development mode: every signer is admitted."""
    return True


class Signed(Protocol):
    """What the board reads of a message: whose it is, for which epoch, its bytes."""

    @property
    def epoch(self) -> int: ...

    @property
    def operator(self) -> str: ...

    def encode(self) -> bytes: ...


M = TypeVar("M", bound=Signed)


class Equivocation(NamedTuple, Generic[M]):
    """Two different messages signed by one operator for one slot: evidence kept for the
    protocol layer (``first`` is the one that stands)."""

    first: M
    second: M


@dataclass(frozen=True)
class MessageRules(Generic[M]):
    """What a :class:`SignedBoard` needs to know of one message type."""

    what: str
    """The message in log lines ("announcement")."""
    kinds: tuple[TopicKind, ...]
    """An epoch's topics: ``topic(chain_id, avs, epoch, kind)`` for each kind."""
    decode: Callable[[bytes, int], M]
    """``(data, max_bytes)``: the message, or ``AnnouncementError`` (``oversize``, ``schema``)."""
    kind: Callable[[M], TopicKind]
    """The kind of a message's topic (its slot is ``(kind, epoch)``)."""
    check_content: Callable[[SignedBoard[M], str, M, str], None]
    """``(board, topic_id, message, sender)``: every check but replay and equivocation, or
    ``AnnouncementError`` with the reason. ``sender``: the envelope's signer (base58)."""
    already: str
    """Why ``publish`` refuses a message of an operator its slot already holds."""


class _Entry(NamedTuple, Generic[M]):
    message: M
    envelope: bytes  # from_id + seqno of the envelope that carried it


@dataclass
class SignedBoard(Generic[M]):
    """Validated messages of the epochs this node has joined, one per slot and operator."""

    pubsub: Pubsub
    chain_id: int
    avs: str
    window: EpochWindow
    is_operator: OperatorCheck = any_signer
    max_bytes: int = 1024
    rejected: Counter[str] = field(default_factory=Counter)  # by reason
    accepted: Counter[str] = field(default_factory=Counter)  # by kind
    equivocations: list[Equivocation[M]] = field(default_factory=list)
    rules: MessageRules[M] = field(kw_only=True, repr=False)
    _slots: dict[Slot, dict[str, _Entry[M]]] = field(default_factory=dict)
    _changed: trio.Event = field(default_factory=trio.Event)
    _joined: dict[int, list[trio.CancelScope]] = field(default_factory=dict)

    # -- validation ----------------------------------------------------------------
    def check(self, topic_id: str, msg: rpc_pb2.Message) -> M:
        """The message in ``msg`` if it may be accepted on ``topic_id``; raises
        AnnouncementError with the reason otherwise. Records nothing."""
        message = self.rules.decode(msg.data, self.max_bytes)
        try:
            sender = ID(msg.from_id).to_base58()
        except Exception:
            raise AnnouncementError("peer-mismatch", "bad envelope sender") from None
        self.check_content(topic_id, message, sender)
        return message

    def check_content(self, topic_id: str, message: M, sender: str) -> None:
        """Every check but replay and equivocation, for a message sent by ``sender``."""
        self.rules.check_content(self, topic_id, message, sender)

    def check_window(self, epoch: int) -> None:
        """``epoch-window`` unless ``epoch`` is one whose messages are accepted now."""
        lo, hi = self.window()
        if not lo <= epoch <= hi:
            raise AnnouncementError("epoch-window", f"epoch {epoch} outside [{lo}, {hi}]")

    def check_operator(self, operator: str, epoch: int) -> None:
        """``not-operator`` unless the signer is a registered operator for ``epoch``."""
        if not self.is_operator(operator, epoch):
            raise AnnouncementError("not-operator", operator)

    def _validate(self, topic_id: str, msg: rpc_pb2.Message) -> bool:
        try:
            message = self.check(topic_id, msg)
            self._record(message, bytes(msg.from_id) + bytes(msg.seqno))
            self.accepted[self.rules.kind(message)] += 1
        except AnnouncementError as exc:
            self.rejected[exc.reason] += 1
            log.info("rejected %s on %s: %s", self.rules.what, topic_id, exc)
            return False
        except Exception:  # a validator must never take pubsub down
            self.rejected["internal"] += 1
            log.exception("%s validator failed", self.rules.what)
            return False
        return True

    def _record(self, message: M, envelope: bytes) -> None:
        """Keep ``message``, carried by ``envelope``, unless its slot already holds one of
        its operator: fine for the same envelope, ``replay`` or ``equivocation`` else."""
        slot = self._slots.setdefault(self._slot(message), {})
        prior = slot.get(message.operator)
        if prior is None:
            slot[message.operator] = _Entry(message, envelope)
            self._changed.set()
            self._changed = trio.Event()
            return
        if prior.envelope == envelope:
            return  # the same envelope again, from another forwarder: fine
        if prior.envelope == SYNCED and prior.message == message:
            slot[message.operator] = _Entry(message, envelope)  # asked for, then gossiped
            return
        who = f"{message.operator} epoch {message.epoch}"
        if prior.message == message:
            raise AnnouncementError("replay", f"{who} resent")
        self.equivocations.append(Equivocation(prior.message, message))
        raise AnnouncementError("equivocation", who)

    def _slot(self, message: M) -> Slot:
        return (self.rules.kind(message), message.epoch)

    def admit(self, data: bytes) -> M | None:
        """A message obtained outside gossip (asked of a peer): decoded and checked like a
        gossiped one on its own epoch's topic, for an epoch this board has joined, and
        recorded. The message if it is new; None if its operator's slot holds it already.
        Refused: AnnouncementError, counted by reason (an equivocation is kept as
        evidence). Only for messages whose rules do not check the envelope's sender: an
        admitted message has no envelope (the sender given to the checks is empty)."""
        try:
            message = self.rules.decode(data, self.max_bytes)
            if message.epoch not in self._joined:
                raise AnnouncementError("not-joined", f"epoch {message.epoch}")
            name = topic(self.chain_id, self.avs, message.epoch, self.rules.kind(message))
            self.check_content(name, message, "")
            prior = self._slots.get(self._slot(message), {}).get(message.operator)
            if prior is not None and prior.message == message:
                return None
            self._record(message, SYNCED)
        except AnnouncementError as exc:
            self.rejected[exc.reason] += 1
            raise
        self.accepted[self.rules.kind(message)] += 1
        return message

    # -- topics --------------------------------------------------------------------
    async def join(self, epoch: int, nursery: trio.Nursery) -> None:
        """Subscribe to ``epoch``'s topics (validators first, then the subscription)."""
        if epoch in self._joined:
            return
        scopes = self._joined[epoch] = []
        for kind in self.rules.kinds:
            name = topic(self.chain_id, self.avs, epoch, kind)
            self.pubsub.set_topic_validator(
                name, lambda _fwd, msg, name=name: self._validate(name, msg), False
            )
            sub = await self.pubsub.subscribe(name)
            scopes.append(trio.CancelScope())
            nursery.start_soon(self._drain, sub, scopes[-1])

    @staticmethod
    async def _drain(sub: object, scope: trio.CancelScope) -> None:
        # Delivery order does not matter: the validator already recorded the message.
        # Draining keeps py-libp2p's bounded subscription queue from dropping anything.
        with scope:
            async for _ in sub:  # type: ignore[attr-defined]
                pass

    async def leave(self, epoch: int) -> None:
        """Unsubscribe from ``epoch``'s topics and forget its messages."""
        scopes = self._joined.pop(epoch, None)
        if scopes is None:
            return
        for scope in scopes:
            scope.cancel()
        for kind in self.rules.kinds:
            name = topic(self.chain_id, self.avs, epoch, kind)
            await self.pubsub.unsubscribe(name)
            self.pubsub.remove_topic_validator(name)
            self._slots.pop((kind, epoch), None)

    def joined_epochs(self) -> list[int]:
        return sorted(self._joined)

    async def leave_all(self) -> None:
        for epoch in list(self._joined):
            await self.leave(epoch)

    async def publish(self, message: M) -> None:
        """Gossip our own message (checked like anyone else's first; once per slot)."""
        if message.epoch not in self._joined:
            raise AnnouncementError("not-joined", f"epoch {message.epoch}")
        kind, epoch = self._slot(message)
        name = topic(self.chain_id, self.avs, epoch, kind)
        self.check_content(name, message, self.pubsub.my_id.to_base58())
        data = message.encode()
        if len(data) > self.max_bytes:
            raise AnnouncementError("oversize", f"{len(data)} > {self.max_bytes}")
        if message.operator in self._slots.get((kind, epoch), {}):
            raise AnnouncementError(self.rules.already, f"{message.operator} epoch {epoch}")
        await self.pubsub.publish(name, data)  # recorded by our own validator

    # -- reading -------------------------------------------------------------------
    def messages(self, kind: TopicKind, epoch: int) -> dict[str, M]:
        """Accepted messages of ``kind`` for ``epoch``, by operator address."""
        return {op: e.message for op, e in self._slots.get((kind, epoch), {}).items()}

    async def wait_until(
        self, kind: TopicKind, epoch: int, done: Callable[[KeysView[str]], bool]
    ) -> dict[str, M]:
        """Block until ``done`` holds for the operators whose message of ``kind`` for
        ``epoch`` was accepted (callers bound the wait); then those messages."""
        while not done(self._slots.get((kind, epoch), {}).keys()):
            await self._changed.wait()
        return self.messages(kind, epoch)

    async def watch(self, kind: TopicKind, epoch: int) -> AsyncIterator[M]:
        """Every accepted message of ``kind`` for ``epoch``, as it arrives (the ones
        already accepted first)."""
        seen: set[str] = set()
        while True:
            changed = self._changed
            for op, entry in list(self._slots.get((kind, epoch), {}).items()):
                if op not in seen:
                    seen.add(op)
                    yield entry.message
            await changed.wait()
