"""A little is enough (Baruch et al. 2019): ``mean - z * std`` of the known updates,
per coordinate, with the paper's ``z``: ``s = floor(n / 2 + 1) - f`` supporters needed,
``z = Phi^{-1}((n - s) / n)``. Designed to hide inside the honest variance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.attacks.base import AttackContext


def alie_z(n: int, f: int) -> float:
    s = math.floor(n / 2 + 1) - f
    p = (n - s) / n
    p = min(max(p, 1e-6), 1 - 1e-6)
    return NormalDist().inv_cdf(p)


@dataclass(frozen=True)
class ALittleIsEnough:
    z: float | None = None
    name: str = "alie"
    poisons_labels: bool = False

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]:
        known = np.asarray(ctx.known, dtype=np.float64)
        z = alie_z(ctx.n, ctx.f) if self.z is None else self.z
        std = known.std(axis=0) if known.shape[0] > 1 else np.zeros(known.shape[1])
        mean: NDArray[np.float64] = known.mean(axis=0)
        return mean - z * std
