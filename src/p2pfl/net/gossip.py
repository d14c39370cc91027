"""The announcement board: per-epoch topics, a validator that admits only well-formed,
signed, in-window announcements of registered operators, and the record of what was
accepted (the generic :class:`~p2pfl.net.board.SignedBoard` with the announcements'
rules).

The validator runs inside py-libp2p's pubsub before a message is delivered or
forwarded, so a rejected announcement goes no further than the first honest peer. It
checks, cheapest first: size and schema, that the topic is the announcement's own
(chain, AVS, epoch, kind), the epoch window, that the gossip envelope's signer (strict
signing binds it) is the announced peer, the EIP-712 signature, the operator check, and
finally replay and equivocation against what this node already accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pfl.net.announce import Announcement, decode_announcement
from p2pfl.net.board import (
    EpochWindow,
    Equivocation,
    MessageRules,
    OperatorCheck,
    SignedBoard,
    any_signer,
)
from p2pfl.net.errors import AnnouncementError
from p2pfl.net.topics import KINDS, Kind, topic


def _check_content(
    board: SignedBoard[Announcement], topic_id: str, ann: Announcement, sender: str
) -> None:
    if ann.chain_id != board.chain_id or ann.avs.lower() != board.avs.lower():
        raise AnnouncementError("wrong-network", f"{ann.chain_id}/{ann.avs}")
    if topic(ann.chain_id, ann.avs, ann.epoch, ann.kind) != topic_id:
        raise AnnouncementError("wrong-topic", f"epoch {ann.epoch} {ann.kind} on {topic_id}")
    board.check_window(ann.epoch)
    if sender != ann.peer:
        raise AnnouncementError("peer-mismatch", f"announces {ann.peer}, sent by {sender}")
    if ann.signer() != ann.operator:
        raise AnnouncementError("forged", f"not signed by {ann.operator}")
    board.check_operator(ann.operator, ann.epoch)


ANNOUNCEMENTS: MessageRules[Announcement] = MessageRules(
    what="announcement",
    kinds=KINDS,
    decode=decode_announcement,
    kind=lambda ann: ann.kind,
    check_content=_check_content,
    already="already-announced",
)


@dataclass
class AnnouncementBoard(SignedBoard[Announcement]):
    """Validated announcements of the epochs this node has joined."""

    rules: MessageRules[Announcement] = field(default=ANNOUNCEMENTS, kw_only=True, repr=False)

    def get(self, kind: Kind, epoch: int) -> dict[str, Announcement]:
        """Accepted announcements of ``kind`` for ``epoch``, by operator address."""
        return self.messages(kind, epoch)

    async def wait_for(self, kind: Kind, epoch: int, count: int) -> dict[str, Announcement]:
        """Block until at least ``count`` operators announced (callers bound the wait)."""
        return await self.wait_until(kind, epoch, lambda operators: len(operators) >= count)


__all__ = [
    "ANNOUNCEMENTS",
    "AnnouncementBoard",
    "EpochWindow",
    "Equivocation",
    "OperatorCheck",
    "any_signer",
]
