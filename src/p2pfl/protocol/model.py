"""The global model as it is committed and travels: ``d`` int32 at scale 2^16 in
canonical order (:mod:`p2pfl.learn.fixedpoint`), a safetensors file of ``I32`` tensors
like an update, its digest :func:`p2pfl.learn.fixedpoint.digest` of the vector (today
``keccak256`` of the little-endian int32 bytes). Operators train on ``float32(w/2^16)``.
The genesis model follows from a seed, so every node and the deployment agree on it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from p2pfl.errors import CodecError
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import Update, read_i32_tensors, write_i32_tensors
from p2pfl.learn.fixedpoint import Float32Vector, Int32Vector
from p2pfl.learn.model import MnistCnn, new_model
from p2pfl.learn.spec import FloatVector, ModelSpec, flatten_state


@dataclass(frozen=True)
class GlobalModel:
    spec: ModelSpec
    w: Int32Vector  # fixed point, canonical order

    def __post_init__(self) -> None:
        fixedpoint.check_vector(self.w, self.spec.dim, "model")

    @classmethod
    def genesis(cls, seed: int) -> GlobalModel:
        """``new_model(seed)``'s weights in fixed point."""
        return cls.of_module(new_model(seed))

    @classmethod
    def of_module(cls, module: torch.nn.Module) -> GlobalModel:
        state = module.state_dict()
        return cls(ModelSpec.of(state), fixedpoint.from_state(state))

    def canonical_bytes(self) -> bytes:
        """Little-endian int32 data in canonical order: what the digest covers."""
        return fixedpoint.to_bytes(self.w)

    @cached_property
    def digest(self) -> bytes:
        return fixedpoint.digest(self.w)

    def step(self, selected: Sequence[Update]) -> GlobalModel:
        """The next global model: ``clamp(w + rdiv(Σ q_i, m))`` over the ``m`` selected
        updates, in exact integers (the order of ``selected`` does not matter)."""
        for u in selected:
            if u.spec != self.spec:
                raise CodecError("an update does not fit the model")
        return GlobalModel(self.spec, fixedpoint.step(self.w, [u.q for u in selected]))

    def weights(self) -> Float32Vector:
        """``float32(w / 2^16)``: the weights operators train on."""
        return fixedpoint.dequantize_f32(self.w)

    def module(self) -> MnistCnn:
        model = MnistCnn()
        model.load_state_dict(fixedpoint.to_state(self.spec, self.w))
        return model

    def delta_of(self, trained: torch.nn.Module) -> FloatVector:
        """``w_local - float32(w_global / 2^16)`` in canonical order (float64)."""
        delta: FloatVector = flatten_state(trained.state_dict()) - self.weights().astype(np.float64)
        return delta

    def to_safetensors(self) -> bytes:
        return write_i32_tensors(self.spec, self.w)

    @classmethod
    def from_safetensors(cls, data: bytes, spec: ModelSpec) -> GlobalModel:
        """Decode and validate a model blob (``CodecError`` on anything malformed)."""
        return cls(spec, read_i32_tensors(data, spec, "model"))


def blob_digest(spec: ModelSpec, data: bytes) -> bytes:
    """The digest of an update or model blob (the same wire form): decoded and checked
    against the model spec first, so bytes that are not a well-formed ``I32`` vector of
    the model never match anything."""
    return fixedpoint.digest(read_i32_tensors(data, spec, "blob"))
