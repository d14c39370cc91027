"""Hostile gossip: each case is rejected, and the victim keeps serving afterwards."""

from __future__ import annotations

import os

import pytest
import trio
from eth_account import Account
from libp2p.pubsub.gossipsub import PROTOCOL_ID_V12
from libp2p.utils import encode_varint_prefixed

from p2pfl.net.announce import Announcement
from p2pfl.net.peer import Peer
from tests.net.conftest import (
    EPOCH,
    announce_for,
    open_peers,
    random_blob,
    raw_publish,
    still_accepts,
    wait_rejected,
)


async def _still_serving(victim: Peer, honest: Peer, expected: int) -> None:
    """An honest announcement still reaches the victim (with ``expected`` in all) and its
    blob is fetched."""
    data, digest = random_blob(100_000)
    honest.blobs.store.put(digest, data)
    ann = announce_for(honest, os.urandom(32), digest, len(data))
    with trio.fail_after(10):
        got = await still_accepts(victim.board, honest.board, ann)
        assert len(victim.board.get("updates", EPOCH)) >= expected
        assert await victim.fetch(got) == data


@pytest.mark.trio
async def test_malformed_protobuf_frame_does_not_kill_the_host() -> None:
    async with open_peers(3) as (victim, honest, attacker):
        stream = await attacker.net.host.new_stream(victim.net.peer_id, [PROTOCOL_ID_V12])
        # Field 1 (subscriptions), length 5, but only one byte follows: DecodeError.
        await stream.write(encode_varint_prefixed(b"\x0a\x05\x01"))
        with trio.fail_after(5):
            while not victim.net.pubsub.malformed_frames:
                await trio.sleep(0.05)
        assert victim.net.pubsub.malformed_frames[str(attacker.net.peer_id)] == 1
        await _still_serving(victim, honest, 1)


@pytest.mark.trio
async def test_unsigned_envelope_is_dropped() -> None:
    async with open_peers(3) as (victim, honest, attacker):
        attacker.net.pubsub.strict_signing = False
        attacker.net.pubsub.sign_key = None
        _, digest = random_blob(10)
        await raw_publish(
            attacker, announce_for(attacker, os.urandom(32), digest, 10).encode(), "updates"
        )
        # Strict signing drops it before any validator runs, so there is no event to wait
        # for: give it the time a valid message takes to arrive (well under 1 s here).
        await trio.sleep(1.0)
        assert victim.board.get("updates", EPOCH) == {}
        await _still_serving(victim, honest, 1)


@pytest.mark.trio
@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged", "forged"),
        ("wrong-epoch-on-topic", "wrong-topic"),
        ("other-chain", "wrong-network"),
        ("oversize", "oversize"),
        ("garbage", "schema"),
        ("missing-signature", "schema"),
        ("not-operator", "not-operator"),
    ],
)
async def test_bad_announcement_is_rejected(case: str, reason: str) -> None:
    outsider = Account.create()
    async with open_peers(3, is_operator=lambda op, _e: op != outsider.address) as peers:
        victim, honest, attacker = peers
        _, digest = random_blob(10)
        good = announce_for(attacker, os.urandom(32), digest, 10)
        raw: bytes
        if case == "forged":
            raw = good.model_copy(update={"operator": Account.create().address}).encode()
        elif case == "wrong-epoch-on-topic":
            raw = announce_for(attacker, os.urandom(32), digest, 10, epoch=EPOCH + 1).encode()
        elif case == "other-chain":
            raw = good.model_copy(update={"chain_id": 1}).encode()
        elif case == "oversize":
            raw = good.encode()[:-1] + b"," + b" " * 2000 + b"}"
        elif case == "garbage":
            raw = b"\x00\x01not json"
        elif case == "missing-signature":
            raw = good.model_dump_json(exclude={"signature"}).encode()
        else:
            raw = announce_for(attacker, outsider.key, digest, 10).encode()
        await raw_publish(attacker, raw, "updates")
        await wait_rejected(victim.board, reason)
        assert victim.board.get("updates", EPOCH) == {}
        await _still_serving(victim, honest, 1)


@pytest.mark.trio
async def test_replays_and_equivocation_are_rejected() -> None:
    async with open_peers(3) as (victim, honest, attacker):
        key = os.urandom(32)
        data, digest = random_blob(1000)
        honest.blobs.store.put(digest, data)
        original = announce_for(honest, key, digest, len(data))
        await honest.board.publish(original)
        with trio.fail_after(5):
            await victim.board.wait_for("updates", EPOCH, 1)
        # Another peer replays the honest announcement under its own envelope.
        await raw_publish(attacker, original.encode(), "updates")
        # The honest peer's content again, in a new envelope (new seqno).
        await raw_publish(honest, original.encode(), "updates")
        # The same operator signs a second, different update for the epoch.
        _, other = random_blob(1000)
        await raw_publish(honest, announce_for(honest, key, other, 1000).encode(), "updates")
        for reason in ("peer-mismatch", "replay", "equivocation"):
            await wait_rejected(victim.board, reason)
        assert len(victim.board.equivocations) == 1
        assert victim.board.get("updates", EPOCH) == {original.operator: original}
        await _still_serving(victim, honest, 2)


@pytest.mark.trio
async def test_announcement_outside_the_epoch_window_is_rejected() -> None:
    current = {"epoch": EPOCH}
    async with open_peers(3, window=lambda: (current["epoch"], current["epoch"])) as peers:
        victim, honest, attacker = peers
        current["epoch"] = EPOCH + 2  # the network moved on; epoch 7's window closed
        _, digest = random_blob(10)
        ann: Announcement = announce_for(attacker, os.urandom(32), digest, 10)
        await raw_publish(attacker, ann.encode(), "updates")
        await wait_rejected(victim.board, "epoch-window")
        assert victim.board.get("updates", EPOCH) == {}
        current["epoch"] = EPOCH
        await _still_serving(victim, honest, 1)
