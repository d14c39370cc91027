"""Shared vectors of the availability attestation (``tests/vectors/availability.json``):
the EIP-712 domain separator, struct hash and digest of ``Availability{epoch, heldMask}``
and a signature by a known test key, for the contract that will verify them."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak

from p2pfl.net import availability as av

CASES = (
    (31337, "0x7a2088a1bFc9d81c55368AE168C2C02570cB814F", 1, 0b111),
    (31337, "0x7a2088a1bFc9d81c55368AE168C2C02570cB814F", 2**64 - 1, 2**255 + 1),
    (17000, "0x00000000000000000000000000000000000000aa", 7, 0),
)
KEY = b"\x2a" * 32


def case(chain_id: int, avs: str, epoch: int, mask: int) -> dict[str, Any]:
    signable = av.typed_message(chain_id, avs, epoch, mask)
    att = av.sign_attestation(KEY, chain_id=chain_id, avs=avs, epoch=epoch, held_mask=mask)
    return {
        "chain_id": chain_id,
        "avs": att.avs,
        "epoch": epoch,
        "held_mask": str(mask),
        "type_hash": "0x" + keccak(b"Availability(uint256 epoch,uint256 heldMask)").hex(),
        "domain_separator": "0x" + bytes(signable.header).hex(),
        "struct_hash": "0x" + bytes(signable.body).hex(),
        "digest": "0x" + keccak(b"\x19\x01" + signable.header + signable.body).hex(),
        "signer": Account.from_key(KEY).address,
        "attestation": att.model_dump(),
    }


def build() -> dict[str, Any]:
    return {
        "description": "EIP-712 Availability(uint256 epoch,uint256 heldMask), domain "
        "{name: p2pfl, version: 1, chainId, verifyingContract: the AVS service manager}; "
        "held_mask as a decimal string; attestation signed by the test key 0x2a…2a (32 bytes)",
        "cases": [case(*c) for c in CASES],
    }
