"""Krum (Blanchard et al. 2017) on full float vectors.

``score_i`` is the sum of the squared distances from update ``i`` to its ``n - f - 2``
nearest other updates (Blanchard et al. and Flower use ``n - f - 2``; ByzFL uses
``n - f - 1``: pass ``nearest`` to match it). Krum needs ``n >= 2f + 3``. Ties in
the score go to the lower index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.base import Aggregate, Matrix, check_updates, require
from p2pfl.robust.distances import pairwise_sq_distances


def krum_scores(updates: Matrix, f: int, nearest: int | None = None) -> NDArray[np.float64]:
    x = check_updates(updates, finite=False)  # the distances reject non-finite input
    n = x.shape[0]
    require(n, f, 2 * f + 3, "Krum", "2f + 3")
    m = n - f - 2 if nearest is None else nearest
    if not 1 <= m <= n - 1:
        raise ValueError(f"nearest must be in [1, {n - 1}], got {m}")
    dist = pairwise_sq_distances(x)
    np.fill_diagonal(dist, np.inf)
    closest = np.partition(dist, m - 1, axis=1)[:, :m]
    scores: NDArray[np.float64] = closest.sum(axis=1)
    return scores


def lowest(scores: NDArray[np.float64], m: int) -> tuple[int, ...]:
    """Indices of the ``m`` lowest scores, ties to the lower index, in ascending index order."""
    order = np.lexsort((np.arange(len(scores)), scores))
    return tuple(sorted(int(i) for i in order[:m]))


@dataclass(frozen=True)
class Krum:
    f: int
    name: str = "krum"
    nearest: int | None = None

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates, finite=False)
        scores = krum_scores(x, self.f, self.nearest)
        chosen = lowest(scores, 1)
        return Aggregate(np.asarray(x[chosen[0]], dtype=np.float64), chosen, scores)
