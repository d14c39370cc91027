"""The generic signed-message board without a network: its record (one message per slot
and operator; the same envelope again is fine, the same message in another envelope is a
replay, a different one an equivocation and the first stands), its validator's counters,
and its readers; then the announcement and attestation boards' readers on top of it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import cast

import pytest
import trio
import trio.testing
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub

from p2pfl.net.announce import sign_announcement
from p2pfl.net.attestations import AttestationBoard
from p2pfl.net.availability import sign_attestation
from p2pfl.net.board import Equivocation, MessageRules, SignedBoard
from p2pfl.net.errors import AnnouncementError
from p2pfl.net.gossip import AnnouncementBoard
from p2pfl.net.topics import Kind, topic

CHAIN_ID = 31337
AVS = "0x" + "ab" * 20
ALICE = ID.from_pubkey(create_new_key_pair(bytes([1]) * 32).public_key)
BOB = ID.from_pubkey(create_new_key_pair(bytes([2]) * 32).public_key)


@dataclass(frozen=True)
class Note:
    """A tiny signed-message stand-in: its operator is the peer that sends it."""

    kind: Kind
    epoch: int
    operator: str
    text: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()


def _decode(data: bytes, max_bytes: int) -> Note:
    if len(data) > max_bytes:
        raise AnnouncementError("oversize", f"{len(data)} > {max_bytes}")
    try:
        return Note(**json.loads(data))
    except (ValueError, TypeError) as exc:
        raise AnnouncementError("schema", str(exc)) from None


def _check_content(board: SignedBoard[Note], topic_id: str, note: Note, sender: str) -> None:
    if topic(board.chain_id, board.avs, note.epoch, note.kind) != topic_id:
        raise AnnouncementError("wrong-topic", topic_id)
    if sender != note.operator:
        raise AnnouncementError("peer-mismatch", sender)
    if note.text == "boom":
        raise RuntimeError("a bug in a check")


NOTES: MessageRules[Note] = MessageRules(
    what="note",
    kinds=("updates", "model"),
    decode=_decode,
    kind=lambda note: note.kind,
    check_content=_check_content,
    already="already-noted",
)


def _board() -> SignedBoard[Note]:
    return SignedBoard(cast(Pubsub, None), CHAIN_ID, AVS, lambda: (0, 10), rules=NOTES)


def _note(text: str, *, kind: Kind = "updates", epoch: int = 1, by: ID = ALICE) -> Note:
    return Note(kind, epoch, by.to_base58(), text)


def _envelope(note: Note | bytes, seqno: int, *, by: ID = ALICE) -> rpc_pb2.Message:
    data = note if isinstance(note, bytes) else note.encode()
    return rpc_pb2.Message(from_id=by.to_bytes(), seqno=seqno.to_bytes(8, "big"), data=data)


def _topic(kind: Kind = "updates", epoch: int = 1) -> str:
    return topic(CHAIN_ID, AVS, epoch, kind)


def test_record_same_envelope_fine_replay_and_equivocation_refused_first_stands() -> None:
    board = _board()
    first, other = _note("first"), _note("other")
    board._record(first, b"envelope-1")
    board._record(first, b"envelope-1")  # the same envelope from another forwarder
    assert board.messages("updates", 1) == {first.operator: first}
    with pytest.raises(AnnouncementError) as replay:
        board._record(first, b"envelope-2")
    assert replay.value.reason == "replay"
    assert board.equivocations == []
    with pytest.raises(AnnouncementError) as equivocation:
        board._record(other, b"envelope-3")
    assert equivocation.value.reason == "equivocation"
    assert board.equivocations == [Equivocation(first, other)]
    assert board.equivocations[0].first == first
    assert board.equivocations[0][1] == other
    assert board.messages("updates", 1) == {first.operator: first}


def test_slots_are_per_kind_epoch_and_operator() -> None:
    board = _board()
    notes = [
        _note("a"),
        _note("b", kind="model"),
        _note("c", epoch=2),
        _note("d", by=BOB),
    ]
    for i, note in enumerate(notes):
        board._record(note, bytes([i]))
    assert board.messages("updates", 1) == {ALICE.to_base58(): notes[0], BOB.to_base58(): notes[3]}
    assert board.messages("model", 1) == {ALICE.to_base58(): notes[1]}
    assert board.messages("updates", 2) == {ALICE.to_base58(): notes[2]}
    assert board.messages("model", 2) == {}
    assert board.equivocations == []


def test_the_validator_counts_by_kind_and_by_reason() -> None:
    board = _board()
    first = _note("first")
    assert board._validate(_topic(), _envelope(first, 1))
    assert board._validate(_topic(), _envelope(first, 1))  # seen again: fine
    assert board._validate(_topic("model"), _envelope(_note("m", kind="model"), 2))
    refused = [
        (_topic(), _envelope(first, 3), "replay"),
        (_topic(), _envelope(_note("second"), 4), "equivocation"),
        (_topic(), _envelope(b"{" + b" " * 2000 + b"}", 5), "oversize"),
        (_topic(), _envelope(b"not json", 6), "schema"),
        (_topic("model"), _envelope(_note("x", by=BOB), 7, by=BOB), "wrong-topic"),
        (_topic(), _envelope(_note("y", by=BOB), 8), "peer-mismatch"),
        (_topic(), _envelope(_note("boom", by=BOB), 9, by=BOB), "internal"),
    ]
    for topic_id, envelope, _reason in refused:
        assert not board._validate(topic_id, envelope)
    assert board.rejected == {reason: 1 for _t, _e, reason in refused}
    assert board.accepted == {"updates": 2, "model": 1}
    assert board.messages("updates", 1) == {first.operator: first}
    assert [e.second.text for e in board.equivocations] == ["second"]


@pytest.mark.trio
async def test_readers_wake_on_each_new_message() -> None:
    board = _board()
    board._record(_note("early"), b"1")
    seen: list[str] = []

    async def watch() -> None:
        async for note in board.watch("updates", 1):
            seen.append(note.text)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        await trio.testing.wait_all_tasks_blocked()
        assert seen == ["early"]
        with trio.fail_after(1):
            board._record(_note("late", by=BOB), b"2")
            got = await board.wait_until("updates", 1, lambda ops: BOB.to_base58() in ops)
        assert sorted(n.text for n in got.values()) == ["early", "late"]
        await trio.testing.wait_all_tasks_blocked()
        assert seen == ["early", "late"]
        nursery.cancel_scope.cancel()


@pytest.mark.trio
async def test_announcement_and_attestation_boards_read_their_slots() -> None:
    anns = AnnouncementBoard(cast(Pubsub, None), CHAIN_ID, AVS, lambda: (0, 10))
    atts = AttestationBoard(cast(Pubsub, None), CHAIN_ID, AVS, lambda: (0, 10))
    key = os.urandom(32)
    ann = sign_announcement(
        key,
        kind="model",
        chain_id=CHAIN_ID,
        avs=AVS,
        epoch=3,
        digest=bytes(32),
        size=1,
        peer=ALICE.to_base58(),
    )
    att = sign_attestation(key, chain_id=CHAIN_ID, avs=AVS, epoch=3, held_mask=1)
    other = sign_attestation(key, chain_id=CHAIN_ID, avs=AVS, epoch=3, held_mask=3)
    anns._record(ann, b"1")
    atts._record(att, b"1")
    with pytest.raises(AnnouncementError, match="equivocation"):
        atts._record(other, b"2")
    with trio.fail_after(1):
        assert await anns.wait_for("model", 3, 1) == {ann.operator: ann}
        assert await atts.wait_for(3, frozenset({att.operator})) == {att.operator: att}
    assert anns.get("updates", 3) == {}
    assert atts.get(3) == {att.operator: att}
    assert [pair[0] for pair in atts.equivocations] == [att]
