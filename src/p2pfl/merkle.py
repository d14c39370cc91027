"""The Root of DESIGN.md: a fixed-depth keccak Merkle tree over 256-byte leaves.

The little-endian bytes of a vector of ``d`` int32 are cut into 256-byte **leaves** (64
entries each, the last one zero-padded). They are the first leaves of a binary tree of
fixed depth ``D = ceil(log2(ceil(d / 64)))``, filled up to ``2^D`` leaves with **padding
leaves** of 256 zero bytes. A leaf's hash is ``keccak256(leaf bytes)`` (a padding leaf
hashes like any other), a node's is ``keccak256(left || right)``. A leaf's proof is the
``D`` sibling hashes from the bottom up; leaf ``i`` is the left child at level ``l`` iff
bit ``l`` of ``i`` is 0.

A **chunk** is an aligned subtree of height ``h = min(D, 8)``: chunk ``c`` holds leaves
``c * 2^h .. (c + 1) * 2^h - 1`` (padding leaves included), ``256 * 2^h`` bytes, and is
proven by ``D - h`` hashes. With ``D >= 8`` a chunk is 2^8 leaves (16,384 entries, 64
KiB); with ``D < 8`` the whole tree is the only chunk (index 0, empty proof, its root is
the tree's root).

Edge cases (the Solidity library ``contracts/src/avs/MerkleRoot.sol`` follows the same
rules; ``tests/vectors/merkle.json`` covers them):

- ``d = 0`` is refused; ``d <= 64`` gives ``D = 0``: the root is the single leaf's hash
  and a proof is empty.
- ``d = 64 * 2^D`` fills the tree exactly: no padding leaf, the last leaf is full.
- Every index below ``2^D`` is provable, padding leaves included (their bytes are 256
  zeros). Indices at or above ``2^D`` are out of range.
- The tree does not bind ``d``: a root with non-zero bytes past entry ``d`` is the root of
  no ``d``-vector. A verifier that knows ``d`` checks that a proven leaf or chunk is zero
  past ``d`` (``padding_is_zero``).

Provers (``leaf_proof``, ``chunk_proof``) raise ``ValueError`` on an index out of range;
verifiers (``verify_leaf``, ``verify_chunk``) return ``False`` on any malformed input
(wrong length of leaf, chunk or proof, index out of range, negative depth), never raise.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from p2pfl.hashing import keccak256

LEAF_BYTES = 256
LEAF_ENTRIES = LEAF_BYTES // 4  # 64 int32
CHUNK_HEIGHT = 8
CHUNK_LEAVES = 1 << CHUNK_HEIGHT  # 256
CHUNK_ENTRIES = CHUNK_LEAVES * LEAF_ENTRIES  # 16,384
CHUNK_BYTES = CHUNK_LEAVES * LEAF_BYTES  # 64 KiB
MAX_DEPTH = 64  # far beyond any vector; bounds the padding table

Hash = bytes


def _zero_hashes(levels: int) -> list[Hash]:
    """``Z[l]``: the root of a subtree of height ``l`` made of padding leaves only."""
    z = [keccak256(bytes(LEAF_BYTES))]
    for _ in range(levels):
        z.append(keccak256(z[-1] + z[-1]))
    return z


ZERO = _zero_hashes(MAX_DEPTH)


def leaf_count(d: int) -> int:
    """Leaves that hold entries: ``ceil(d / 64)``."""
    if d < 1:
        raise ValueError(f"a vector needs at least one entry, got d = {d}")
    return -(-d // LEAF_ENTRIES)


def depth(d: int) -> int:
    """``D = ceil(log2(ceil(d / 64)))``; 0 for ``d <= 64``."""
    return (leaf_count(d) - 1).bit_length()


def chunk_height(D: int) -> int:
    """Height of a chunk in a tree of depth ``D``: 8, or the whole tree when ``D < 8``."""
    return min(D, CHUNK_HEIGHT)


def chunk_count(d: int) -> int:
    """Chunks of the padded tree: ``2^(D - h)`` (the last ones may be all padding)."""
    D = depth(d)
    return 1 << (D - chunk_height(D))


def _as_bytes(q: NDArray[np.integer]) -> bytes:
    q = np.asarray(q)
    if q.ndim != 1 or q.dtype != np.int32:
        raise ValueError(f"expected a 1-d int32 vector, got {q.dtype} of shape {q.shape}")
    leaf_count(q.shape[0])
    raw = q.astype("<i4", copy=False).tobytes()
    return raw + bytes(-len(raw) % LEAF_BYTES)


def leaves(q: NDArray[np.int32]) -> list[bytes]:
    """The ``ceil(d / 64)`` leaves holding entries, the last one zero-padded (no padding
    leaves: those are 256 zero bytes each)."""
    raw = _as_bytes(q)
    return [raw[i : i + LEAF_BYTES] for i in range(0, len(raw), LEAF_BYTES)]


def _blocks_portable(data: bytes, size: int) -> list[Hash]:
    if len(data) % size:
        raise ValueError(f"{len(data)} bytes are not blocks of {size}")
    view = memoryview(data)
    return [keccak256(view[i : i + size]) for i in range(0, len(data), size)]


_keccak_blocks = _blocks_portable


def _hash_leaves(raw: bytes) -> list[Hash]:
    return _keccak_blocks(raw, LEAF_BYTES)


def _reduce(level: list[Hash], height: int, start: int = 0) -> list[list[Hash]]:
    """Levels ``start .. start + height`` above ``level`` (missing right nodes are padding)."""
    levels = [level]
    for lv in range(start, start + height):
        if len(level) % 2:
            level = [*level, ZERO[lv]]
        level = _keccak_blocks(b"".join(level), 64)
        levels.append(level)
    return levels


def tree(q: NDArray[np.int32]) -> list[list[Hash]]:
    """Every level from the leaf hashes (level 0) to the root (level D); each level lists
    only the nodes that cover at least one entry, the rest are ``ZERO[level]``."""
    raw = _as_bytes(q)
    return _reduce(_hash_leaves(raw), depth(q.shape[0]))


def root(q: NDArray[np.int32]) -> Hash:
    return tree(q)[-1][0]


def leaf_hashes(q: NDArray[np.int32]) -> list[Hash]:
    """The hashes of the ``ceil(d / 64)`` leaves that hold entries (what a result posts
    with its model root, so that anyone can prove any leaf of it)."""
    return _hash_leaves(_as_bytes(q))


def _hash_tree(hashes: list[Hash], d: int) -> list[list[Hash]]:
    if len(hashes) != leaf_count(d) or any(len(h) != 32 for h in hashes):
        raise ValueError(f"expected {leaf_count(d)} leaf hashes of 32 bytes for d = {d}")
    return _reduce(list(hashes), depth(d))


def root_of_leaf_hashes(hashes: list[Hash], d: int) -> Hash:
    """The root of the ``d``-vector whose live leaves hash to ``hashes`` (padding leaves
    are added as in :func:`tree`)."""
    return _hash_tree(hashes, d)[-1][0]


def leaf_hash_proof(hashes: list[Hash], d: int, i: int) -> list[Hash]:
    """Leaf ``i``'s proof from the live leaves' hashes alone (no leaf bytes needed)."""
    levels = _hash_tree(hashes, d)
    D = len(levels) - 1
    if not 0 <= i < 1 << D:
        raise ValueError(f"leaf {i} out of range for a tree of depth {D}")
    return _path(levels, i, 0)


def _path(levels: list[list[Hash]], index: int, start: int) -> list[Hash]:
    proof = []
    for lv, nodes in enumerate(levels[start:-1], start):
        sibling = (index >> (lv - start)) ^ 1
        proof.append(nodes[sibling] if sibling < len(nodes) else ZERO[lv])
    return proof


def leaf_proof(q: NDArray[np.int32], i: int) -> list[Hash]:
    """The ``D`` sibling hashes of leaf ``i`` (``0 <= i < 2^D``), bottom up."""
    levels = tree(q)
    D = len(levels) - 1
    if not 0 <= i < 1 << D:
        raise ValueError(f"leaf {i} out of range for a tree of depth {D}")
    return _path(levels, i, 0)


def leaf_bytes(q: NDArray[np.int32], i: int) -> bytes:
    """Leaf ``i``'s 256 bytes, padding leaves included."""
    D = depth(np.asarray(q).shape[0])
    if not 0 <= i < 1 << D:
        raise ValueError(f"leaf {i} out of range for a tree of depth {D}")
    raw = _as_bytes(q)
    return raw[i * LEAF_BYTES : (i + 1) * LEAF_BYTES].ljust(LEAF_BYTES, b"\0")


def root_from_leaf(leaf_hash: Hash, index: int, proof: list[Hash]) -> Hash:
    node = leaf_hash
    for lv, sibling in enumerate(proof):
        node = keccak256(sibling + node) if index >> lv & 1 else keccak256(node + sibling)
    return node


def verify_leaf(root: Hash, i: int, leaf: bytes, proof: list[Hash], depth: int) -> bool:
    """Whether ``leaf`` (256 bytes) is leaf ``i`` of the depth-``depth`` tree of ``root``."""
    if depth < 0 or len(proof) != depth or not 0 <= i < 1 << depth:
        return False
    if len(leaf) != LEAF_BYTES or any(len(h) != 32 for h in proof):
        return False
    return root_from_leaf(keccak256(leaf), i, proof) == root


def subtree_root(data: bytes) -> Hash:
    """Root of ``2^h`` consecutive leaves given as their ``256 * 2^h`` bytes."""
    n = len(data) // LEAF_BYTES
    if len(data) % LEAF_BYTES or n < 1 or n & (n - 1):
        raise ValueError(f"{len(data)} bytes are not a power-of-two number of leaves")
    return _reduce(_hash_leaves(data), (n - 1).bit_length())[-1][0]


def _check_chunk(d: int, c: int) -> tuple[int, int]:
    D = depth(d)
    h = chunk_height(D)
    if not 0 <= c < 1 << (D - h):
        raise ValueError(f"chunk {c} out of range: {1 << (D - h)} chunks at depth {D}")
    return D, h


def chunk_bytes(q: NDArray[np.int32], c: int) -> bytes:
    """Chunk ``c``'s ``256 * 2^h`` bytes: its entries, then zeros up to its last leaf."""
    _, h = _check_chunk(np.asarray(q).shape[0], c)
    size = LEAF_BYTES << h
    return _as_bytes(q)[c * size : (c + 1) * size].ljust(size, b"\0")


def chunk_proof(q: NDArray[np.int32], c: int) -> list[Hash]:
    """The ``D - h`` sibling hashes of chunk ``c``'s subtree root, bottom up."""
    _, h = _check_chunk(np.asarray(q).shape[0], c)
    return _path(tree(q), c, h)


def verify_chunk(root: Hash, c: int, chunk: bytes, proof: list[Hash], depth: int) -> bool:
    """Whether ``chunk`` is chunk ``c`` of the depth-``depth`` tree of ``root``."""
    if depth < 0:
        return False
    h = chunk_height(depth)
    if len(chunk) != LEAF_BYTES << h or len(proof) != depth - h or not 0 <= c < 1 << (depth - h):
        return False
    if any(len(x) != 32 for x in proof):
        return False
    return root_from_leaf(subtree_root(chunk), c, proof) == root


def padding_is_zero(d: int, offset: int, data: bytes) -> bool:
    """Whether the bytes of ``data`` (starting at byte ``offset`` of the padded vector)
    that lie past entry ``d`` are all zero."""
    tail = data[max(0, 4 * d - offset) :]
    return tail.count(0) == len(tail)


def chunk_entries(chunk: bytes, d: int, c: int) -> NDArray[np.int32]:
    """The entries of chunk ``c`` that are below ``d`` (the padding dropped)."""
    _, h = _check_chunk(d, c)
    first = c * (LEAF_ENTRIES << h)
    count = max(0, min(d - first, LEAF_ENTRIES << h))
    return np.frombuffer(chunk, dtype="<i4", count=count).astype(np.int32)
