"""Attestation sync over real libp2p hosts (``p2pfl.net.attestsync``, ``/p2pfl/attest/1``):
a peer that missed an epoch's attestations gets them from another; the same
attestation gossiped afterwards is taken without a replay rejection; a lying peer gets
nothing in (forged, other-epoch, other-network, garbage, an equivocation, malformed
framing); a malformed request is refused and the server goes on answering."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import pytest
import trio
from eth_account import Account
from libp2p.abc import INetStream

from p2pfl.net.attestsync import MAX_COUNT, PROTOCOL, VERSION, encode_answer, encode_request
from p2pfl.net.availability import Attestation, sign_attestation
from p2pfl.net.peer import Peer
from p2pfl.net.stream import read_exactly
from tests.net.conftest import (
    AVS,
    CHAIN_ID,
    EPOCH,
    meshed,
    open_peers,
    raw_publish,
    wait_rejected,
)

KEYS = [os.urandom(32) for _ in range(4)]
OPERATORS = frozenset(Account.from_key(k).address for k in KEYS)


def _sign(key: bytes, mask: int = 0b1111, epoch: int = EPOCH) -> Attestation:
    return sign_attestation(key, chain_id=CHAIN_ID, avs=AVS, epoch=epoch, held_mask=mask)


def _hand_to(peer: Peer, atts: list[Attestation]) -> None:
    """Give ``peer`` attestations that were never gossiped: nobody else heard them (as
    for a peer that restarted after the gossip, or joined later)."""
    for att in atts:
        assert peer.attestations.admit(att.encode()) == att


@pytest.mark.trio
async def test_a_peer_that_missed_the_attestations_gets_them_from_another() -> None:
    async with open_peers(3) as peers:
        holder, lost, other = peers
        await meshed(peers, "availability")
        atts = [_sign(k) for k in KEYS]
        _hand_to(holder, atts)
        assert lost.attestations.get(EPOCH) == {}
        with trio.fail_after(15):
            new = await lost.sync_attestations(EPOCH, OPERATORS)
        assert new == len(KEYS)
        assert lost.attestations.get(EPOCH) == {a.operator: a for a in atts}
        assert lost.attestation_sync.stats["synced"] == len(KEYS)
        with trio.fail_after(15):
            assert await lost.sync_attestations(EPOCH, OPERATORS) == 0  # nothing to ask
        # the same attestation arriving by gossip later is not a replay
        await raw_publish(other, atts[0].encode(), "availability")
        with trio.fail_after(10):
            while lost.attestations.accepted["availability"] < len(KEYS) + 1:
                await trio.sleep(0.02)
        assert lost.attestations.rejected["replay"] == 0
        # and a second copy by gossip is one, as before
        await raw_publish(holder, atts[0].encode(), "availability")
        await wait_rejected(lost.attestations, "replay")


@pytest.mark.trio
async def test_an_epoch_the_peer_has_not_joined_gets_an_empty_answer() -> None:
    async with open_peers(2) as peers:
        a, b = peers
        _hand_to(a, [_sign(k) for k in KEYS])
        with trio.fail_after(10):
            assert await b.attestation_sync.fetch(a.net.peer_id, EPOCH + 5) == []
            assert len(await b.attestation_sync.fetch(a.net.peer_id, EPOCH)) == len(KEYS)


def _liar(answer: bytes) -> Callable[[INetStream], Awaitable[None]]:
    async def handle(stream: INetStream) -> None:
        await read_exactly(stream, 9, idle_timeout=5)
        await stream.write(answer)
        await stream.close()

    return handle


@pytest.mark.trio
@pytest.mark.parametrize(
    ("case", "refused"),
    [
        ("forged", "bad-signature"),
        ("other-epoch", "not-joined"),
        ("other-chain", "wrong-domain"),
        ("garbage", "schema"),
        ("equivocation", "equivocation"),
        ("too-many", "fetch-failed"),
        ("too-long", "fetch-failed"),
        ("cut-short", "fetch-failed"),
    ],
)
async def test_a_lying_peer_gets_nothing_in(case: str, refused: str) -> None:
    async with open_peers(3) as peers:
        victim, liar, honest = peers
        await meshed(peers, "availability")
        first = _sign(KEYS[0], 0b0011)
        await honest.attestations.publish(first)
        with trio.fail_after(10):
            await victim.attestations.wait_for(EPOCH, frozenset({first.operator}))
        good = _sign(KEYS[1])
        if case == "forged":  # one operator's signature, claimed for another
            bad = [good.model_copy(update={"operator": Account.create().address}).encode()]
        elif case == "other-epoch":
            bad = [_sign(KEYS[1], epoch=EPOCH + 1).encode()]
        elif case == "other-chain":
            bad = [good.model_copy(update={"chain_id": 1}).encode()]
        elif case == "garbage":
            bad = [b"\x00\x01not json"]
        else:  # "equivocation": the same operator, another mask; framing cases below
            bad = [_sign(KEYS[0], 0b0111).encode()]
        answer = encode_answer(bad)
        if case == "too-many":
            answer = (MAX_COUNT + 1).to_bytes(2, "big")
        elif case == "too-long":
            answer = (1).to_bytes(2, "big") + (victim.attestations.max_bytes + 1).to_bytes(2, "big")
        elif case == "cut-short":
            answer = encode_answer([good.encode()])[:-10]
        liar.net.host.set_stream_handler(PROTOCOL, _liar(answer))
        with trio.fail_after(15):
            new = await victim.attestation_sync.sync(
                EPOCH, [liar.net.peer_id], enough=lambda: False
            )
        assert new == 0
        held = victim.attestations.get(EPOCH)
        assert held == {first.operator: first}  # the first attestation stands
        stats = victim.attestation_sync.stats
        if refused == "fetch-failed":
            assert stats["fetch-failed"] == 1
        else:
            assert stats["fetch-refused"] == 1
            assert victim.attestations.rejected[refused] == 1
        if case == "equivocation":
            ((kept, second),) = victim.attestations.equivocations
            assert (kept, second.held_mask) == (first, 0b0111)  # kept as evidence
        # an honest peer's answer is still taken
        _hand_to(honest, [good])
        with trio.fail_after(15):
            new = await victim.attestation_sync.sync(
                EPOCH, [honest.net.peer_id], enough=lambda: False
            )
        assert new == 1
        assert victim.attestations.get(EPOCH) == {first.operator: first, good.operator: good}


@pytest.mark.trio
async def test_a_malformed_request_is_refused_and_the_server_goes_on() -> None:
    async with open_peers(2) as peers:
        server, client = peers
        _hand_to(server, [_sign(k) for k in KEYS])
        stream = await client.net.host.new_stream(server.net.peer_id, [PROTOCOL])
        await stream.write(bytes([VERSION + 1]) + EPOCH.to_bytes(8, "big"))
        with trio.fail_after(10):
            while server.attestation_sync.stats["serve-bad-request"] < 1:
                await trio.sleep(0.02)
        stream = await client.net.host.new_stream(server.net.peer_id, [PROTOCOL])
        await stream.write(encode_request(EPOCH)[:3])  # then nothing: a stalled request
        with trio.fail_after(15):
            while server.attestation_sync.stats["serve-error"] < 1:
                await trio.sleep(0.05)
        with trio.fail_after(10):
            got = await client.attestation_sync.fetch(server.net.peer_id, EPOCH)
        assert len(got) == len(KEYS)
