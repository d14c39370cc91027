"""The attestation board: the epoch's ``availability`` topic, a validator that admits
only well-formed attestations of this network signed by a roster member, and the record
of what was accepted (one attestation per operator and epoch).

The validator checks what it can know when the message arrives: size and schema, the
network (chain, AVS), that the topic is the attestation's epoch, the epoch window, the
EIP-712 signature (signer = operator) and the operator check. Whether the operator
committed and whether the mask fits the committed set are checked where attestations
are used (:func:`p2pfl.net.availability.check`), since the committed set is final only
once the commit phase has closed, and a gossip message refused early is never resent.
A second, different attestation by one operator for one epoch is an equivocation: it is
refused and kept as evidence; the first one stands.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import trio
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from p2pfl.net.availability import Attestation, decode_attestation
from p2pfl.net.errors import AnnouncementError
from p2pfl.net.gossip import EpochWindow, OperatorCheck, any_signer
from p2pfl.net.topics import AVAILABILITY, topic

log = logging.getLogger(__name__)


def availability_topic(chain_id: int, avs: str, epoch: int) -> str:
    return topic(chain_id, avs, epoch, "availability")


@dataclass
class AttestationBoard:
    """Validated availability attestations of the epochs this node has joined."""

    pubsub: Pubsub
    chain_id: int
    avs: str
    window: EpochWindow
    is_operator: OperatorCheck = any_signer
    max_bytes: int = 1024
    rejected: Counter[str] = field(default_factory=Counter)  # by reason
    accepted: int = 0
    equivocations: list[tuple[Attestation, Attestation]] = field(default_factory=list)
    _accepted: dict[int, dict[str, tuple[Attestation, bytes]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    _changed: trio.Event = field(default_factory=trio.Event)
    _joined: dict[int, trio.CancelScope] = field(default_factory=dict)

    # -- validation ----------------------------------------------------------------
    def check(self, topic_id: str, data: bytes) -> Attestation:
        """The attestation in ``data`` if it may be accepted on ``topic_id``; raises
        AnnouncementError with the reason otherwise. Records nothing."""
        att = decode_attestation(data, self.max_bytes)
        self.check_content(topic_id, att)
        return att

    def check_content(self, topic_id: str, att: Attestation) -> None:
        if att.chain_id != self.chain_id or att.avs.lower() != self.avs.lower():
            raise AnnouncementError("wrong-domain", f"{att.chain_id}/{att.avs}")
        if availability_topic(att.chain_id, att.avs, att.epoch) != topic_id:
            raise AnnouncementError("wrong-epoch", f"epoch {att.epoch} on {topic_id}")
        lo, hi = self.window()
        if not lo <= att.epoch <= hi:
            raise AnnouncementError("epoch-window", f"epoch {att.epoch} outside [{lo}, {hi}]")
        if att.signer() != att.operator:
            raise AnnouncementError("bad-signature", f"not signed by {att.operator}")
        if not self.is_operator(att.operator, att.epoch):
            raise AnnouncementError("not-operator", att.operator)

    def _validate(self, topic_id: str, msg: rpc_pb2.Message) -> bool:
        try:
            att = self.check(topic_id, msg.data)
            self._record(att, bytes(msg.from_id) + bytes(msg.seqno))
        except AnnouncementError as exc:
            self.rejected[exc.reason] += 1
            log.info("rejected attestation on %s: %s", topic_id, exc)
            return False
        except Exception:  # a validator must never take pubsub down
            self.rejected["internal"] += 1
            log.exception("attestation validator failed")
            return False
        return True

    def _record(self, att: Attestation, msg_id: bytes) -> None:
        slot = self._accepted[att.epoch]
        prior = slot.get(att.operator)
        if prior is None:
            slot[att.operator] = (att, msg_id)
            self.accepted += 1
            self._changed.set()
            self._changed = trio.Event()
            return
        if prior[1] == msg_id:
            return  # the same envelope again, from another forwarder: fine
        if prior[0] == att:
            raise AnnouncementError("replay", f"{att.operator} epoch {att.epoch} resent")
        self.equivocations.append((prior[0], att))
        raise AnnouncementError("equivocation", f"{att.operator} epoch {att.epoch}")

    # -- topics --------------------------------------------------------------------
    async def join(self, epoch: int, nursery: trio.Nursery) -> None:
        """Subscribe to ``epoch``'s availability topic (the validator first)."""
        if epoch in self._joined:
            return
        name = availability_topic(self.chain_id, self.avs, epoch)
        self.pubsub.set_topic_validator(
            name, lambda _fwd, msg, name=name: self._validate(name, msg), False
        )
        sub = await self.pubsub.subscribe(name)
        scope = self._joined[epoch] = trio.CancelScope()
        nursery.start_soon(self._drain, sub, scope)

    @staticmethod
    async def _drain(sub: object, scope: trio.CancelScope) -> None:
        with scope:
            async for _ in sub:  # type: ignore[attr-defined]
                pass

    async def leave(self, epoch: int) -> None:
        scope = self._joined.pop(epoch, None)
        if scope is None:
            return
        scope.cancel()
        name = availability_topic(self.chain_id, self.avs, epoch)
        await self.pubsub.unsubscribe(name)
        self.pubsub.remove_topic_validator(name)
        self._accepted.pop(epoch, None)

    async def leave_all(self) -> None:
        for epoch in list(self._joined):
            await self.leave(epoch)

    async def publish(self, att: Attestation) -> None:
        """Gossip our own attestation (checked like anyone else's first; once per epoch)."""
        if att.epoch not in self._joined:
            raise AnnouncementError("not-joined", f"epoch {att.epoch}")
        name = availability_topic(att.chain_id, att.avs, att.epoch)
        self.check_content(name, att)
        data = att.encode()
        if len(data) > self.max_bytes:
            raise AnnouncementError("oversize", f"{len(data)} > {self.max_bytes}")
        if att.operator in self._accepted.get(att.epoch, {}):
            raise AnnouncementError("already-attested", f"{att.operator} epoch {att.epoch}")
        await self.pubsub.publish(name, data)  # recorded by our own validator

    # -- reading -------------------------------------------------------------------
    def get(self, epoch: int) -> dict[str, Attestation]:
        """Accepted attestations of ``epoch``, by operator address."""
        return {op: a for op, (a, _) in self._accepted.get(epoch, {}).items()}

    async def wait_for(self, epoch: int, operators: frozenset[str]) -> dict[str, Attestation]:
        """Block until every operator in ``operators`` has attested (callers bound it)."""
        while not operators <= self._accepted.get(epoch, {}).keys():
            await self._changed.wait()
        return self.get(epoch)


__all__ = ["AVAILABILITY", "AttestationBoard", "availability_topic"]
