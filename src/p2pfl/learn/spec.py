"""A model's parameters in canonical order (state-dict keys sorted, each tensor
row-major): the order of every vector the protocol touches, updates and the global
model alike."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from numpy.typing import NDArray

from p2pfl.errors import CodecError

FloatVector = NDArray[np.float64]


@dataclass(frozen=True)
class ModelSpec:
    """Names and shapes of a model's tensors in canonical (sorted) order."""

    entries: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def of(cls, state: Mapping[str, torch.Tensor]) -> ModelSpec:
        return cls(tuple((name, tuple(state[name].shape)) for name in sorted(state)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.entries)

    @cached_property
    def sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(shape) for _, shape in self.entries)

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def split(self, flat: NDArray[np.generic]) -> dict[str, NDArray[np.generic]]:
        """Cut a flat vector into named, shaped pieces (views, no copy)."""
        if flat.shape != (self.dim,):
            raise CodecError(f"flat vector has shape {flat.shape}, model needs ({self.dim},)")
        out: dict[str, NDArray[np.generic]] = {}
        offset = 0
        for (name, shape), size in zip(self.entries, self.sizes, strict=True):
            out[name] = flat[offset : offset + size].reshape(shape)
            offset += size
        return out


def flatten_state(state: Mapping[str, torch.Tensor]) -> FloatVector:
    """Parameters in canonical order as one float64 vector."""
    return np.concatenate(
        [state[name].detach().cpu().reshape(-1).double().numpy() for name in sorted(state)]
    )


def unflatten_state(spec: ModelSpec, flat: NDArray[np.floating]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`flatten_state` (float32 tensors)."""
    return {
        name: torch.from_numpy(np.ascontiguousarray(part, dtype=np.float32))
        for name, part in spec.split(flat).items()
    }
