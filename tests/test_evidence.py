"""The challenges' evidence: every piece proves against its root, and it shows exactly
what is wrong (a model leaf, a sketch row, a norm) and nothing when nothing is."""

from __future__ import annotations

import numpy as np
import pytest

from p2pfl import evidence, merkle
from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import squared_norm
from p2pfl.robust.sketch import count_sketch, sketch_plan

D = 40_000  # 3 chunks with entries, depth 10, a partial last leaf
SEED = b"\x07" * 32


def vec(rng: np.random.Generator, scale: int = 1 << 16, d: int = D) -> np.ndarray:
    return rng.integers(-scale, scale, size=d, dtype=np.int64).astype(np.int32)


def test_model_evidence_pins_the_wrong_leaf_and_proves_against_every_root() -> None:
    rng = np.random.default_rng(1)
    base = vec(rng)
    selected = [vec(rng) for _ in range(3)]
    honest = fixedpoint.step(base, selected)
    assert evidence.wrong_model_leaves(base, selected, honest) == []
    posted = honest.copy()
    posted[100] += 1  # leaf 1
    posted[D - 1] -= 1  # the last, partial leaf
    wrong = evidence.wrong_model_leaves(base, selected, posted)
    assert wrong == [1, (D - 1) // 64]
    depth = merkle.depth(D)
    hashes = merkle.leaf_hashes(posted)  # what the result posts: no model bytes needed
    assert evidence.wrong_model_leaves(base, selected, hashes) == wrong
    for leaf in wrong:
        ev = evidence.model_evidence(base, selected, hashes, leaf)
        assert ev == evidence.model_evidence(base, selected, posted, leaf)
        assert merkle.verify_leaf(merkle.root(base), leaf, ev.base.data, list(ev.base.proof), depth)
        posted_root = merkle.root_of_leaf_hashes(hashes, D)
        assert posted_root == merkle.root(posted)
        assert merkle.root_from_leaf(ev.model.hash, leaf, list(ev.model.proof)) == posted_root
        for q, s in zip(selected, ev.selected, strict=True):
            assert merkle.verify_leaf(merkle.root(q), leaf, s.data, list(s.proof), depth)

        # what the contract recomputes from the leaves does not hash to the posted leaf
        def entries(b: bytes) -> np.ndarray:
            return np.frombuffer(b, dtype="<i4").astype(np.int32)

        step = fixedpoint.step(entries(ev.base.data), [entries(s.data) for s in ev.selected])
        assert keccak256(fixedpoint.to_bytes(step)) != ev.model.hash
        assert len(ev.selected) * (256 + 32 * depth) + (256 + 32 * depth) + 32 * (depth + 1) < (
            128 * 1024
        )


def test_leaf_hashes_give_every_proof_and_the_root() -> None:
    rng = np.random.default_rng(2)
    q = vec(rng)
    hashes = merkle.leaf_hashes(q)
    assert len(hashes) == merkle.leaf_count(D)
    assert merkle.root_of_leaf_hashes(hashes, D) == merkle.root(q)
    for i in (0, 1, len(hashes) - 1, (1 << merkle.depth(D)) - 1):  # padding leaves too
        assert merkle.leaf_hash_proof(hashes, D, i) == merkle.leaf_proof(q, i)
    with pytest.raises(ValueError, match="leaf hashes"):
        merkle.root_of_leaf_hashes(hashes[:-1], D)
    with pytest.raises(ValueError, match="out of range"):
        merkle.leaf_hash_proof(hashes, D, 1 << merkle.depth(D))
    with pytest.raises(ValueError, match="posted leaf hashes"):
        evidence.wrong_model_leaves(q, [q], hashes[1:])


def test_a_model_of_another_size_is_refused() -> None:
    rng = np.random.default_rng(2)
    base = vec(rng, d=100)
    with pytest.raises(ValueError, match="99 entries, expected 100"):
        evidence.wrong_model_leaves(base, [base], base[:99])


def test_sketch_evidence_partials_sum_to_the_true_row_and_chunks_prove() -> None:
    rng = np.random.default_rng(3)
    q = vec(rng)
    plan = sketch_plan(SEED, D, 64)
    true = [int(x) for x in count_sketch(q, plan)]
    assert evidence.sketch_evidence(q, 2, true, SEED, 64) is None
    posted = list(true)
    posted[5] += 3
    ev = evidence.sketch_evidence(q, 2, posted, SEED, 64)
    assert ev is not None
    assert ev.row == 2
    assert list(ev.posted) == posted
    chunks = merkle.chunk_count(D)
    assert chunks == 4
    assert len(ev.partials) == chunks * 64
    assert [c.index for c in ev.chunks] == [0, 1, 2], "chunk 3 is padding only"
    assert not any(ev.partials[3 * 64 :])
    sums = np.asarray(ev.partials, dtype=np.int64).reshape(chunks, 64).sum(axis=0)
    assert [int(x) for x in sums] == true != posted
    root = merkle.root(q)
    for c in ev.chunks:
        assert merkle.verify_chunk(root, c.index, c.data, list(c.proof), merkle.depth(D))
        assert len(c.data) + 32 * len(c.proof) < 128 * 1024


def test_norm_evidence_takes_the_fewest_chunks_largest_first() -> None:
    rng = np.random.default_rng(4)
    q = vec(rng, scale=100)
    q[20_000:20_010] = 1 << 30  # chunk 1 carries the excess
    total = squared_norm(q)
    assert evidence.norm_evidence(q, total) == []  # at the bound: valid
    ev = evidence.norm_evidence(q, 10 * (1 << 60) - 1)
    assert [c.index for c in ev] == [1]
    ev = evidence.norm_evidence(q, total - 1)
    assert [c.index for c in ev][:1] == [1]
    assert len(ev) == 3  # every chunk with entries
    root = merkle.root(q)
    proven = 0
    for c in ev:
        assert merkle.verify_chunk(root, c.index, c.data, list(c.proof), merkle.depth(D))
        proven += squared_norm(merkle.chunk_entries(c.data, D, c.index))
    assert proven == total
