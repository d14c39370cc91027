"""Geometric median by Weiszfeld's algorithm, smoothed (Pillutla et al. 2022, RFA).

Minimises ``sum_i |z - x_i|``; each step is the mean weighted by ``1 / max(nu, |z - x_i|)``,
which keeps the step defined when ``z`` lands on an input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from p2pfl.robust.base import Aggregate, Matrix, check_updates


def weiszfeld(
    x: np.ndarray, max_iter: int = 100, tol: float = 1e-7, nu: float = 1e-8
) -> tuple[np.ndarray, int]:
    """Return the geometric median of the rows of ``x`` and the iterations used."""
    x = np.asarray(x, dtype=np.float64)
    z = x.mean(axis=0)
    for it in range(1, max_iter + 1):
        dist = np.maximum(np.linalg.norm(x - z, axis=1), nu)
        w = 1.0 / dist
        z_new = (w[:, None] * x).sum(axis=0) / w.sum()
        moved = float(np.linalg.norm(z_new - z))
        z = z_new
        if moved <= tol * max(1.0, float(np.linalg.norm(z))):
            return z, it
    return z, max_iter


@dataclass(frozen=True)
class GeometricMedian:
    name: str = "geomed"
    max_iter: int = 100
    tol: float = 1e-7

    def __call__(self, updates: Matrix) -> Aggregate:
        z, _ = weiszfeld(check_updates(updates), self.max_iter, self.tol)
        return Aggregate(z)
