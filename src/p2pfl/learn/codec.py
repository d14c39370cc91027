"""The update codec of DESIGN.md: clip, quantize, safetensors ``I32`` bytes, keccak digest.

An update is ``delta = w_local - w_global`` over the model's parameters in canonical
order (state-dict keys sorted). Its L2 norm is clipped to ``C``, every float ``x`` is
turned into ``int32`` as ``round_half_even(x * 2**16)`` clamped to
``[-2**31 + 1, 2**31 - 1]`` (:mod:`p2pfl.learn.fixedpoint`). The bytes that travel are a
safetensors file of ``I32`` tensors (the global model travels the same way); the digest
is :func:`p2pfl.learn.fixedpoint.digest`, today ``keccak256`` of the raw little-endian
int32 data concatenated in canonical order, without any header, so the EVM can
recompute it from calldata.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from p2pfl.errors import CodecError
from p2pfl.learn import fixedpoint
from p2pfl.learn.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    SCALE,
    SCALE_BITS,
    Int32Vector,
    dequantize,
)
from p2pfl.learn.spec import FloatVector, ModelSpec, flatten_state, unflatten_state

__all__ = [
    "INT32_MAX",
    "INT32_MIN",
    "SCALE",
    "SCALE_BITS",
    "FloatVector",
    "Int32Vector",
    "ModelSpec",
    "Update",
    "clip_norm",
    "dequantize",
    "expected_size",
    "flatten_state",
    "norm_bound_sq",
    "quantize",
    "read_i32_tensors",
    "squared_norm",
    "unflatten_state",
    "write_i32_tensors",
]


def clip_norm(delta: FloatVector, max_norm: float) -> FloatVector:
    """Scale ``delta`` down so that its L2 norm is at most ``max_norm``."""
    if not max_norm > 0:
        raise CodecError(f"clip norm must be positive, got {max_norm}")
    norm = float(np.linalg.norm(delta))
    if not math.isfinite(norm):
        raise CodecError("update contains NaN or infinite values")
    return delta if norm <= max_norm else delta * (max_norm / norm)


def quantize(x: FloatVector) -> Int32Vector:
    """An update's fixed point (:func:`p2pfl.learn.fixedpoint.quantize`)."""
    return fixedpoint.quantize(x, "update")


def squared_norm(q: Int32Vector) -> int:
    """``Σ q[t]²`` exactly: each square fits int64 (< 2^62); the sum, which may not, is
    taken over Python integers."""
    sq = np.square(np.asarray(q, dtype=np.int64))
    return int(np.sum(sq, dtype=object))


def norm_bound_sq(clip: float, dim: int) -> int:
    """The squared norm bound of a valid update: ``(⌊C·2^16⌋ + ⌈√d⌉)²``. An honest update
    meets it: the float update is clipped to ``C`` and rounding each of the ``d`` entries
    adds a vector of norm at most ``√d / 2``."""
    if not clip > 0 or dim < 1:
        raise CodecError(f"the norm bound needs a positive clip and dimension ({clip}, {dim})")
    ceil_sqrt_d = math.isqrt(dim - 1) + 1
    return (math.floor(clip * SCALE) + ceil_sqrt_d) ** 2


@dataclass(frozen=True)
class Update:
    """A quantized update: the canonical flat int32 vector and the model spec it fits."""

    spec: ModelSpec
    q: Int32Vector

    def __post_init__(self) -> None:
        if self.q.dtype != np.int32 or self.q.shape != (self.spec.dim,):
            raise CodecError(
                f"update must be int32 of shape ({self.spec.dim},), "
                f"got {self.q.dtype} {self.q.shape}"
            )

    @classmethod
    def from_delta(cls, spec: ModelSpec, delta: FloatVector, clip: float | None) -> Update:
        """Quantize a float update, clipping its norm to ``clip`` (``None``: no clipping)."""
        if clip is not None:
            delta = clip_norm(delta, clip)
        return cls(spec, quantize(delta))

    def canonical_bytes(self) -> bytes:
        """Little-endian int32 data in canonical order: what the digest covers."""
        return fixedpoint.to_bytes(self.q)

    @cached_property
    def digest(self) -> bytes:
        return fixedpoint.digest(self.q)

    def to_float(self) -> FloatVector:
        return dequantize(self.q)

    @cached_property
    def norm_sq(self) -> int:
        """``Σ q[t]²`` as an exact integer."""
        return squared_norm(self.q)

    def within_norm_bound(self, clip: float) -> bool:
        """DESIGN.md's validity rule: ``Σ q² ≤ (⌊C·2^16⌋ + ⌈√d⌉)²``."""
        return self.norm_sq <= norm_bound_sq(clip, self.spec.dim)

    def to_safetensors(self) -> bytes:
        return write_i32_tensors(self.spec, self.q)

    @classmethod
    def from_safetensors(cls, data: bytes, spec: ModelSpec, max_bytes: int | None = None) -> Update:
        """Decode and validate update bytes against ``spec``.

        Raises :class:`CodecError` for corrupt or truncated files, unexpected or missing
        tensors, wrong dtypes and wrong shapes.
        """
        return cls(spec, read_i32_tensors(data, spec, "update", max_bytes))


def expected_size(spec: ModelSpec) -> int:
    """Upper bound-ish of a well-formed ``I32`` file: data plus a generous header."""
    return 4 * spec.dim + 64 * len(spec.entries) + 256


def write_i32_tensors(spec: ModelSpec, q: Int32Vector) -> bytes:
    """A flat int32 vector as a safetensors file of ``I32`` tensors, named and shaped as
    in the model (the wire form of updates and of the global model)."""
    tensors = {name: np.ascontiguousarray(t) for name, t in spec.split(q).items()}
    return bytes(st_save(tensors))


def read_i32_tensors(
    data: bytes, spec: ModelSpec, what: str, max_bytes: int | None = None
) -> Int32Vector:
    """Decode a safetensors file of ``I32`` tensors into the flat canonical vector.

    Raises :class:`CodecError` (naming ``what``) for an oversized, corrupt or truncated
    file, unexpected or missing tensors, a wrong dtype or shape, and ``-2^31`` entries.
    """
    limit = max_bytes if max_bytes is not None else expected_size(spec) + 4096
    if len(data) > limit:
        raise CodecError(f"{what} is {len(data)} bytes, more than the limit of {limit}")
    dtypes = _header_dtypes(data)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, TypeError) as exc:
        raise CodecError(f"corrupt safetensors data: {exc}") from exc
    names = set(tensors)
    expected = set(spec.names)
    if names != expected:
        missing, extra = sorted(expected - names), sorted(names - expected)
        raise CodecError(f"{what} tensors do not match the model: missing {missing}, extra {extra}")
    parts = []
    for name, shape in spec.entries:
        t = tensors[name]
        if dtypes.get(name) != "I32" or t.dtype != np.int32:
            raise CodecError(f"tensor {name!r} has dtype {dtypes.get(name)}, expected I32")
        if tuple(t.shape) != shape:
            raise CodecError(f"tensor {name!r} has shape {tuple(t.shape)}, expected {shape}")
        parts.append(t.reshape(-1))
    q = np.concatenate(parts).astype(np.int32, copy=False) if parts else np.zeros(0, np.int32)
    fixedpoint.check_vector(q, spec.dim, what)
    return q


def _header_dtypes(data: bytes) -> dict[str, str]:
    """The dtype of every tensor as the safetensors header declares it."""
    if len(data) < 8:
        raise CodecError(f"truncated safetensors data ({len(data)} bytes)")
    header_len = int.from_bytes(data[:8], "little")
    if header_len > len(data) - 8:
        raise CodecError("truncated safetensors data (header longer than the file)")
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError(f"corrupt safetensors header: {exc}") from exc
    if not isinstance(header, dict):
        raise CodecError("corrupt safetensors header: not an object")
    return {
        name: str(meta.get("dtype"))
        for name, meta in header.items()
        if name != "__metadata__" and isinstance(meta, dict)
    }
