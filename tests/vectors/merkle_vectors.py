"""The shared vectors of the Merkle root (``tests/vectors/merkle.json``).

Written by ``python -m tests.vectors.make_vectors`` with the others. The vectors are not
stored entry by entry (the CNN's would be ~500 KB); every consumer regenerates them from
the case's seed and overrides:

- ``r_t`` = bytes ``4·(t%8) .. 4·(t%8)+3`` of ``keccak256(seed ‖ uint256(t // 8))`` read
  as a big-endian uint32 (the sketch's hash words), ``q[t] = int32(r_t)`` (two's
  complement; the generator checks that no entry is ``-2^31``);
- then ``q[t] = v`` for every ``[t, v]`` in ``overrides`` (the int32 extremes).

``vector_keccak`` (keccak256 of the d·4 little-endian bytes, no padding) lets a consumer
check its regeneration. Proven leaves carry their bytes; chunks carry the keccak256 of
their bytes (padding included), their subtree root, and what the chunk challenges compute
from them: the partial CountSketch (``k = 64``, the case's ``sketch_seed``) of the chunk's
entries below ``d`` and their sum of squares (a decimal string: it can pass 2^64).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from p2pfl import merkle
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import INT32_MAX, squared_norm
from p2pfl.robust.sketch import hash_words, partial_sketch, sketch_plan

EXTREMES = (-INT32_MAX, INT32_MAX, 0, -1)
SKETCH_K = 64
DIMS = (1, 64, 65, 4096, 16_384, 16_385, 46_730)


def seed_of(d: int) -> bytes:
    return keccak256(f"p2pfl/test-vectors/merkle-{d}".encode())


def sketch_seed_of(d: int) -> bytes:
    return keccak256(f"p2pfl/test-vectors/merkle-sketch-{d}".encode())


def override_positions(d: int) -> list[int]:
    """Where the extremes go: the first four entries, the middle, the last two."""
    return sorted({t for t in (0, 1, 2, 3, d // 2, d - 2, d - 1) if 0 <= t < d})


def vector(seed: bytes, d: int, overrides: list[list[int]]) -> NDArray[np.int32]:
    """The generation rule of the module docstring."""
    r = hash_words(seed, (d + 7) // 8).reshape(-1)[:d]
    q = r.view(np.int32).copy()  # same bits: int32(r) in two's complement
    for t, v in overrides:
        q[t] = v
    return q


def hexs(b: bytes) -> str:
    return "0x" + b.hex()


def case(d: int) -> dict[str, Any]:
    seed = seed_of(d)
    overrides = [[t, EXTREMES[i % 4]] for i, t in enumerate(override_positions(d))]
    q = vector(seed, d, overrides)
    assert int(q.min()) > -(2**31), "regenerate with another seed: -2^31 is not an entry"
    D = merkle.depth(d)
    n = merkle.leaf_count(d)
    h = merkle.chunk_height(D)
    root = merkle.root(q)
    indices = sorted({0, n // 2, n - 1, n, (1 << D) - 1} & set(range(1 << D)))
    chunks = sorted({0, merkle.chunk_count(d) - 1, ((n - 1) >> h)})
    plan = sketch_plan(sketch_seed_of(d), d, SKETCH_K)
    return {
        "name": f"d{d}",
        "d": d,
        "D": D,
        "leaves": n,
        "chunk_height": h,
        "seed": hexs(seed),
        "sketch_seed": hexs(sketch_seed_of(d)),
        "overrides": overrides,
        "vector_keccak": hexs(keccak256(q.astype("<i4").tobytes())),
        "root": hexs(root),
        "leaf_proofs": [
            {
                "index": i,
                "padding": i >= n,
                "bytes": hexs(merkle.leaf_bytes(q, i)),
                "hash": hexs(keccak256(merkle.leaf_bytes(q, i))),
                "proof": [hexs(x) for x in merkle.leaf_proof(q, i)],
            }
            for i in indices
        ],
        "chunk_proofs": [
            {
                "index": c,
                "bytes_keccak": hexs(keccak256(merkle.chunk_bytes(q, c))),
                "subtree_root": hexs(merkle.subtree_root(merkle.chunk_bytes(q, c))),
                "proof": [hexs(x) for x in merkle.chunk_proof(q, c)],
                "partial_sketch": [
                    int(x) for x in partial_sketch(merkle.chunk_bytes(q, c), c, plan)
                ],
                "sum_squares": str(
                    squared_norm(merkle.chunk_entries(merkle.chunk_bytes(q, c), d, c))
                ),
            }
            for c in chunks
        ],
    }


def build() -> dict[str, Any]:
    return {
        "description": "DESIGN.md's Root: 256-byte leaves (64 little-endian int32, the last "
        "zero-padded), a keccak256 tree of depth D = ceil(log2(ceil(d/64))) padded with "
        "256-byte zero leaves, node = keccak256(left || right); proofs bottom up. A chunk is "
        "an aligned subtree of height min(D, 8) (D - min(D, 8) proof hashes). Vectors are "
        "regenerated, not stored: q[t] = int32(big-endian uint32 at bytes 4(t%8)..4(t%8)+3 "
        "of keccak256(seed || uint256(t/8))), then q[t] = v for each [t, v] in overrides.",
        "cases": [case(d) for d in DIMS],
    }
