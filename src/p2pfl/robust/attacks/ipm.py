"""Inner-product manipulation (Xie et al. 2020): ``-epsilon * mean(known)``, so that the
aggregate's inner product with the true gradient turns negative."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.attacks.base import AttackContext


@dataclass(frozen=True)
class InnerProductManipulation:
    epsilon: float = 0.5
    name: str = "ipm"
    poisons_labels: bool = False

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]:
        mean: NDArray[np.float64] = np.asarray(ctx.known, dtype=np.float64).mean(axis=0)
        return -self.epsilon * mean
