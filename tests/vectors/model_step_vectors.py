"""The shared vectors of the fixed-point model step (``tests/vectors/model_step.json``).

Written by ``python -m tests.vectors.make_vectors`` with the others. Each case gives the
base model ``w``, the ``m`` selected updates (``updates``, all of them selected), the
exact column sums ``Σ q_i[t]`` and the expected new model
``w'[t] = clamp(w[t] + floor((2·Σ + m) / (2m)))`` with the clamp to
``[-2^31+1, 2^31-1]``; digests are ``keccak256`` of the little-endian int32 bytes.
Every number is a JSON integer (sums stay below 2^38 in magnitude).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint
from p2pfl.learn.fixedpoint import INT32_MAX, INT32_MIN

Matrix = NDArray[np.int64]


def case(name: str, base: Matrix, updates: Matrix, note: str = "") -> dict[str, Any]:
    w = np.asarray(base, dtype=np.int32)
    qs = [np.asarray(u, dtype=np.int32) for u in updates]
    new = fixedpoint.step(w, qs)
    return {
        "name": name,
        "note": note,
        "d": len(w),
        "m": len(qs),
        "base": w.tolist(),
        "updates": [q.tolist() for q in qs],
        "sums": np.sum(np.stack(qs).astype(np.int64), axis=0).tolist(),
        "expected": new.tolist(),
        "base_digest": "0x" + keccak256(fixedpoint.to_bytes(w)).hex(),
        "expected_digest": "0x" + keccak256(fixedpoint.to_bytes(new)).hex(),
    }


def cases() -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(20261214)
    yield case(
        "m1-plain-add",
        rng.integers(-(1 << 20), 1 << 20, 16),
        rng.integers(-(1 << 12), 1 << 12, (1, 16)),
        "m = 1: w + q",
    )
    # sums -4..4 over m = 2: every half, both signs (halves go up: -1.5 -> -1, 1.5 -> 2)
    sums = np.arange(-4, 5)
    yield case(
        "m2-halves",
        np.zeros(9, np.int64),
        np.stack([sums // 2, sums - sums // 2]),
        "sums -4..4: rdiv rounds halves toward +inf, floors toward -inf",
    )
    sums = np.arange(-7, 8)
    yield case(
        "m3-thirds",
        np.full(15, 100),
        np.stack([sums, np.zeros(15, np.int64), np.zeros(15, np.int64)]),
        "sums -7..7 over m = 3 (negative thirds: -1/3 -> 0, -2/3 -> -1)",
    )
    yield case(
        "m7-random-full-range",
        rng.integers(INT32_MIN, INT32_MAX, 32, endpoint=True),
        rng.integers(INT32_MIN, INT32_MAX, (7, 32), endpoint=True),
        "entries over the whole int32 range: sums beyond int32, both clamps",
    )
    yield case(
        "m10-small-updates",
        rng.integers(-(1 << 18), 1 << 18, 64),
        rng.integers(-(1 << 10), 1 << 10, (10, 64)),
        "the usual case: small updates on a trained model",
    )
    d = 8
    base = np.array([INT32_MAX, INT32_MAX - 5, 0, -1, 1, INT32_MIN + 5, INT32_MIN, 12345])
    yield case(
        "m64-all-max",
        base,
        np.full((64, d), INT32_MAX),
        "64 updates of 2^31-1: Σ = 64·(2^31-1), the largest sum; clamps at the top",
    )
    yield case(
        "m64-all-min",
        base,
        np.full((64, d), INT32_MIN),
        "64 updates of -(2^31-1): the smallest sum; clamps at the bottom",
    )
    signs = np.where(np.arange(64)[:, None] % 2 == 0, INT32_MAX, INT32_MIN)
    yield case(
        "m64-alternating-extremes",
        base,
        np.repeat(signs, d, axis=1),
        "32 of each extreme: Σ = 0",
    )
    odd = np.where(np.arange(63)[:, None] < 32, INT32_MAX, INT32_MIN)
    yield case(
        "m63-one-extreme-left",
        base,
        np.repeat(odd, d, axis=1),
        "32 x (2^31-1) and 31 x -(2^31-1): Σ = 2^31-1, rdiv over m = 63",
    )
    yield case(
        "m5-clamp-both-ends",
        np.array([INT32_MAX - 1, INT32_MIN + 1, INT32_MAX, INT32_MIN]),
        np.array([[5, -5, 1, -1]] * 5),
        "one step past each end is clamped",
    )


def build() -> dict[str, Any]:
    return {
        "description": "fixed-point model step: w'[t] = clamp(w[t] + rdiv(sum_i q_i[t], m)), "
        "rdiv(x, m) = floor((2x + m) / (2m)), clamp to [-2^31+1, 2^31-1]; updates are the m "
        "selected ones; digests keccak256 of little-endian int32 bytes",
        "scale_bits": fixedpoint.SCALE_BITS,
        "int32_min": INT32_MIN,
        "int32_max": INT32_MAX,
        "cases": list(cases()),
    }
