"""The global model as it travels and is committed: a safetensors file of ``F32`` tensors
in canonical order; its digest is ``keccak256`` of the raw little-endian float32 data
concatenated in canonical order (no header), the same rule as an update's digest. The
genesis model follows from a seed, so every node and the deployment agree on it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from numpy.typing import NDArray
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from p2pfl.errors import CodecError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import FloatVector, ModelSpec, Update, flatten_state, unflatten_state
from p2pfl.learn.model import MnistCnn, new_model

Float32Vector = NDArray[np.float32]


@dataclass(frozen=True)
class GlobalModel:
    spec: ModelSpec
    flat: Float32Vector

    def __post_init__(self) -> None:
        if self.flat.dtype != np.float32 or self.flat.shape != (self.spec.dim,):
            raise CodecError(f"model must be float32 of shape ({self.spec.dim},)")
        if not np.all(np.isfinite(self.flat)):
            raise CodecError("model contains NaN or infinite weights")

    @classmethod
    def genesis(cls, seed: int) -> GlobalModel:
        model = new_model(seed)
        spec = ModelSpec.of(model.state_dict())
        return cls(spec, flatten_state(model.state_dict()).astype(np.float32))

    @cached_property
    def digest(self) -> bytes:
        return keccak256(self.flat.astype("<f4", copy=False).tobytes())

    def step(self, mean_update: FloatVector) -> GlobalModel:
        """The next global model: this one plus the mean of the selected updates (float64
        sum, stored as float32; the same numbers on every node)."""
        new = (self.flat.astype(np.float64) + mean_update).astype(np.float32)
        return GlobalModel(self.spec, new)

    def module(self) -> MnistCnn:
        model = MnistCnn()
        model.load_state_dict(unflatten_state(self.spec, self.flat.astype(np.float64)))
        return model

    def delta_of(self, trained: torch.nn.Module) -> FloatVector:
        """``w_local - w_global`` in canonical order."""
        delta: FloatVector = flatten_state(trained.state_dict()) - self.flat.astype(np.float64)
        return delta

    def to_safetensors(self) -> bytes:
        parts = {k: np.ascontiguousarray(v) for k, v in self.spec.split(self.flat).items()}
        return bytes(st_save(parts))

    @classmethod
    def from_safetensors(cls, data: bytes, spec: ModelSpec) -> GlobalModel:
        limit = 4 * spec.dim + 64 * len(spec.entries) + 4096
        if len(data) > limit:
            raise CodecError(f"model is {len(data)} bytes, more than the limit of {limit}")
        try:
            tensors = st_load(data)
        except (SafetensorError, ValueError, TypeError) as exc:
            raise CodecError(f"corrupt safetensors data: {exc}") from exc
        if set(tensors) != set(spec.names):
            raise CodecError("model tensors do not match the network's model")
        parts = []
        for name, shape in spec.entries:
            t = tensors[name]
            if t.dtype != np.float32 or tuple(t.shape) != shape:
                raise CodecError(f"tensor {name!r} is {t.dtype} {t.shape}, expected F32 {shape}")
            parts.append(t.reshape(-1))
        return cls(spec, np.concatenate(parts).astype(np.float32, copy=False))


def blob_digest(spec: ModelSpec, data: bytes) -> bytes:
    """The digest of an update or model blob: decoded and checked against the model spec
    first, so a blob that is not a valid update or model never matches anything."""
    try:
        return Update.from_safetensors(data, spec).digest
    except CodecError as not_update:
        try:
            return GlobalModel.from_safetensors(data, spec).digest
        except CodecError:
            raise not_update from None
