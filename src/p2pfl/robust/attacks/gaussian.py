"""Gaussian noise: send ``N(mu, sigma^2)`` per coordinate instead of an update.

Colluders draw from their shared seed and so send one vector (ByzFL's model);
``collude=False`` gives every attacker its own noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.attacks.base import AttackContext


@dataclass(frozen=True)
class Gaussian:
    sigma: float = 1.0
    mu: float = 0.0
    name: str = "gaussian"
    poisons_labels: bool = False
    collude: bool = True

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]:
        rng = np.random.default_rng(ctx.seed if self.collude else [ctx.seed, ctx.client])
        return rng.normal(self.mu, self.sigma, size=ctx.own.shape)
