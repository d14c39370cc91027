"""What every aggregation rule shares: its result type, its interface, input checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from p2pfl.errors import ConfigError

Matrix = NDArray[np.floating]
Vector = NDArray[np.float64]


class ByzantineBoundError(ConfigError):
    """The rule cannot tolerate ``f`` Byzantine inputs among ``n``."""


@dataclass(frozen=True)
class Aggregate:
    """The result of a rule: the aggregated update, and which inputs it kept (if it says)."""

    vector: Vector
    selected: tuple[int, ...] | None = None
    scores: NDArray[np.float64] | None = None


class AggregationRule(Protocol):
    """A robust aggregation rule over the rows of an ``(n, d)`` matrix."""

    @property
    def name(self) -> str: ...

    def __call__(self, updates: Matrix) -> Aggregate: ...


def check_updates(updates: Matrix, *, finite: bool = True) -> Matrix:
    """Reject what no rule can aggregate: not 2-D, empty, or (``finite``) non-finite.

    Rules that find non-finite values on their own way (Krum's distances do) pass
    ``finite=False`` and skip the extra pass over the data.
    """
    x = np.asarray(updates)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ConfigError(f"updates must be a non-empty (n, d) matrix, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if finite and not np.all(np.isfinite(x)):
        raise ConfigError("updates contain NaN or infinite values")
    return x


def mean_of_rows(x: Matrix, rows: tuple[int, ...]) -> Vector:
    """Mean of some rows as one matrix-vector product (no copy of the rows)."""
    xt = torch.from_numpy(np.ascontiguousarray(x))
    w = torch.zeros(x.shape[0], dtype=xt.dtype)
    w[list(rows)] = 1.0 / len(rows)
    return np.asarray((w @ xt).numpy(), dtype=np.float64)


def require(n: int, f: int, minimum: int, rule: str, bound: str) -> None:
    """Refuse ``n < minimum`` with a message that names the rule and its bound."""
    if f < 0:
        raise ByzantineBoundError(f"f must be >= 0, got {f}")
    if n < minimum:
        raise ByzantineBoundError(f"{rule} needs n >= {bound} = {minimum} for f = {f}, got n = {n}")
