"""Coordinate-wise trimmed mean (Yin et al. 2018): drop the ``f`` largest and ``f``
smallest values of every coordinate, average the rest. Needs n >= 2f + 1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2pfl.robust.base import Aggregate, Matrix, Vector, check_updates, require


def trimmed_mean(x: Matrix, f: int) -> Vector:
    n = x.shape[0]
    kept = np.partition(x, (f, n - f - 1), axis=0)[f : n - f] if f else x
    mean: Vector = np.asarray(kept, dtype=np.float64).mean(axis=0)
    return mean


@dataclass(frozen=True)
class TrimmedMean:
    f: int
    name: str = "trimmed-mean"

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates)
        require(x.shape[0], self.f, 2 * self.f + 1, "trimmed mean", "2f + 1")
        return Aggregate(trimmed_mean(x, self.f))
