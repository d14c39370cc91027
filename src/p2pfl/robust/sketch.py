"""The CountSketch of DESIGN.md, in exact integer arithmetic.

For every group of 8 consecutive indices ``g = t // 8``, ``h = keccak256(seed || uint256(g))``;
entry ``t`` reads bytes ``4*(t % 8) .. 4*(t % 8) + 3`` of ``h`` as a big-endian uint32
``r``: ``bucket = r mod k``, ``sign = +1`` if ``r >> 31 == 0`` else ``-1``, and
``s[bucket] += sign * q[t]``. Python, Noir and Solidity compute the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from p2pfl import merkle
from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import INT32_MAX

DEFAULT_K = 64
MAX_DIM = 1 << 31  # d * (2**31 - 1) < 2**62: an int64 bucket sum cannot overflow

SketchVector = NDArray[np.int64]


@dataclass(frozen=True)
class SketchPlan:
    """Bucket and sign of every index for one ``(seed, d, k)``; reused for every update."""

    seed: bytes
    k: int
    buckets: NDArray[np.int64]
    signs: NDArray[np.int64]

    @property
    def dim(self) -> int:
        return int(self.buckets.shape[0])


def hash_words(seed: bytes, groups: int) -> NDArray[np.uint32]:
    """The 8 big-endian uint32 words of ``keccak256(seed || uint256(g))`` for every group."""
    words = np.empty((groups, 8), dtype=np.uint32)
    for g in range(groups):
        words[g] = np.frombuffer(keccak256(seed + g.to_bytes(32, "big")), dtype=">u4")
    return words


@lru_cache(maxsize=2)  # an epoch's seed (and the previous one's, for a late check)
def sketch_plan(seed: bytes, dim: int, k: int = DEFAULT_K) -> SketchPlan:
    if len(seed) != 32:
        raise ConfigError(f"sketch seed must be 32 bytes, got {len(seed)}")
    if not 1 <= k <= 1 << 16:
        raise ConfigError(f"sketch dimension k must be in [1, 65536], got {k}")
    if not 1 <= dim <= MAX_DIM:
        raise ConfigError(f"update dimension must be in [1, 2**31], got {dim}")
    r = hash_words(seed, (dim + 7) // 8).reshape(-1)[:dim].astype(np.int64)
    buckets = r % k
    signs = np.where(r >> 31 == 0, 1, -1).astype(np.int64)
    for arr in (buckets, signs):
        arr.setflags(write=False)
    return SketchPlan(seed, k, buckets, signs)


def count_sketch(q: NDArray[np.integer], plan: SketchPlan) -> SketchVector:
    """``s[b] = sum_{t: bucket(t) = b} sign(t) * q[t]``, exactly, as int64."""
    q = np.asarray(q)
    if q.shape != (plan.dim,):
        raise ConfigError(f"update has shape {q.shape}, the sketch plan is for ({plan.dim},)")
    if not np.issubdtype(q.dtype, np.integer):
        raise ConfigError(f"sketch input must be integers, got {q.dtype}")
    if q.size and int(np.abs(q.astype(np.int64)).max()) > INT32_MAX:
        raise ConfigError("sketch input is outside the int32 quantization range")
    s = np.zeros(plan.k, dtype=np.int64)
    np.add.at(s, plan.buckets, plan.signs * q.astype(np.int64))
    return s


def sketch_many(updates: list[NDArray[np.int32]], seed: bytes, k: int = DEFAULT_K) -> SketchVector:
    """Sketches of several equally long updates, one row each."""
    if not updates:
        return np.zeros((0, k), dtype=np.int64)
    plan = sketch_plan(seed, int(updates[0].shape[0]), k)
    return np.stack([count_sketch(q, plan) for q in updates])


def partial_sketch(chunk: bytes, c: int, plan: SketchPlan) -> SketchVector:
    """Chunk ``c``'s partial sketch (``p2pfl.merkle``'s chunks): the sketch of the
    ``plan.dim``-vector that holds the chunk's entries and is zero everywhere else. A
    vector's sketch is the sum of its chunks' partial sketches."""
    q = np.zeros(plan.dim, dtype=np.int32)
    part = merkle.chunk_entries(chunk, plan.dim, c)
    first = c * (merkle.LEAF_ENTRIES << merkle.chunk_height(merkle.depth(plan.dim)))
    q[first : first + part.shape[0]] = part
    return count_sketch(q, plan)
