"""Multi-Krum (Blanchard et al. 2017): the mean of the ``m`` updates with the lowest Krum
scores; ``m = n - f`` by default, ``m = 1`` is Krum."""

from __future__ import annotations

from dataclasses import dataclass

from p2pfl.robust.base import Aggregate, Matrix, check_updates, mean_of_rows
from p2pfl.robust.krum import krum_scores, lowest


@dataclass(frozen=True)
class MultiKrum:
    f: int
    m: int | None = None
    name: str = "multikrum"
    nearest: int | None = None

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates, finite=False)  # the distances reject non-finite input
        n = x.shape[0]
        m = n - self.f if self.m is None else self.m
        if not 1 <= m <= n:
            raise ValueError(f"Multi-Krum keeps m in [1, {n}], got {m}")
        scores = krum_scores(x, self.f, self.nearest)
        chosen = lowest(scores, m)
        return Aggregate(mean_of_rows(x, chosen), chosen, scores)
