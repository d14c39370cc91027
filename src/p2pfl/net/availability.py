"""Availability attestations (DESIGN.md, the epoch, step 5): after it fetched and checked
the committed updates of an epoch, every committed operator signs which of them it holds,
``Availability{epoch, heldMask}`` as EIP-712 typed data, and gossips it on the epoch's
``availability`` topic. Bit ``i`` of ``heldMask`` is the ``i``-th committed operator in
ascending address order. Operator ``j`` is **available** iff at least ``f_c + 1``
committed operators other than ``j`` attest it: at least one honest operator holds its
bytes, so an aggregator can include it and a watcher can check it.

The domain is the announcements' (name "p2pfl", version "1", the chain id, the AVS service
manager as verifying contract), so a signature is valid on no other chain or AVS; the
contract that will verify attestations in ``submitResult`` and ``challengeExclusion``
rebuilds the same digest (``tests/vectors/availability.json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field

from p2pfl.net.announce import Address, Signature, decode_signed, recover_signer
from p2pfl.net.errors import AnnouncementError

MAX_OPERATORS = 256  # a heldMask is a uint256

_TYPES = {
    "Availability": [
        {"name": "epoch", "type": "uint256"},
        {"name": "heldMask", "type": "uint256"},
    ]
}


class Attestation(BaseModel):
    """Operator ``operator``'s statement "of the updates committed in ``epoch`` I hold
    those in ``held_mask``"."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    chain_id: int = Field(ge=1, lt=1 << 64)
    avs: Address
    epoch: int = Field(ge=0, lt=1 << 64)
    operator: Address
    held_mask: int = Field(ge=0, lt=1 << MAX_OPERATORS)
    signature: Signature

    def signable(self) -> Any:
        return typed_message(self.chain_id, self.avs, self.epoch, self.held_mask)

    def signer(self) -> str:
        """The address that signed this attestation (checksummed)."""
        return recover_signer(self.signable(), self.signature)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()


def typed_message(chain_id: int, avs: str, epoch: int, held_mask: int) -> Any:
    domain = {"name": "p2pfl", "version": "1", "chainId": chain_id, "verifyingContract": avs}
    message = {"epoch": epoch, "heldMask": held_mask}
    return encode_typed_data(domain_data=domain, message_types=_TYPES, message_data=message)


def sign_attestation(
    private_key: bytes | str, *, chain_id: int, avs: str, epoch: int, held_mask: int
) -> Attestation:
    """A signed attestation by the operator that owns ``private_key``."""
    avs = to_checksum_address(avs)
    signed = Account.sign_message(typed_message(chain_id, avs, epoch, held_mask), private_key)
    return Attestation(
        chain_id=chain_id,
        avs=avs,
        epoch=epoch,
        operator=Account.from_key(private_key).address,
        held_mask=held_mask,
        signature="0x" + bytes(signed.signature).hex(),
    )


def decode_attestation(data: bytes, max_bytes: int) -> Attestation:
    """Parse and schema-check one attestation (the signature is checked separately)."""
    return decode_signed(Attestation, data, max_bytes)


def ordered(committed: Iterable[str]) -> list[str]:
    """The committed operators in ascending address order (the bits of a mask)."""
    out: list[str] = sorted(
        {str(to_checksum_address(a)) for a in committed}, key=lambda a: int(a, 16)
    )
    if len(out) > MAX_OPERATORS:
        raise ValueError(f"{len(out)} committed operators, a mask holds {MAX_OPERATORS}")
    return out


def held_mask(committed: Sequence[str], held: Iterable[str]) -> int:
    """The mask of ``held`` (operators whose update this node fetched and checked)."""
    index = {a: i for i, a in enumerate(ordered(committed))}
    mask = 0
    for a in held:
        mask |= 1 << index[to_checksum_address(a)]
    return mask


def check(
    att: Attestation, *, chain_id: int, avs: str, epoch: int, committed: Sequence[str]
) -> None:
    """Refuse an attestation of another chain, AVS or epoch, by a signer other than its
    operator, by an operator that did not commit, or with bits beyond the committed set
    (raises ``AnnouncementError`` with the reason)."""
    if att.chain_id != chain_id or att.avs != to_checksum_address(avs):
        raise AnnouncementError("wrong-domain", f"chain {att.chain_id}, avs {att.avs}")
    if att.epoch != epoch:
        raise AnnouncementError("wrong-epoch", f"epoch {att.epoch}, expected {epoch}")
    members = ordered(committed)
    if att.operator not in members:
        raise AnnouncementError("not-committed", f"{att.operator} did not commit in {epoch}")
    if att.held_mask >> len(members):
        raise AnnouncementError("bad-mask", f"bits beyond the {len(members)} committed")
    signer = att.signer()
    if signer != att.operator:
        raise AnnouncementError("bad-signature", f"signed by {signer}, not {att.operator}")


def counts(committed: Sequence[str], attestations: Iterable[Attestation]) -> dict[str, int]:
    """How many committed operators other than ``j`` attest ``j``, for every committed
    ``j``. One attestation counts per operator (a second one by the same operator is
    ignored); attestations must be ``check``-ed."""
    members = ordered(committed)
    out = dict.fromkeys(members, 0)
    seen: set[str] = set()
    for att in attestations:
        if att.operator in seen or att.operator not in out:
            continue
        seen.add(att.operator)
        own = members.index(att.operator)
        for j, op in enumerate(members):
            if j != own and att.held_mask >> j & 1:
                out[op] += 1
    return out


def available(committed: Sequence[str], attestations: Iterable[Attestation], f_c: int) -> list[str]:
    """The available operators, in ascending order: those attested by at least ``f_c + 1``
    committed operators other than themselves (what ``submitResult`` derives)."""
    return [op for op, c in counts(committed, attestations).items() if c >= f_c + 1]


def exclusion_quorum(f_c: int) -> int:
    """Attestations of a left-out operator that uphold ``challengeExclusion``: ``2·f_c + 1``,
    so at least ``f_c + 1`` are honest ones, which an honest aggregator had received before
    it posted (it waits for every committed operator's attestation, or its timeout). With
    DESIGN.md's ``f_c + 1``, up to ``f_c`` Byzantine operators could hold their attestations
    back until an honest aggregator had rightly left the operator out, then frame it."""
    return 2 * f_c + 1


def supporters(
    committed: Sequence[str], attestations: Iterable[Attestation], operator: str
) -> list[Attestation]:
    """The attestations of ``operator`` by other committed operators (one per operator),
    in ascending operator order: the evidence of ``challengeExclusion``."""
    members = ordered(committed)
    j = members.index(to_checksum_address(operator))
    out: dict[str, Attestation] = {}
    for att in attestations:
        if att.operator in members and att.operator != members[j] and att.held_mask >> j & 1:
            out.setdefault(att.operator, att)
    return [out[op] for op in members if op in out]


def undecided(
    committed: Sequence[str],
    attestations: Sequence[Attestation],
    left_out: Iterable[str],
    quorum: int,
) -> bool:
    """Whether the attestations not held could still decide an exclusion: some operator
    of ``left_out`` has fewer than ``quorum`` supporters among ``attestations``, but would
    reach it if every committed operator that has not attested here held its update."""
    have = counts(committed, attestations)  # supporters of each, one pass
    unheard = set(have) - {att.operator for att in attestations}
    for op in map(to_checksum_address, left_out):
        if have[op] < quorum <= have[op] + len(unheard - {op}):
            return True
    return False


def valid(
    attestations: Iterable[Attestation],
    *,
    chain_id: int,
    avs: str,
    epoch: int,
    committed: Sequence[str],
) -> list[Attestation]:
    """The attestations that pass ``check`` for the epoch's committed set, one per
    operator, in ascending operator order (the order ``submitResult`` requires)."""
    out: dict[str, Attestation] = {}
    for att in attestations:
        try:
            check(att, chain_id=chain_id, avs=avs, epoch=epoch, committed=committed)
        except AnnouncementError:
            continue
        out.setdefault(att.operator, att)
    return [out[op] for op in sorted(out, key=lambda a: int(a, 16))]


def all_held(
    keys: Iterable[bytes | str], *, chain_id: int, avs: str, epoch: int, committed: Sequence[str]
) -> list[Attestation]:
    """Each key's attestation that it holds every committed update, in ascending operator
    order: what honest operators sign when nothing is withheld (devnet tools, benches)."""
    everything = (1 << len(ordered(committed))) - 1
    atts = [
        sign_attestation(k, chain_id=chain_id, avs=avs, epoch=epoch, held_mask=everything)
        for k in keys
    ]
    return sorted(atts, key=lambda a: int(a.operator, 16))
