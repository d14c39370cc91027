"""The blob protocol against lying, stalling and greedy peers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import trio
from libp2p.abc import INetStream

from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.net.blob import FOUND, HELD, PROTOCOL, HeldError
from p2pfl.net.errors import BlobUnavailableError
from p2pfl.net.stream import read_exactly
from tests.net.conftest import open_peers, random_blob


@pytest.mark.trio
async def test_wrong_bytes_are_refused_and_fetched_from_another_provider() -> None:
    async with open_peers(3) as (fetcher, liar, honest):
        data, digest = random_blob(300_000)
        liar.blobs.store.put(digest, os.urandom(len(data)))  # serves other bytes
        honest.blobs.store.put(digest, data)
        with pytest.raises(BlobUnavailableError, match="digest mismatch"):
            await fetcher.blobs.fetch(digest, [liar.net.peer_id], size=len(data), rounds=1)
        assert digest not in fetcher.blobs.store
        got = await fetcher.blobs.fetch(digest, [liar.net.peer_id, honest.net.peer_id])
        assert got == data
        assert fetcher.blobs.stats["fetch-digest-mismatch"] >= 1


@pytest.mark.trio
async def test_a_peer_that_stalls_mid_stream_is_dropped_for_the_next() -> None:
    async with open_peers(3, blob={"idle_timeout_s": 1.0}) as (fetcher, staller, honest):
        data, digest = random_blob(1_000_000)
        honest.blobs.store.put(digest, data)

        async def stall(stream: INetStream) -> None:
            await read_exactly(stream, 33, idle_timeout=5)
            await stream.write(bytes([FOUND]) + len(data).to_bytes(8, "big") + data[:100_000])
            await trio.sleep_forever()

        staller.net.host.set_stream_handler(PROTOCOL, stall)
        with trio.fail_after(10), pytest.raises(BlobUnavailableError, match="stalled"):
            await fetcher.blobs.fetch(digest, [staller.net.peer_id], size=len(data), rounds=1)
        with trio.fail_after(10):
            got = await fetcher.blobs.fetch(digest, [staller.net.peer_id, honest.net.peer_id])
        assert got == data


@pytest.mark.trio
async def test_sizes_beyond_the_limit_or_the_announcement_are_not_read() -> None:
    async with open_peers(2, blob={"max_bytes": 1_000_000}) as (fetcher, provider):
        big, big_digest = random_blob(1_500_000)
        provider.blobs.store.put(big_digest, big)
        with pytest.raises(BlobUnavailableError, match="offers 1500000 bytes"):
            await fetcher.blobs.fetch(big_digest, [provider.net.peer_id], rounds=1)
        with pytest.raises(BlobUnavailableError, match="announced size"):
            await fetcher.blobs.fetch(big_digest, [provider.net.peer_id], size=1_500_000)
        small, small_digest = random_blob(1000)
        provider.blobs.store.put(small_digest, small)
        with pytest.raises(BlobUnavailableError, match="offers 1000 bytes"):
            await fetcher.blobs.fetch(small_digest, [provider.net.peer_id], size=999, rounds=1)
        assert await fetcher.blobs.fetch(small_digest, [provider.net.peer_id]) == small


@pytest.mark.trio
async def test_corrupt_safetensors_fail_the_update_digest_check() -> None:
    """With DESIGN's update digest (keccak of the decoded int32 data), a provider that
    serves bytes which do not decode is a failed provider, not a crash."""
    spec = ModelSpec((("w", (1000,)),))
    update = Update(spec, np.arange(1000, dtype=np.int32))

    def digest_fn(blob: bytes) -> bytes:
        return Update.from_safetensors(blob, spec).digest

    async with open_peers(3, digest_fn=digest_fn) as (fetcher, corrupt, honest):
        good = update.to_safetensors()
        corrupt.blobs.store.put(update.digest, b"\xff" * 8 + good[8:])
        honest.blobs.store.put(update.digest, good)
        with pytest.raises(BlobUnavailableError, match="malformed blob"):
            await fetcher.blobs.fetch(update.digest, [corrupt.net.peer_id], rounds=1)
        got = await fetcher.blobs.fetch(update.digest, [corrupt.net.peer_id, honest.net.peer_id])
        assert got == good


@pytest.mark.trio
async def test_per_peer_serving_limit_answers_busy_and_the_fetcher_retries() -> None:
    async with open_peers(2, blob={"serve_per_peer": 1}) as (fetcher, provider):
        blobs = [random_blob(3_000_000) for _ in range(3)]
        for data, digest in blobs:
            provider.blobs.store.put(digest, data)
        got: dict[bytes, bytes] = {}
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for _, digest in blobs:

                    async def one(d: bytes = digest) -> None:
                        got[d] = await provider_fetch(d)

                    async def provider_fetch(d: bytes) -> bytes:
                        return await fetcher.blobs.fetch(d, [provider.net.peer_id], rounds=10)

                    nursery.start_soon(one)
        assert got == {d: data for data, d in blobs}
        assert provider.blobs.stats["serve-busy"] >= 1


def test_evicted_blobs_leave_memory_and_come_back_from_disk(tmp_path: Path) -> None:
    from p2pfl.net.blob import BlobStore

    store = BlobStore(tmp_path)
    a, b = os.urandom(32), os.urandom(32)
    store.put(a, b"alpha")
    store.put(b, b"beta")
    assert store.evict(keep={a}) == 1
    assert set(store._mem) == {a}  # only what was kept stays in memory
    assert store.get(b) == b"beta"  # read again from disk on demand
    memory_only = BlobStore()
    memory_only.put(a, b"alpha")
    assert memory_only.evict(keep=set()) == 0  # no disk copy: nothing may leave
    assert memory_only.get(a) == b"alpha"


@pytest.mark.trio
async def test_a_held_blob_is_refused_until_released_and_a_fetch_waits_for_it() -> None:
    """Commit-reveal on the wire: a blob the server holds back is answered ``held``
    (status 4), never its bytes, by whoever asks and however; once released, the
    waiting fetch gets it."""
    async with open_peers(2) as (fetcher, owner):
        data, digest = random_blob(200_000)
        owner.blobs.held.add(digest)
        owner.blobs.store.put(digest, data)
        stream = await fetcher.net.host.new_stream(owner.net.peer_id, [PROTOCOL])
        await stream.write(bytes([1]) + digest)
        assert await read_exactly(stream, 1, idle_timeout=5) == bytes([HELD])
        with pytest.raises(HeldError, match="not revealed"):
            await fetcher.blobs._fetch_from(owner.net.peer_id, digest, len(data))
        assert owner.blobs.stats["serve-held"] == 2

        async def reveal_later() -> None:
            await trio.sleep(1.0)
            owner.blobs.held.discard(digest)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reveal_later)
            got = await fetcher.blobs.fetch(digest, [owner.net.peer_id], size=len(data))
        assert got == data
        assert owner.blobs.stats["serve-held"] >= 3


@pytest.mark.trio
async def test_concurrent_fetches_of_one_blob_transfer_it_once() -> None:
    async with open_peers(2) as (fetcher, provider):
        data, digest = random_blob(500_000)
        provider.blobs.store.put(digest, data)
        got: list[bytes] = []

        async def one() -> None:
            got.append(await fetcher.blobs.fetch(digest, [provider.net.peer_id]))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                for _ in range(4):
                    nursery.start_soon(one)
        assert got == [data] * 4
        assert provider.blobs.stats["served"] == 1
        assert fetcher.blobs.stats["fetched"] == 1


@pytest.mark.trio
async def test_the_first_provider_is_asked_first() -> None:
    async with open_peers(4) as (fetcher, owner, *others):
        data, digest = random_blob(100_000)
        owner.blobs.store.put(digest, data)
        for _ in range(5):  # random order would ask one of the others first 2/3 of the time
            fetcher.blobs.store.prune(set(), -1.0)
            await fetcher.blobs.fetch(digest, [owner.net.peer_id, *(o.net.peer_id for o in others)])
        assert sum(o.blobs.stats["serve-not-found"] for o in others) == 0
        assert owner.blobs.stats["served"] == 5


@pytest.mark.trio
async def test_a_silent_provider_is_dropped_after_the_answer_timeout_and_asked_last() -> None:
    async with open_peers(4, blob={"answer_timeout_s": 1.0}) as (fetcher, empty, silent, honest):
        data, digest = random_blob(100_000)
        honest.blobs.store.put(digest, data)
        asked: list[int] = []

        async def say_nothing(stream: INetStream) -> None:  # alive to libp2p, mute to us
            asked.append(1)
            await read_exactly(stream, 33, idle_timeout=5)
            await trio.sleep_forever()

        silent.net.host.set_stream_handler(PROTOCOL, say_nothing)
        providers = [empty.net.peer_id, silent.net.peer_id, honest.net.peer_id]
        with trio.fail_after(4):  # the idle timeout (10 s) would not do
            while not asked:  # until the random order put the silent one before the honest
                fetcher.blobs.store.prune(set(), -1.0)
                assert await fetcher.blobs.fetch(digest, providers) == data
        for _ in range(6):  # asked after the honest one from now on: never again
            fetcher.blobs.store.prune(set(), -1.0)
            assert await fetcher.blobs.fetch(digest, providers) == data
        assert asked == [1]
        assert empty.blobs.stats["serve-not-found"] >= 7  # the first provider, asked first


@pytest.mark.trio
async def test_while_the_owner_holds_its_blob_nobody_else_is_asked() -> None:
    """Before its owner reveals it nobody else can have it: a fetch asks the owner again
    and again, never a (here: silent) other provider that would stall it."""
    async with open_peers(3) as (fetcher, owner, silent):
        data, digest = random_blob(100_000)
        owner.blobs.store.put(digest, data)
        owner.blobs.held.add(digest)
        asked: list[int] = []

        async def say_nothing(stream: INetStream) -> None:
            asked.append(1)
            await trio.sleep_forever()

        silent.net.host.set_stream_handler(PROTOCOL, say_nothing)
        got: list[bytes] = []

        async def fetch() -> None:
            got.append(await fetcher.blobs.fetch(digest, [owner.net.peer_id, silent.net.peer_id]))

        with trio.fail_after(5):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fetch)
                while owner.blobs.stats["serve-held"] < 3:  # asked again and again
                    await trio.sleep(0.05)
                owner.blobs.held.discard(digest)  # revealed
        assert got == [data]
        assert asked == []  # not once in the three or more rounds the owner held it
