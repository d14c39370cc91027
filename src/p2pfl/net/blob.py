"""``/p2pfl/blob/1``: content-addressed blob exchange over libp2p streams.

Request: one version byte (1) and the 32-byte digest. Response: a status byte
(0 found, 1 not found, 2 busy, 3 bad request, 4 held: the blob exists but is not revealed
yet, an update whose epoch's commit phase is still open) and, when found, the size as a
big-endian uint64 followed by exactly that many bytes. The fetcher checks the size against its limit
and the announced size before reading, reads with an idle and a total timeout, checks
the digest, and on any failure tries the next peer that announced the same digest.
What a digest means is the caller's: the update digest of DESIGN.md is keccak256 of the
decoded int32 data, not of the safetensors bytes, so the check is a parameter.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID

from p2pfl.hashing import keccak256
from p2pfl.net.config import BlobConfig
from p2pfl.net.errors import BlobUnavailableError, NetError
from p2pfl.net.stream import SerialWriter, read_exactly, request

log = logging.getLogger(__name__)

PROTOCOL = TProtocol("/p2pfl/blob/1")
VERSION = 1
FOUND, NOT_FOUND, BUSY, BAD_REQUEST, HELD = 0, 1, 2, 3, 4
_STATUS = {
    NOT_FOUND: "not found",
    BUSY: "busy",
    BAD_REQUEST: "bad request",
    HELD: "held: not revealed before the epoch's commit phase closes",
}
DROP_S = 2.0  # the longest wait for a dead connection to close
SUSPECT_S = 30.0  # a provider that failed within this long is asked after the others
HELD_WAIT_S = 10.0  # how long a fetch keeps asking a peer that holds the blob back


class HeldError(NetError):
    """The peer has the blob but does not serve it yet (commit-reveal)."""


class RefusedError(NetError):
    """The peer answered: it does not have the blob, or is busy (it is alive)."""


DigestFn = Callable[[bytes], bytes]
"""Maps blob bytes to their digest; raising means the bytes are malformed."""


class BlobStore:
    """Blobs by digest, in memory and (when ``root`` is set) on disk, written atomically
    so a crash never leaves a partial blob under its digest's name."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._mem: dict[bytes, bytes] = {}
        self._added: dict[bytes, float] = {}  # wall-clock time a blob entered memory
        if root is not None:
            root.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: bytes) -> Path:
        assert self._root is not None
        return self._root / digest.hex()

    def put(self, digest: bytes, data: bytes) -> None:
        self._mem[digest] = data
        self._added.setdefault(digest, time.time())
        if self._root is not None and not self._path(digest).exists():
            tmp = self._path(digest).with_suffix(".part")
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._path(digest))

    def get(self, digest: bytes) -> bytes | None:
        data = self._mem.get(digest)
        if data is None and self._root is not None and self._path(digest).exists():
            data = self._path(digest).read_bytes()
            self._mem[digest] = data
            self._added.setdefault(digest, time.time())
        return data

    def evict(self, keep: set[bytes]) -> int:
        """Drop from memory every blob not in ``keep`` (a disk copy stays and is read
        again on demand). Returns how many left memory."""
        if self._root is None:
            return 0  # memory is the only copy
        gone = [d for d in self._mem if d not in keep]
        for digest in gone:
            del self._mem[digest]
        return len(gone)

    def __contains__(self, digest: bytes) -> bool:
        return self.get(digest) is not None

    def prune(self, keep: set[bytes], older_than_s: float) -> int:
        """Forget every blob not in ``keep`` that is older than ``older_than_s`` seconds
        (in memory: since it was stored or read; on disk: by modification time, which
        covers blobs of an earlier run). Returns how many were removed."""
        cutoff = time.time() - older_than_s
        gone = {d for d, t in self._added.items() if t < cutoff and d not in keep}
        for digest in gone:
            self._mem.pop(digest, None)
            self._added.pop(digest, None)
            if self._root is not None:
                self._path(digest).unlink(missing_ok=True)
        if self._root is not None:
            for path in self._root.iterdir():
                try:
                    digest = bytes.fromhex(path.name)
                except ValueError:
                    continue  # a ".part" file or something else: not ours to judge
                if digest in keep or digest in self._added:
                    continue
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
                    gone.add(digest)
        return len(gone)


class BlobService:
    """Serves the store's blobs to peers and fetches blobs from them."""

    def __init__(
        self,
        host: IHost,
        store: BlobStore,
        cfg: BlobConfig,
        *,
        digest_fn: DigestFn = keccak256,
        connect: Callable[[ID], Awaitable[None]] | None = None,
        held: Iterable[bytes] = (),
    ) -> None:
        self.host = host
        # Blobs in the store that are not served yet: this node's update of an epoch
        # whose commit phase is open (commit-reveal). Given at construction, so a
        # restarted node never serves one before it knows the phase.
        self.held: set[bytes] = set(held)
        self.store = store
        self.cfg = cfg
        self.digest_fn = digest_fn
        self._connect = connect
        self._serving: Counter[ID] = Counter()
        self._fetch_slots: dict[ID, trio.Semaphore] = defaultdict(
            lambda: trio.Semaphore(cfg.fetch_per_peer)
        )
        self.stats: Counter[str] = Counter()
        self._inflight: dict[bytes, trio.Event] = {}  # digest -> set when that fetch ends
        self._failed_at: dict[ID, float] = {}  # provider -> when a fetch from it last failed
        host.set_stream_handler(PROTOCOL, self._handle)

    # -- serving -------------------------------------------------------------------
    async def _handle(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        busy = (
            self._serving[peer] >= self.cfg.serve_per_peer
            or sum(self._serving.values()) >= self.cfg.serve_total
        )
        self._serving[peer] += 1
        try:
            with trio.move_on_after(self.cfg.transfer_timeout(self.cfg.max_bytes)) as scope:
                await self._serve(stream, busy)
            if scope.cancelled_caught:
                self.stats["serve-timeout"] += 1
                await stream.reset()
        except Exception as exc:  # one bad peer must not disturb the host
            self.stats["serve-error"] += 1
            log.info("blob request from %s failed: %s", peer, exc)
            try:
                await stream.reset()
            except Exception:
                log.debug("stream reset failed", exc_info=True)
        finally:
            self._serving[peer] -= 1
            if self._serving[peer] <= 0:
                del self._serving[peer]

    async def _serve(self, stream: INetStream, busy: bool) -> None:
        request = await read_exactly(stream, 33, idle_timeout=self.cfg.idle_timeout_s)
        writer = SerialWriter(stream, self.cfg.chunk_bytes)
        if request[0] != VERSION:
            self.stats["serve-bad-request"] += 1
            await writer.write(bytes([BAD_REQUEST]))
        elif busy:
            self.stats["serve-busy"] += 1
            await writer.write(bytes([BUSY]))
        elif request[1:] in self.held:
            self.stats["serve-held"] += 1
            await writer.write(bytes([HELD]))
        else:
            data = self.store.get(request[1:])
            if data is None:
                self.stats["serve-not-found"] += 1
                await writer.write(bytes([NOT_FOUND]))
            else:
                await writer.write(bytes([FOUND]) + len(data).to_bytes(8, "big"))
                await writer.write(data)
                self.stats["served"] += 1
                self.stats["served-bytes"] += len(data)
        await stream.close()

    # -- fetching ------------------------------------------------------------------
    async def fetch(
        self,
        digest: bytes,
        providers: Sequence[ID],
        *,
        size: int | None = None,
        rounds: int = 3,
    ) -> bytes:
        """The blob ``digest`` from the store or from one of ``providers`` (the first, its
        owner or announcer, first; the others in random order, each round; a busy or
        failing peer is skipped). One fetch per digest at a time: a second caller waits
        for the first one's bytes (and fetches itself only if that one failed).
        BlobUnavailableError when no provider delivers matching bytes."""
        while (running := self._inflight.get(digest)) is not None:
            await running.wait()
        have = self.store.get(digest)
        if have is not None:
            return have
        done = self._inflight[digest] = trio.Event()
        try:
            return await self._fetch(digest, providers, size, rounds)
        finally:
            del self._inflight[digest]
            done.set()

    async def _fetch(
        self, digest: bytes, providers: Sequence[ID], size: int | None, rounds: int
    ) -> bytes:
        if size is not None and size > self.cfg.max_bytes:
            raise BlobUnavailableError(
                f"announced size {size} exceeds the limit {self.cfg.max_bytes}"
            )
        failures: list[str] = []
        me = self.host.get_id()
        first = [p for p in providers[:1] if p != me]
        others = [p for p in dict.fromkeys(providers[1:]) if p != me and p not in first]
        held_until = trio.current_time() + HELD_WAIT_S
        attempt = 0
        while attempt < rounds:
            random.shuffle(others)
            now = trio.current_time()
            # (a stable sort: the shuffled order among peers that did not fail lately)
            others.sort(key=lambda p: now - self._failed_at.get(p, -math.inf) < SUSPECT_S)
            peers = first + others
            held = False
            for peer in peers:
                try:
                    async with self._fetch_slots[peer]:
                        data = await self._fetch_from(peer, digest, size)
                except HeldError as exc:
                    held = True
                    failures.append(f"{peer}: {exc}")
                    if trio.current_time() < held_until:
                        break  # nobody has it before its owner reveals it: ask the owner again
                    continue
                except NetError as exc:
                    self.stats["fetch-failed"] += 1
                    if not isinstance(exc, RefusedError):  # silent, slow or lying
                        self._failed_at[peer] = trio.current_time()
                    failures.append(f"{peer}: {exc}")
                    log.info("blob %s from %s: %s", digest.hex()[:12], peer, exc)
                    continue
                self.store.put(digest, data)
                self.stats["fetched"] += 1
                self.stats["fetched-bytes"] += len(data)
                return data
            if held and trio.current_time() < held_until:
                # its owner reveals it once the commit phase closes: ask again soon
                await trio.sleep(0.25)
                continue
            attempt += 1
            if attempt < rounds:
                await trio.sleep(0.2 * 2 ** (attempt - 1))
        raise BlobUnavailableError(
            f"blob {digest.hex()} unavailable: " + ("; ".join(failures[-4:]) or "no providers")
        )

    async def _drop(self, peer: ID) -> None:
        """Close every connection to ``peer`` (one that did not open a stream in time:
        after a partition it may still look alive, and streams on it go nowhere)."""
        self.stats["dropped-connections"] += 1
        with trio.move_on_after(DROP_S):
            try:
                await self.host.disconnect(peer)
            except Exception as exc:
                log.info("closing the connection to %s failed: %s", peer, exc)

    async def _fetch_from(self, peer: ID, digest: bytes, size: int | None) -> bytes:
        if self._connect is not None:
            await self._connect(peer)
        cfg = self.cfg
        limit = size if size is not None else cfg.max_bytes
        with trio.move_on_after(cfg.transfer_timeout(limit)) as scope:
            with trio.move_on_after(cfg.answer_timeout_s) as opening:
                try:
                    stream = await self.host.new_stream(peer, [PROTOCOL])
                except Exception as exc:
                    raise NetError(f"cannot open a blob stream: {exc}") from None
            if opening.cancelled_caught:  # a connection that looks alive and is not
                await self._drop(peer)  # the next attempt dials afresh
                raise NetError(f"no stream within {cfg.answer_timeout_s:g} s")

            async def answer(stream: INetStream) -> bytes:
                status = (await read_exactly(stream, 1, idle_timeout=cfg.answer_timeout_s))[0]
                if status == HELD:
                    raise HeldError(_STATUS[HELD])
                if status != FOUND:
                    raise RefusedError(_STATUS.get(status, f"unknown status {status}"))
                length = int.from_bytes(
                    await read_exactly(stream, 8, idle_timeout=cfg.idle_timeout_s), "big"
                )
                if length > cfg.max_bytes or (size is not None and length != size):
                    raise NetError(f"offers {length} bytes, expected {size or '<='} {limit}")
                return await read_exactly(
                    stream, length, idle_timeout=cfg.idle_timeout_s, chunk=cfg.chunk_bytes
                )

            data = await request(stream, bytes([VERSION]) + digest, answer, "transfer")
        if scope.cancelled_caught:
            raise NetError("transfer timed out")
        try:
            actual = self.digest_fn(data)
        except Exception as exc:
            self.stats["fetch-malformed"] += 1
            raise NetError(f"malformed blob: {exc}") from None
        if actual != digest:
            self.stats["fetch-digest-mismatch"] += 1
            raise NetError(f"digest mismatch: got {actual.hex()}")
        return data
