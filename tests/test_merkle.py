"""The Merkle root of DESIGN.md: the module against the shared vectors, an independent
reference, and adversarial proofs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from p2pfl import merkle
from p2pfl.hashing import keccak256
from p2pfl.robust.sketch import count_sketch, partial_sketch, sketch_plan
from tests.vectors import merkle_vectors

VECTORS = Path(__file__).resolve().parent / "vectors" / "merkle.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]


def unhex(s: str) -> bytes:
    return bytes.fromhex(s[2:])


def regenerate(case: dict[str, Any]) -> np.ndarray:
    return merkle_vectors.vector(unhex(case["seed"]), case["d"], case["overrides"])


def reference_root(q: np.ndarray) -> bytes:
    """The definition, spelled out: every one of the 2^D leaves hashed, then halved."""
    d = q.shape[0]
    n = -(-d // 64)
    D = 0
    while n > 1 << D:
        D += 1
    raw = b"".join(int(v).to_bytes(4, "little", signed=True) for v in q.tolist())
    raw = raw.ljust(256 << D, b"\0")
    level = [keccak256(raw[i : i + 256]) for i in range(0, len(raw), 256)]
    while len(level) > 1:
        level = [keccak256(level[j] + level[j + 1]) for j in range(0, len(level), 2)]
    return level[0]


def random_q(d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(-(2**31) + 1, 2**31, size=d, dtype=np.int64).astype(np.int32)


def test_committed_vectors_equal_the_generator() -> None:
    assert json.loads(VECTORS.read_text()) == json.loads(json.dumps(merkle_vectors.build()))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_vector_follows_the_definition(case: dict[str, Any]) -> None:
    q = regenerate(case)
    d, D = case["d"], case["D"]
    assert "0x" + keccak256(q.astype("<i4").tobytes()).hex() == case["vector_keccak"]
    assert merkle.depth(d) == D
    root = unhex(case["root"])
    assert reference_root(q) == root == merkle.root(q)
    for lp in case["leaf_proofs"]:
        leaf = unhex(lp["bytes"])
        proof = [unhex(x) for x in lp["proof"]]
        assert len(proof) == D
        assert keccak256(leaf) == unhex(lp["hash"])
        assert lp["padding"] == (leaf == bytes(256) and lp["index"] >= case["leaves"])
        assert merkle.verify_leaf(root, lp["index"], leaf, proof, D)
    h = case["chunk_height"]
    for cp in case["chunk_proofs"]:
        chunk = merkle.chunk_bytes(q, cp["index"])
        assert len(chunk) == 256 << h
        assert keccak256(chunk) == unhex(cp["bytes_keccak"])
        assert merkle.subtree_root(chunk) == unhex(cp["subtree_root"])
        proof = [unhex(x) for x in cp["proof"]]
        assert len(proof) == D - h
        assert merkle.verify_chunk(root, cp["index"], chunk, proof, D)


def test_vectors_cover_the_edge_cases() -> None:
    by_d = {c["d"]: c for c in CASES}
    assert by_d[1]["D"] == by_d[64]["D"] == 0
    assert by_d[65]["D"] == 1
    assert by_d[4096]["D"] == 6
    assert by_d[4096]["leaves"] == 64
    assert by_d[16_384]["D"] == 8
    assert len(by_d[16_384]["chunk_proofs"][0]["proof"]) == 0
    cnn = by_d[46_730]
    assert (cnn["D"], cnn["leaves"]) == (10, 731)
    assert {lp["index"] for lp in cnn["leaf_proofs"]} >= {0, 730, 731, 1023}
    assert {cp["index"] for cp in cnn["chunk_proofs"]} >= {0, 2, 3}
    assert all(v in {t[1] for t in cnn["overrides"]} for v in merkle_vectors.EXTREMES)


@pytest.mark.parametrize(
    ("d", "D"),
    [(1, 0), (64, 0), (65, 1), (128, 1), (129, 2), (4096, 6), (4097, 7), (46_730, 10)],
)
def test_depth(d: int, D: int) -> None:
    assert merkle.depth(d) == D


def test_zero_length_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one entry"):
        merkle.root(np.zeros(0, dtype=np.int32))
    with pytest.raises(ValueError, match="int32"):
        merkle.root(np.zeros(3, dtype=np.int64))


@pytest.mark.parametrize("d", [1, 63, 64, 65, 200, 4096, 16_385])
def test_root_equals_the_reference(d: int) -> None:
    q = random_q(d, d)
    assert merkle.root(q) == reference_root(q)


def test_single_leaf_root_is_its_hash() -> None:
    q = random_q(64)
    assert merkle.root(q) == keccak256(q.astype("<i4").tobytes())
    assert merkle.leaf_proof(q, 0) == []
    q1 = np.array([5], dtype=np.int32)
    assert merkle.root(q1) == keccak256(b"\x05" + bytes(255))


def test_every_leaf_of_a_small_tree_verifies_and_nothing_else() -> None:
    q = random_q(300, 1)  # 5 leaves, D = 3, leaves 5..7 are padding
    r, D = merkle.root(q), merkle.depth(300)
    assert D == 3
    for i in range(8):
        leaf, proof = merkle.leaf_bytes(q, i), merkle.leaf_proof(q, i)
        assert merkle.verify_leaf(r, i, leaf, proof, D)
        for j in range(8):
            # a proof binds the index: another index verifies only where the leaf and every
            # sibling coincide (two padding leaves under the same all-padding parent)
            same = merkle.leaf_bytes(q, j) == leaf and merkle.leaf_proof(q, j) == proof
            assert merkle.verify_leaf(r, j, leaf, proof, D) == same
    assert merkle.verify_leaf(r, 7, bytes(256), merkle.leaf_proof(q, 6), D)
    assert not merkle.verify_leaf(r, 5, bytes(256), merkle.leaf_proof(q, 6), D)
    assert merkle.leaf_bytes(q, 4)[44 * 4 :] == bytes(256 - 44 * 4)  # 300 = 4·64 + 44


def test_adversarial_leaf_proofs() -> None:
    d = 46_730
    q = random_q(d, 2)
    r, D = merkle.root(q), merkle.depth(d)
    i = 730  # the last leaf holding entries: 10 entries, then zeros
    leaf, proof = merkle.leaf_bytes(q, i), merkle.leaf_proof(q, i)
    assert merkle.verify_leaf(r, i, leaf, proof, D)
    assert not merkle.verify_leaf(r, i + 1, leaf, proof, D)  # wrong index
    assert not merkle.verify_leaf(r, i ^ 512, leaf, proof, D)  # wrong top bit
    assert not merkle.verify_leaf(r, i, leaf, proof[:-1], D)  # truncated proof
    assert not merkle.verify_leaf(r, i, leaf, proof[:-1], D - 1)  # truncated, depth agrees
    assert not merkle.verify_leaf(r, i, leaf, [*proof, proof[-1]], D + 1)  # extended
    assert not merkle.verify_leaf(r, i, leaf, proof, D + 1)  # depth mismatch
    assert not merkle.verify_leaf(r, i, leaf, proof, -1)
    assert not merkle.verify_leaf(r, 1 << D, leaf, proof, D)  # out of range
    assert not merkle.verify_leaf(r, -1, leaf, proof, D)
    assert not merkle.verify_leaf(r, i, leaf[:-1], proof, D)  # 255 bytes
    assert not merkle.verify_leaf(r, i, leaf + b"\0", proof, D)  # 257 bytes
    assert not merkle.verify_leaf(r, i, leaf.rstrip(b"\0"), proof, D)  # padding dropped
    bad = bytearray(leaf)
    bad[-1] ^= 1  # a non-zero byte in the padding
    assert not merkle.verify_leaf(r, i, bytes(bad), proof, D)
    bad = bytearray(leaf)
    bad[0] ^= 1
    assert not merkle.verify_leaf(r, i, bytes(bad), proof, D)  # wrong leaf
    for k in range(D):
        flipped = list(proof)
        flipped[k] = bytes([flipped[k][0] ^ 1]) + flipped[k][1:]
        assert not merkle.verify_leaf(r, i, leaf, flipped, D)
    assert not merkle.verify_leaf(r, i, leaf, [p[:31] for p in proof], D)
    # a padding leaf is provable, and only as 256 zero bytes
    pad = merkle.leaf_proof(q, 900)
    assert merkle.verify_leaf(r, 900, bytes(256), pad, D)
    assert not merkle.verify_leaf(r, 900, b"\1" + bytes(255), pad, D)
    with pytest.raises(ValueError, match="out of range"):
        merkle.leaf_proof(q, 1 << D)


def test_a_leaf_does_not_pass_as_a_node() -> None:
    """Second-preimage shape: an inner node's 64 bytes are not a 256-byte leaf."""
    q = random_q(300, 3)
    levels = merkle.tree(q)
    node_pair = levels[0][0] + levels[0][1]
    assert not merkle.verify_leaf(merkle.root(q), 0, node_pair, merkle.leaf_proof(q, 0)[1:], 2)


def test_chunks_of_the_cnn() -> None:
    d = 46_730
    q = random_q(d, 4)
    r, D = merkle.root(q), merkle.depth(d)
    assert merkle.chunk_count(d) == 4
    for c in range(4):
        chunk, proof = merkle.chunk_bytes(q, c), merkle.chunk_proof(q, c)
        assert len(chunk) == merkle.CHUNK_BYTES
        assert len(proof) == 2
        assert merkle.verify_chunk(r, c, chunk, proof, D)
        assert not merkle.verify_chunk(r, c ^ 1, chunk, proof, D)
        assert not merkle.verify_chunk(r, c, chunk, proof[:1], D)
        assert not merkle.verify_chunk(r, c, chunk, proof, D + 1)
        assert not merkle.verify_chunk(r, c, chunk[:-256], proof, D)
        assert not merkle.verify_chunk(r, 4, chunk, proof, D)
    last = merkle.chunk_bytes(q, 2)  # entries 32,768 .. 46,729, then zeros
    assert last[(d - 2 * 16_384) * 4 :] == bytes(merkle.CHUNK_BYTES - (d - 32_768) * 4)
    assert merkle.chunk_bytes(q, 3) == bytes(merkle.CHUNK_BYTES)
    assert merkle.padding_is_zero(d, 2 * merkle.CHUNK_BYTES, last)
    bad = bytearray(last)
    bad[-1] = 1
    assert not merkle.padding_is_zero(d, 2 * merkle.CHUNK_BYTES, bytes(bad))
    # a chunk and a leaf proof agree: chunk c's root is the node over its 256 leaves
    assert merkle.subtree_root(merkle.chunk_bytes(q, 1)) == merkle.tree(q)[8][1]
    with pytest.raises(ValueError, match="out of range"):
        merkle.chunk_proof(q, 4)


@pytest.mark.parametrize("d", [1, 64, 65, 4096, 16_384])
def test_small_tree_is_one_chunk(d: int) -> None:
    """D < 8: the only chunk is the whole tree (2^D leaves), proven by no hash."""
    q = random_q(d, 5)
    D = merkle.depth(d)
    assert merkle.chunk_count(d) == 1
    chunk = merkle.chunk_bytes(q, 0)
    assert len(chunk) == 256 << D
    assert merkle.chunk_proof(q, 0) == []
    assert merkle.subtree_root(chunk) == merkle.root(q)
    assert merkle.verify_chunk(merkle.root(q), 0, chunk, [], D)
    assert not merkle.verify_chunk(merkle.root(q), 1, chunk, [], D)
    # padded to 64 KiB it is another tree (unless D = 8 already)
    if D < 8:
        assert not merkle.verify_chunk(merkle.root(q), 0, chunk.ljust(65_536, b"\0"), [], D)


def test_partial_sketches_sum_to_the_sketch() -> None:
    d = 46_730
    q = random_q(d, 6)
    plan = sketch_plan(keccak256(b"seed"), d, 64)
    parts = [partial_sketch(merkle.chunk_bytes(q, c), c, plan) for c in range(4)]
    assert np.array_equal(sum(parts), count_sketch(q, plan))
    assert not parts[3].any()  # all padding
    # linearity: the partial sketch of a sum is the sum of the partial sketches
    a, b = random_q(d, 7) // 2, random_q(d, 8) // 2
    for c in range(3):
        pa = partial_sketch(merkle.chunk_bytes(a, c), c, plan)
        pb = partial_sketch(merkle.chunk_bytes(b, c), c, plan)
        pab = partial_sketch(merkle.chunk_bytes(a + b, c), c, plan)
        assert np.array_equal(pa + pb, pab)


def test_partial_sketch_of_a_single_chunk_vector() -> None:
    q = random_q(100, 9)
    plan = sketch_plan(keccak256(b"seed2"), 100, 16)
    chunk = merkle.chunk_bytes(q, 0)  # D = 1: 2 leaves
    assert np.array_equal(partial_sketch(chunk, 0, plan), count_sketch(q, plan))


def test_blocks_must_be_whole() -> None:
    data = random_q(64 * 37, 10).tobytes()
    with pytest.raises(ValueError, match="blocks of"):
        merkle._keccak_blocks(data[:-1], 64)
