"""The simulation's global model: the protocol's fixed point (int32 at scale 2^16, the
exact model step of :mod:`p2pfl.learn.fixedpoint`), or a float64 vector stepped by the
float mean (the baseline the fixed-point federation is compared with)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from p2pfl.learn import fixedpoint
from p2pfl.learn.fixedpoint import Int32Vector
from p2pfl.learn.spec import FloatVector, ModelSpec, flatten_state, unflatten_state

Arithmetic = Literal["fixed", "float"]


@dataclass
class SimModel:
    spec: ModelSpec
    arithmetic: Arithmetic
    w: Int32Vector  # the fixed-point model (arithmetic "fixed")
    flat: FloatVector  # the float model (arithmetic "float")

    @classmethod
    def start(cls, state: dict[str, torch.Tensor], arithmetic: Arithmetic) -> SimModel:
        spec = ModelSpec.of(state)
        if arithmetic == "fixed":
            return cls(spec, arithmetic, fixedpoint.from_state(state), np.zeros(0))
        return cls(spec, arithmetic, np.zeros(0, np.int32), flatten_state(state))

    def base(self) -> FloatVector:
        """The weights every client trains from (float64): ``float32(w / 2^16)`` in fixed
        point; ``Δ = w_local - base``."""
        if self.arithmetic == "fixed":
            return fixedpoint.dequantize_f32(self.w).astype(np.float64)
        return self.flat

    def state(self) -> dict[str, torch.Tensor]:
        return unflatten_state(self.spec, self.base())

    def step(self, updates: Sequence[Int32Vector], selected: Sequence[int]) -> None:
        """The protocol's step with the selected updates: exact ``clamp(w + rdiv(Σ q, m))``
        in fixed point, the float64 mean of the dequantized updates in float."""
        if self.arithmetic == "fixed":
            self.w = fixedpoint.step(self.w, [updates[i] for i in selected])
        else:
            self.flat = self.flat + np.stack(
                [fixedpoint.dequantize(updates[i]) for i in selected]
            ).mean(axis=0)

    def add(self, aggregate: FloatVector) -> None:
        """A baseline rule's float aggregate: added, then back to fixed point in fixed."""
        if self.arithmetic == "fixed":
            self.w = fixedpoint.quantize(fixedpoint.dequantize(self.w) + aggregate, "model")
        else:
            self.flat = self.flat + aggregate
