"""The attestation board: the epoch's ``availability`` topic, a validator that admits
only well-formed attestations of this network signed by a roster member, and the record
of what was accepted (one attestation per operator and epoch): the generic
:class:`~p2pfl.net.board.SignedBoard` with the attestations' rules.

The validator checks what it can know when the message arrives: size and schema, the
network (chain, AVS), that the topic is the attestation's epoch, the epoch window, the
EIP-712 signature (signer = operator) and the operator check. The gossip envelope's
signer is not checked: an attestation names no peer. Whether the operator committed and
whether the mask fits the committed set are checked where attestations are used
(:func:`p2pfl.net.availability.check`), since the committed set is final only once the
commit phase has closed, and a gossip message refused early is never resent. The same
attestation in another envelope is a replay; a second, different attestation by one
operator for one epoch is an equivocation: both are refused, the equivocation is kept as
evidence, and the first attestation stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from p2pfl.net.availability import Attestation, decode_attestation
from p2pfl.net.board import MessageRules, SignedBoard
from p2pfl.net.errors import AnnouncementError
from p2pfl.net.topics import AVAILABILITY, topic


def availability_topic(chain_id: int, avs: str, epoch: int) -> str:
    return topic(chain_id, avs, epoch, AVAILABILITY)


def _check_content(
    board: SignedBoard[Attestation], topic_id: str, att: Attestation, _sender: str
) -> None:
    if att.chain_id != board.chain_id or att.avs.lower() != board.avs.lower():
        raise AnnouncementError("wrong-domain", f"{att.chain_id}/{att.avs}")
    if availability_topic(att.chain_id, att.avs, att.epoch) != topic_id:
        raise AnnouncementError("wrong-epoch", f"epoch {att.epoch} on {topic_id}")
    board.check_window(att.epoch)
    if att.signer() != att.operator:
        raise AnnouncementError("bad-signature", f"not signed by {att.operator}")
    board.check_operator(att.operator, att.epoch)


ATTESTATIONS: MessageRules[Attestation] = MessageRules(
    what="attestation",
    kinds=(AVAILABILITY,),
    decode=decode_attestation,
    kind=lambda _att: AVAILABILITY,
    check_content=_check_content,
    already="already-attested",
)


@dataclass
class AttestationBoard(SignedBoard[Attestation]):
    """Validated availability attestations of the epochs this node has joined
    (``accepted`` counts them under ``"availability"``)."""

    rules: MessageRules[Attestation] = field(default=ATTESTATIONS, kw_only=True, repr=False)

    def get(self, epoch: int) -> dict[str, Attestation]:
        """Accepted attestations of ``epoch``, by operator address."""
        return self.messages(AVAILABILITY, epoch)

    async def wait_for(self, epoch: int, operators: frozenset[str]) -> dict[str, Attestation]:
        """Block until every operator in ``operators`` has attested (callers bound it)."""
        return await self.wait_until(AVAILABILITY, epoch, operators.issubset)


__all__ = ["ATTESTATIONS", "AVAILABILITY", "AttestationBoard", "availability_topic"]
