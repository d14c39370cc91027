"""FedAvg (McMahan et al. 2017): the (weighted) mean. Not robust; the baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.base import Aggregate, Matrix, check_updates


@dataclass(frozen=True)
class FedAvg:
    name: str = "fedavg"
    weights: NDArray[np.float64] | None = None

    def __call__(self, updates: Matrix) -> Aggregate:
        x = check_updates(updates)
        w = None if self.weights is None else np.asarray(self.weights, dtype=np.float64)
        mean = np.average(x, axis=0, weights=w).astype(np.float64)
        return Aggregate(mean, selected=tuple(range(x.shape[0])))
