"""Coordinate-wise median (Yin et al. 2018). Tolerates f < n / 2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2pfl.robust.base import Aggregate, Matrix, check_updates, require


@dataclass(frozen=True)
class Median:
    f: int = 0
    name: str = "median"

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates)
        require(x.shape[0], self.f, 2 * self.f + 1, "coordinate-wise median", "2f + 1")
        return Aggregate(np.median(x, axis=0).astype(np.float64))
