"""The fixed-point numbers of DESIGN.md, shared by updates and the global model.

Every vector the protocol touches is ``d`` int32 in canonical parameter order
(:mod:`p2pfl.learn.spec`). A float ``x`` is stored as ``round_half_even(x · 2^16)``
clamped to ``[-2^31+1, 2^31-1]`` (``-2^31`` is never produced, and refused on decode).
Operators train on ``float32(w / 2^16)``.

The model step is exact integer arithmetic, so a contract can recompute any entry::

    w'[t] = clamp(w[t] + rdiv(Σ_{i∈S} q_i[t], m)),   rdiv(x, m) = floor((2x + m) / (2m))

``rdiv`` rounds half up (toward +∞) and floors toward -∞ for negative sums. The sum is
taken in int64: ``|Σ| ≤ m·(2^31-1)``, so ``|2Σ + m| < 2^63`` for every
``m ≤ MAX_STEP_UPDATES`` (2^16, far above any committee).

:func:`digest` is the one digest of a vector (updates and model alike): the Merkle root
of its little-endian int32 bytes (``p2pfl.merkle``, DESIGN.md "Root").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from p2pfl import merkle
from p2pfl.errors import CodecError
from p2pfl.learn.spec import FloatVector, ModelSpec, flatten_state, unflatten_state

SCALE_BITS = 16
SCALE = 1 << SCALE_BITS
INT32_MAX = (1 << 31) - 1
INT32_MIN = -INT32_MAX  # symmetric: -2**31 is never produced
MAX_STEP_UPDATES = 1 << 16  # 2·m·(2^31-1) + m < 2^63: the int64 sum cannot overflow

Int32Vector = NDArray[np.int32]
Int64Vector = NDArray[np.int64]
Float32Vector = NDArray[np.float32]


def quantize(x: NDArray[np.floating], what: str = "vector") -> Int32Vector:
    """``round_half_even(x · 2^16)`` clamped to the symmetric int32 range."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise CodecError(f"{what} contains NaN or infinite values")
    scaled = np.rint(x * SCALE)  # numpy rounds half to even; x·2^16 is exact in float64
    q: Int32Vector = np.clip(scaled, INT32_MIN, INT32_MAX).astype(np.int32)
    return q


def dequantize(q: NDArray[np.integer]) -> FloatVector:
    """``q / 2^16`` in float64 (exact)."""
    return np.asarray(q, dtype=np.float64) / SCALE


def dequantize_f32(w: NDArray[np.integer]) -> Float32Vector:
    """``float32(w / 2^16)``: the weights operators train on (one rounding, to nearest
    even, from the exact float64 quotient)."""
    return dequantize(w).astype(np.float32)


def clamp32(x: Int64Vector) -> Int32Vector:
    """Clamp int64 values to ``[-2^31+1, 2^31-1]`` and narrow them to int32."""
    return np.clip(x, INT32_MIN, INT32_MAX).astype(np.int32)


def rdiv(x: Int64Vector, m: int) -> Int64Vector:
    """``floor((2x + m) / (2m))`` exactly (numpy's integer ``//`` floors toward -∞):
    ``x / m`` rounded to the nearest integer, halves up."""
    if not 1 <= m <= MAX_STEP_UPDATES:
        raise CodecError(f"rdiv needs 1 <= m <= {MAX_STEP_UPDATES}, got {m}")
    x = np.asarray(x, dtype=np.int64)
    out: Int64Vector = (2 * x + m) // (2 * m)
    return out


def step(w: Int32Vector, selected: Sequence[Int32Vector]) -> Int32Vector:
    """The model step: ``clamp(w + rdiv(Σ selected, m))`` with ``m = len(selected)``."""
    m = len(selected)
    if not 1 <= m <= MAX_STEP_UPDATES:
        raise CodecError(f"a model step needs 1..{MAX_STEP_UPDATES} selected updates, got {m}")
    check_vector(w, len(w), "model")
    total = np.zeros(len(w), dtype=np.int64)
    for q in selected:
        check_vector(q, len(w), "update")
        total += q  # |total| <= m·(2^31-1): no int64 overflow for m <= MAX_STEP_UPDATES
    return clamp32(w.astype(np.int64) + rdiv(total, m))


def check_vector(q: NDArray[np.generic], dim: int, what: str) -> None:
    """Refuse anything but a flat int32 vector of ``dim`` entries in the symmetric range."""
    if q.dtype != np.int32 or q.shape != (dim,):
        raise CodecError(f"{what} must be int32 of shape ({dim},), got {q.dtype} {q.shape}")
    if dim and int(q.min()) < INT32_MIN:
        raise CodecError(f"{what} holds -2**31, outside the symmetric fixed-point range")


def to_bytes(q: Int32Vector) -> bytes:
    """Little-endian int32 bytes in canonical order, no header."""
    return q.astype("<i4", copy=False).tobytes()


def from_bytes(data: bytes, dim: int, what: str = "vector") -> Int32Vector:
    """The inverse of :func:`to_bytes` for a vector of ``dim`` entries."""
    if len(data) != 4 * dim:
        raise CodecError(f"{what} is {len(data)} bytes, expected {4 * dim} ({dim} int32)")
    q = np.frombuffer(data, dtype="<i4").astype(np.int32)
    check_vector(q, dim, what)
    return q


def digest(q: Int32Vector) -> bytes:
    """The digest of a vector (update or model): its Merkle root (``p2pfl.merkle``, DESIGN.md
    "Root"), so that a contract can check any 256-byte leaf or 64 KiB chunk of it."""
    return merkle.root(q)


def from_state(state: Mapping[str, torch.Tensor]) -> Int32Vector:
    """A model's weights in canonical order, in fixed point."""
    return quantize(flatten_state(state), "model")


def to_state(spec: ModelSpec, w: Int32Vector) -> dict[str, torch.Tensor]:
    """The float32 state dict of ``float32(w / 2^16)``."""
    return unflatten_state(spec, dequantize_f32(w))
