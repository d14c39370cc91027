"""Availability attestations over real gossip (``p2pfl.net.attestations``): an honest one
arrives; forged, wrong-epoch, other-network, malformed, oversize and non-member ones are
refused by the validator with their reason; a replay and an equivocation are refused and
the first attestation stands; the victim keeps taking honest ones afterwards."""

from __future__ import annotations

import os

import pytest
import trio
from eth_account import Account

from p2pfl.net.availability import Attestation, sign_attestation
from p2pfl.net.peer import Peer
from tests.net.conftest import (
    AVS,
    CHAIN_ID,
    EPOCH,
    meshed,
    open_peers,
    raw_publish,
    still_accepts,
    wait_rejected,
)


def _sign(key: bytes | str, mask: int = 0b111, epoch: int = EPOCH) -> Attestation:
    return sign_attestation(key, chain_id=CHAIN_ID, avs=AVS, epoch=epoch, held_mask=mask)


async def _still_taking(victim: Peer, honest: Peer) -> None:
    await still_accepts(victim.attestations, honest.attestations, _sign(os.urandom(32)))


@pytest.mark.trio
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged", "bad-signature"),
        ("wrong-epoch-on-topic", "wrong-epoch"),
        ("other-chain", "wrong-domain"),
        ("oversize", "oversize"),
        ("garbage", "schema"),
        ("not-operator", "not-operator"),
    ],
)
async def test_a_bad_attestation_is_refused(case: str, reason: str) -> None:
    outsider = Account.create()
    async with open_peers(3, is_operator=lambda op, _e: op != outsider.address) as peers:
        victim, honest, attacker = peers
        await meshed(peers, "availability")
        good = _sign(os.urandom(32))
        if case == "forged":  # a signature by one operator, claimed for another
            raw = good.model_copy(update={"operator": Account.create().address}).encode()
        elif case == "wrong-epoch-on-topic":
            raw = _sign(os.urandom(32), epoch=EPOCH + 1).encode()
        elif case == "other-chain":
            raw = good.model_copy(update={"chain_id": 1}).encode()
        elif case == "oversize":
            raw = good.encode()[:-1] + b"," + b" " * 2000 + b"}"
        elif case == "garbage":
            raw = b"\x00\x01not json"
        else:
            raw = _sign(outsider.key).encode()
        await raw_publish(attacker, raw, "availability")
        await wait_rejected(victim.attestations, reason)
        assert victim.attestations.get(EPOCH) == {}
        await _still_taking(victim, honest)


@pytest.mark.trio
async def test_replays_and_equivocation_are_refused_and_the_first_stands() -> None:
    async with open_peers(3) as peers:
        victim, honest, attacker = peers
        await meshed(peers, "availability")
        key = os.urandom(32)
        first = _sign(key, 0b011)
        await honest.attestations.publish(first)
        with trio.fail_after(10):
            await victim.attestations.wait_for(EPOCH, frozenset({first.operator}))
        # Replayed by another peer; then a second attestation with another mask.
        await raw_publish(attacker, first.encode(), "availability")
        await raw_publish(honest, _sign(key, 0b111).encode(), "availability")
        for reason in ("replay", "equivocation"):
            await wait_rejected(victim.attestations, reason)
        assert victim.attestations.get(EPOCH) == {first.operator: first}
        assert [pair[0] for pair in victim.attestations.equivocations] == [first]
        await _still_taking(victim, honest)
