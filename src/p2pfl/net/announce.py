"""Announcements: the small signed messages gossiped per epoch.

``{kind, chain_id, avs, epoch, operator, digest, size, peer}`` signed by the operator's
Ethereum key as EIP-712 typed data (domain: name "p2pfl", version "1", the chain id and
the AVS service manager as verifying contract), so an operator's hardware wallet or
remote signer can sign them and no signature is valid on another chain or AVS. On the
wire: compact JSON, at most ``GossipConfig.max_announcement_bytes``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from p2pfl.net.errors import AnnouncementError
from p2pfl.net.topics import Kind

M = TypeVar("M", bound=BaseModel)

_HEX32 = re.compile(r"^0x[0-9a-f]{64}$")
_HEX65 = re.compile(r"^0x[0-9a-f]{130}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PEER = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{20,80}$")  # base58btc


def _address(text: str) -> str:
    if not _ADDRESS.match(text):
        raise ValueError("not a 20-byte hex address")
    return to_checksum_address(text)


def _pattern(rx: re.Pattern[str], what: str) -> Any:
    def check(text: str) -> str:
        if not rx.match(text):
            raise ValueError(f"not {what}")
        return text

    return AfterValidator(check)


Address = Annotated[str, AfterValidator(_address)]
Hex32 = Annotated[str, _pattern(_HEX32, "0x + 64 lower-case hex digits")]
Signature = Annotated[str, _pattern(_HEX65, "a 65-byte 0x-hex signature")]
PeerId = Annotated[str, _pattern(_PEER, "a base58 peer id")]

_TYPES = {
    "Announcement": [
        {"name": "kind", "type": "string"},
        {"name": "epoch", "type": "uint64"},
        {"name": "operator", "type": "address"},
        {"name": "digest", "type": "bytes32"},
        {"name": "size", "type": "uint64"},
        {"name": "peer", "type": "string"},
    ]
}


class Announcement(BaseModel):
    """One operator's statement "my ``kind`` for ``epoch`` is the blob ``digest`` of
    ``size`` bytes, served by libp2p peer ``peer``"."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    kind: Kind
    chain_id: int = Field(ge=1, lt=1 << 64)
    avs: Address
    epoch: int = Field(ge=0, lt=1 << 64)
    operator: Address
    digest: Hex32
    size: int = Field(ge=1, lt=1 << 40)
    peer: PeerId
    signature: Signature

    def signable(self) -> Any:
        return typed_message(
            self.kind,
            self.chain_id,
            self.avs,
            self.epoch,
            self.operator,
            self.digest,
            self.size,
            self.peer,
        )

    def signer(self) -> str:
        """The address that signed this announcement (checksummed)."""
        return recover_signer(self.signable(), self.signature)

    def encode(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def digest_bytes(self) -> bytes:
        return bytes.fromhex(self.digest[2:])


def typed_message(
    kind: Kind,
    chain_id: int,
    avs: str,
    epoch: int,
    operator: str,
    digest: str,
    size: int,
    peer: str,
) -> Any:
    domain = {"name": "p2pfl", "version": "1", "chainId": chain_id, "verifyingContract": avs}
    message = {
        "kind": kind,
        "epoch": epoch,
        "operator": operator,
        "digest": bytes.fromhex(digest[2:]),
        "size": size,
        "peer": peer,
    }
    return encode_typed_data(domain_data=domain, message_types=_TYPES, message_data=message)


def sign_announcement(
    private_key: bytes | str,
    *,
    kind: Kind,
    chain_id: int,
    avs: str,
    epoch: int,
    digest: bytes,
    size: int,
    peer: str,
) -> Announcement:
    """A signed announcement by the operator that owns ``private_key``."""
    operator = Account.from_key(private_key).address
    avs = to_checksum_address(avs)
    digest_hex = "0x" + digest.hex()
    signed = Account.sign_message(
        typed_message(kind, chain_id, avs, epoch, operator, digest_hex, size, peer),
        private_key,
    )
    return Announcement(
        kind=kind,
        chain_id=chain_id,
        avs=avs,
        epoch=epoch,
        operator=operator,
        digest=digest_hex,
        size=size,
        peer=peer,
        signature="0x" + bytes(signed.signature).hex(),
    )


def recover_signer(signable: Any, signature: str) -> str:
    """The checksummed address that signed the typed data ``signable``, or
    ``AnnouncementError("bad-signature")`` for a malformed signature."""
    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # malformed r, s or v
        raise AnnouncementError("bad-signature", str(exc)) from None


def decode_signed(model: type[M], data: bytes, max_bytes: int) -> M:
    """Parse and schema-check one signed gossip message of type ``model`` (the signature
    is checked separately): ``oversize`` or ``schema`` rejections, one line each."""
    if len(data) > max_bytes:
        raise AnnouncementError("oversize", f"{len(data)} bytes > {max_bytes}")
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise AnnouncementError("schema", f"{where}: {first['msg']}") from None


def decode_announcement(data: bytes, max_bytes: int) -> Announcement:
    """Parse and schema-check one announcement (the signature is checked separately)."""
    return decode_signed(Announcement, data, max_bytes)
