"""Attestation sync, ``/p2pfl/attest/1``: ask a peer for the availability attestations
it holds of one epoch.

Gossipsub keeps no history: a node that restarted, or joined an epoch, after its
attestations were gossiped never sees them, and without them it can neither check an
exclusion nor challenge one (``challengeExclusion`` needs the attestations themselves).

Request: a version byte, then the epoch (8 bytes, big-endian). Answer: a count (2 bytes,
at most :data:`MAX_COUNT`), then per attestation its length (2 bytes, at most the board's
``max_bytes``) and its bytes as gossiped. The answering peer is trusted for nothing:
every attestation is signed by its operator (EIP-712), and the asker admits each one
through its board's own checks, exactly as if it had come by gossip
(:meth:`~p2pfl.net.attestations.AttestationBoard.admit`). A peer answers only for the
epochs its board has joined (others: an empty answer), at most :data:`SERVE_TOTAL`
requests at a time.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from p2pfl.net.attestations import AttestationBoard
from p2pfl.net.errors import AnnouncementError, NetError
from p2pfl.net.stream import SerialWriter, read_exactly, request, reset_quietly

log = logging.getLogger(__name__)

PROTOCOL = TProtocol("/p2pfl/attest/1")
VERSION = 1
MAX_COUNT = 256  # a heldMask covers at most 256 committed operators
SERVE_TOTAL = 8  # requests answered at once; more are reset
ANSWER_TIMEOUT_S = 3.0  # to open a stream, or between any two reads of an answer


def encode_request(epoch: int) -> bytes:
    return bytes([VERSION]) + epoch.to_bytes(8, "big")


def encode_answer(attestations: Sequence[bytes]) -> bytes:
    if len(attestations) > MAX_COUNT:
        raise ValueError(f"{len(attestations)} attestations: at most {MAX_COUNT}")
    out = [len(attestations).to_bytes(2, "big")]
    for data in attestations:
        out += [len(data).to_bytes(2, "big"), data]
    return b"".join(out)


async def read_answer(stream: INetStream, max_bytes: int) -> list[bytes]:
    """The attestations' bytes of one answer; NetError on a malformed one (too many, too
    long, cut short, stalled)."""
    count = int.from_bytes(await read_exactly(stream, 2, idle_timeout=ANSWER_TIMEOUT_S), "big")
    if count > MAX_COUNT:
        raise NetError(f"offers {count} attestations, at most {MAX_COUNT}")
    out = []
    for _ in range(count):
        size = int.from_bytes(await read_exactly(stream, 2, idle_timeout=ANSWER_TIMEOUT_S), "big")
        if size > max_bytes:
            raise NetError(f"an attestation of {size} bytes, at most {max_bytes}")
        out.append(await read_exactly(stream, size, idle_timeout=ANSWER_TIMEOUT_S))
    return out


class AttestationSync:
    """Answers other peers' requests from ``board``, and asks peers for what it lacks."""

    def __init__(
        self,
        host: IHost,
        board: AttestationBoard,
        *,
        connect: Callable[[ID], Awaitable[None]] | None = None,
    ) -> None:
        self.host = host
        self.board = board
        self._connect = connect
        self._serving = 0
        self.stats: Counter[str] = Counter()
        host.set_stream_handler(PROTOCOL, self._handle)

    # -- answering -----------------------------------------------------------------
    async def _handle(self, stream: INetStream) -> None:
        if self._serving >= SERVE_TOTAL:
            self.stats["serve-busy"] += 1
            await reset_quietly(stream)
            return
        self._serving += 1
        try:
            with trio.move_on_after(2 * ANSWER_TIMEOUT_S) as scope:
                await self._answer(stream)
            if scope.cancelled_caught:
                self.stats["serve-timeout"] += 1
                await reset_quietly(stream)
        except Exception as exc:  # one bad peer must not disturb the host
            self.stats["serve-error"] += 1
            log.info("attestation request from %s failed: %s", stream.muxed_conn.peer_id, exc)
            await reset_quietly(stream)
        finally:
            self._serving -= 1

    async def _answer(self, stream: INetStream) -> None:
        request = await read_exactly(stream, 9, idle_timeout=ANSWER_TIMEOUT_S)
        if request[0] != VERSION:
            self.stats["serve-bad-request"] += 1
            await reset_quietly(stream)
            return
        epoch = int.from_bytes(request[1:], "big")
        held = self.board.get(epoch)  # empty unless joined: leaving forgets an epoch
        await SerialWriter(stream).write(encode_answer([a.encode() for a in held.values()]))
        self.stats["served"] += 1
        await stream.close()

    # -- asking --------------------------------------------------------------------
    async def fetch(self, peer: ID, epoch: int) -> list[bytes]:
        """The bytes of every attestation of ``epoch`` that ``peer`` holds (unchecked);
        NetError if it cannot be asked or its answer is malformed."""
        if self._connect is not None:
            await self._connect(peer)
        with trio.move_on_after(ANSWER_TIMEOUT_S) as opening:
            try:
                stream = await self.host.new_stream(peer, [PROTOCOL])
            except Exception as exc:
                raise NetError(f"cannot open an attestation stream: {exc}") from None
        if opening.cancelled_caught:
            raise NetError(f"no stream within {ANSWER_TIMEOUT_S:g} s")
        max_bytes = self.board.max_bytes
        return await request(
            stream,
            encode_request(epoch),
            lambda s: read_answer(s, max_bytes),
            "attestation request",
        )

    async def sync(
        self, epoch: int, peers: Sequence[ID], *, enough: Callable[[], bool], ask: int = 3
    ) -> int:
        """Ask up to ``ask`` of ``peers`` (random order) for ``epoch``'s attestations until
        ``enough()`` holds, admitting each through the board's checks. Returns how many
        were new; a refused attestation or a failing peer is counted and skipped."""
        order = [p for p in peers if p != self.host.get_id()]
        random.shuffle(order)
        new = 0
        for peer in order[:ask]:
            if enough():
                break
            try:
                answer = await self.fetch(peer, epoch)
            except NetError as exc:
                self.stats["fetch-failed"] += 1
                log.info("attestations of epoch %d from %s: %s", epoch, peer, exc)
                continue
            for data in answer:
                try:
                    if self.board.admit(data) is not None:
                        new += 1
                except AnnouncementError as exc:
                    self.stats["fetch-refused"] += 1
                    log.info("attestation from %s refused: %s", peer, exc)
        self.stats["synced"] += new
        return new
