"""Bulyan (El Mhamdi et al. 2018): pick ``theta = n - 2f`` updates by repeated Krum, then
take, per coordinate, the mean of the ``beta = theta - 2f`` values closest to the median.
Needs n >= 4f + 3."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2pfl.robust.base import Aggregate, Matrix, check_updates, require
from p2pfl.robust.distances import pairwise_sq_distances


def bulyan_select(x: np.ndarray, f: int) -> list[int]:
    """Indices chosen by iterated Krum; each round removes the chosen update."""
    n = x.shape[0]
    dist = pairwise_sq_distances(x)
    remaining = list(range(n))
    chosen: list[int] = []
    for _ in range(n - 2 * f):
        r = len(remaining)
        m = max(r - f - 2, 1)
        sub = dist[np.ix_(remaining, remaining)].copy()
        np.fill_diagonal(sub, np.inf)
        scores = np.sort(sub, axis=1)[:, :m].sum(axis=1) if r > 1 else np.zeros(1)
        best = remaining[int(np.lexsort((np.array(remaining), scores))[0])]
        chosen.append(best)
        remaining.remove(best)
    return chosen


@dataclass(frozen=True)
class Bulyan:
    f: int
    name: str = "bulyan"

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates)
        n = x.shape[0]
        require(n, self.f, 4 * self.f + 3, "Bulyan", "4f + 3")
        chosen = bulyan_select(x, self.f)
        picked = np.asarray(x[chosen], dtype=np.float64)
        beta = len(chosen) - 2 * self.f
        med = np.median(picked, axis=0)
        closest = np.argsort(np.abs(picked - med), axis=0, kind="stable")[:beta]
        vector = np.take_along_axis(picked, closest, axis=0).mean(axis=0)
        return Aggregate(vector, tuple(sorted(chosen)))
