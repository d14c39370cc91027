"""Coordinate-wise trimmed mean (Yin et al. 2018): drop the ``f`` largest and ``f``
smallest values of every coordinate, average the rest. Needs n >= 2f + 1."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2pfl.robust.base import Aggregate, Matrix, check_updates, require


def trimmed_mean(x: Matrix, f: int) -> np.ndarray:
    n = x.shape[0]
    if f == 0:
        return np.asarray(x, dtype=np.float64).mean(axis=0)
    part = np.partition(x, (f, n - f - 1), axis=0)
    return np.asarray(part[f : n - f], dtype=np.float64).mean(axis=0)


@dataclass(frozen=True)
class TrimmedMean:
    f: int
    name: str = "trimmed-mean"

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates)
        require(x.shape[0], self.f, 2 * self.f + 1, "trimmed mean", "2f + 1")
        return Aggregate(trimmed_mean(x, self.f))
