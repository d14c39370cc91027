"""The blob store's retention: old blobs leave memory and disk, kept ones stay."""

from __future__ import annotations

import os
import time
from pathlib import Path

from p2pfl.hashing import keccak256
from p2pfl.net.blob import BlobStore


def _blob(i: int) -> tuple[bytes, bytes]:
    data = f"blob {i}".encode() * 100
    return keccak256(data), data


def test_prune_forgets_old_blobs_but_keeps_the_kept_and_the_fresh(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    (old, old_data), (kept, kept_data), (fresh, fresh_data) = _blob(0), _blob(1), _blob(2)
    store.put(old, old_data)
    store.put(kept, kept_data)
    long_ago = time.time() - 3600
    store._added[old] = store._added[kept] = long_ago  # stored an hour ago
    store.put(fresh, fresh_data)
    assert store.prune(keep={kept}, older_than_s=600) == 1
    assert old not in store
    assert not (tmp_path / old.hex()).exists()
    assert store.get(kept) == kept_data
    assert store.get(fresh) == fresh_data


def test_prune_covers_files_left_by_an_earlier_run(tmp_path: Path) -> None:
    first = BlobStore(tmp_path)
    (a, a_data), (b, b_data) = _blob(3), _blob(4)
    first.put(a, a_data)
    first.put(b, b_data)
    long_ago = time.time() - 3600
    os.utime(tmp_path / a.hex(), (long_ago, long_ago))
    (tmp_path / "notes.part").write_text("not a blob name")
    again = BlobStore(tmp_path)  # a restart: nothing in memory yet
    assert again.prune(keep=set(), older_than_s=600) == 1
    assert not (tmp_path / a.hex()).exists()
    assert again.get(b) == b_data
    assert (tmp_path / "notes.part").exists()
