"""The evidence of protocol v2's challenges, built from the vectors a watcher holds: what
goes into ``challengeModel``, ``openSketchChallenge``, ``proveChunk`` and
``proveNormChunk`` (``contracts/src/avs/ResultChallenges.sol``), each transaction under
128 KB. Pure functions over ``p2pfl.merkle`` and ``p2pfl.learn.fixedpoint``: the chain
layer sends them, the watcher decides when.

Every vector is the int32 vector whose Merkle root is the digest committed or posted:
the base model, an operator's update, the posted model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl import merkle
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import squared_norm
from p2pfl.robust.sketch import SketchPlan, count_sketch, partial_sketch, sketch_plan

Int32Vector = NDArray[np.int32]


@dataclass(frozen=True)
class LeafEvidence:
    """Leaf ``index`` of a vector: its 256 bytes and its Merkle proof (bottom up)."""

    index: int
    data: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class LeafHashEvidence:
    """Leaf ``index`` of a vector known by its leaves' hashes only: the leaf's hash and
    its Merkle proof."""

    index: int
    hash: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class ModelEvidence:
    """``challengeModel(epoch, leaf, base, …, selected …, modelLeafHash, modelProof)``: one
    leaf of the base model and of every selected update (ascending operator order), and
    the posted model's hash of that leaf with its proof (from the posted leaf hashes: the
    posted model's bytes are not needed)."""

    leaf: int
    base: LeafEvidence
    selected: tuple[LeafEvidence, ...]
    model: LeafHashEvidence


@dataclass(frozen=True)
class ChunkEvidence:
    """Chunk ``index`` of a vector: its bytes (padding included) and its Merkle proof."""

    index: int
    data: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class SketchEvidence:
    """``openSketchChallenge(epoch, row, posted, partials)``, then one ``proveChunk`` per
    chunk that holds entries: the posted row, the true partial sketch of every chunk
    (chunk-major, ``k`` entries each; zero for the chunks of padding only, which the
    contract counts as proven) and the chunks to prove."""

    row: int
    posted: tuple[int, ...]
    partials: tuple[int, ...]
    chunks: tuple[ChunkEvidence, ...]


def leaf_evidence(q: Int32Vector, i: int) -> LeafEvidence:
    return LeafEvidence(i, merkle.leaf_bytes(q, i), tuple(merkle.leaf_proof(q, i)))


def chunk_evidence(q: Int32Vector, c: int) -> ChunkEvidence:
    return ChunkEvidence(c, merkle.chunk_bytes(q, c), tuple(merkle.chunk_proof(q, c)))


Posted = Int32Vector | Sequence[bytes]  # the posted model, or its live leaves' hashes


def _posted_hashes(posted: Posted, d: int) -> list[bytes]:
    if isinstance(posted, np.ndarray):
        if posted.shape != (d,):
            raise ValueError(f"the posted model has {posted.shape[0]} entries, expected {d}")
        return merkle.leaf_hashes(posted)
    hashes = [bytes(h) for h in posted]
    if len(hashes) != merkle.leaf_count(d):
        raise ValueError(f"{len(hashes)} posted leaf hashes, expected {merkle.leaf_count(d)}")
    return hashes


def wrong_model_leaves(
    base: Int32Vector, selected: Sequence[Int32Vector], posted: Posted
) -> list[int]:
    """The leaves at which ``posted`` (the model or its leaf hashes) is not the model step
    of ``base`` and ``selected``."""
    want = merkle.leaf_hashes(fixedpoint.step(base, selected))
    got = _posted_hashes(posted, base.shape[0])
    return [i for i, (a, b) in enumerate(zip(want, got, strict=True)) if a != b]


def model_evidence(
    base: Int32Vector, selected: Sequence[Int32Vector], posted: Posted, leaf: int
) -> ModelEvidence:
    """The model challenge of leaf ``leaf`` (one of ``wrong_model_leaves``)."""
    d = base.shape[0]
    hashes = _posted_hashes(posted, d)
    return ModelEvidence(
        leaf,
        leaf_evidence(base, leaf),
        tuple(leaf_evidence(q, leaf) for q in selected),
        LeafHashEvidence(leaf, hashes[leaf], tuple(merkle.leaf_hash_proof(hashes, d, leaf))),
    )


def live_chunks(d: int) -> int:
    """Chunks of a vector of ``d`` entries that hold at least one entry."""
    size = merkle.LEAF_ENTRIES << merkle.chunk_height(merkle.depth(d))
    return -(-d // size)


def partial_sketches(q: Int32Vector, plan: SketchPlan) -> list[NDArray[np.int64]]:
    """The partial sketch of every chunk of ``q`` (they sum to its sketch)."""
    d = q.shape[0]
    return [partial_sketch(merkle.chunk_bytes(q, c), c, plan) for c in range(merkle.chunk_count(d))]


def sketch_evidence(
    q: Int32Vector, row: int, posted: Sequence[int], seed: bytes, k: int
) -> SketchEvidence | None:
    """The chunked challenge of sketch row ``row`` as posted, or ``None`` when the posted
    row is the sketch of ``q`` (nothing to challenge)."""
    plan = sketch_plan(seed, q.shape[0], k)
    if [int(x) for x in count_sketch(q, plan)] == [int(x) for x in posted]:
        return None
    parts = partial_sketches(q, plan)
    return SketchEvidence(
        row,
        tuple(int(x) for x in posted),
        tuple(int(x) for p in parts for x in p),
        tuple(chunk_evidence(q, c) for c in range(live_chunks(q.shape[0]))),
    )


def chunks_by_weight(q: Int32Vector) -> list[tuple[int, int]]:
    """``(Σ q², c)`` of every chunk ``c`` of ``q``, largest sum first (ties to the lower
    index): the order norm proofs take."""
    d = q.shape[0]
    sums = [
        (squared_norm(merkle.chunk_entries(merkle.chunk_bytes(q, c), d, c)), c)
        for c in range(merkle.chunk_count(d))
    ]
    return sorted(sums, key=lambda s: (-s[0], s[1]))


def norm_evidence(q: Int32Vector, bound_sq: int) -> list[ChunkEvidence]:
    """The fewest chunks whose ``Σ q²`` passes ``bound_sq`` (largest first), or ``[]`` when
    the whole vector is within the bound: each is one ``proveNormChunk``."""
    chosen: list[int] = []
    total = 0
    for s, c in chunks_by_weight(q):
        chosen.append(c)
        total += s
        if total > bound_sq:
            return [chunk_evidence(q, i) for i in chosen]
    return []
