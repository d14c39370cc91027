"""The protocol's rule: exact-integer Krum on sketches, Multi-Krum selection, flags and
the seed's bracket test, as DESIGN.md defines them. The Noir circuit and the contracts
recompute exactly these numbers.

* ``D[i][j] = |s_i - s_j|^2``; ``score_i`` = sum of the ``n - f - 2`` smallest
  ``D[i][j]``, ``j != i``. Requires ``n >= 2f + 3``.
* Selection: the ``m = n - f`` lowest scores, ties to the lower index (``m = 1``: Krum).
* Flag ``i`` iff ``a_i > 0`` and ``kappa_den^2 a_i^2 > kappa_num^2 V`` with
  ``a_i = n score_i - sum(score)`` and ``V = n sum(score^2) - sum(score)^2``, i.e.
  ``score_i - mean > kappa std`` (population std) without division or square root.
* Suspicious iff more scores fall in ``[mean - std/2, mean)`` than in
  ``[mean, mean + 3 std / 2]``; in integers ``a_i < 0 and 4 a_i^2 <= V`` against
  ``a_i >= 0 and 4 a_i^2 <= 9 V``.

All arithmetic is on Python integers (arbitrary precision), so nothing can overflow
silently; an int64 fast path for distances is taken only when a bound proves it exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.base import require

DEFAULT_KAPPA = Fraction(3, 2)
INT64_SAFE = (1 << 63) - 1


def distance_matrix(sketches: NDArray[np.integer] | list[list[int]]) -> list[list[int]]:
    """Exact ``D[i][j] = |s_i - s_j|^2`` as Python ints."""
    s = np.asarray(sketches, dtype=object) if isinstance(sketches, list) else np.asarray(sketches)
    if s.ndim != 2:
        raise ValueError(f"sketches must be an (n, k) matrix, got shape {s.shape}")
    n, k = s.shape
    if s.dtype != object and n:
        biggest = int(np.abs(s.astype(np.int64)).max()) if s.size else 0
        # |s_i - s_j| <= 2 * biggest; k of their squares must fit in int64.
        if k * (2 * biggest) ** 2 <= INT64_SAFE:
            s64 = s.astype(np.int64)
            d64 = ((s64[:, None, :] - s64[None, :, :]) ** 2).sum(axis=2)
            return [[int(v) for v in row] for row in d64]
    rows = [[int(v) for v in row] for row in s]
    return [
        [sum((a - b) * (a - b) for a, b in zip(rows[i], rows[j], strict=True)) for j in range(n)]
        for i in range(n)
    ]


def krum_scores_exact(dist: list[list[int]], f: int) -> list[int]:
    n = len(dist)
    require(n, f, 2 * f + 3, "Krum", "2f + 3")
    m = n - f - 2
    return [sum(sorted(dist[i][j] for j in range(n) if j != i)[:m]) for i in range(n)]


def select_lowest(scores: list[int], m: int) -> list[int]:
    """The ``m`` lowest scores, ties to the lower index, as ascending indices."""
    if not 1 <= m <= len(scores):
        raise ValueError(f"selection size m must be in [1, {len(scores)}], got {m}")
    return sorted(sorted(range(len(scores)), key=lambda i: (scores[i], i))[:m])


def deviations(scores: list[int]) -> tuple[list[int], int]:
    """``a_i = n score_i - sum(score)`` and ``V = n sum(score^2) - sum(score)^2``."""
    n, total = len(scores), sum(scores)
    return [n * x - total for x in scores], n * sum(x * x for x in scores) - total * total


def flags(scores: list[int], kappa: Fraction = DEFAULT_KAPPA) -> list[bool]:
    """``score_i - mean > kappa * std``, division-free (DESIGN.md)."""
    if kappa < 0:
        raise ValueError(f"kappa must be >= 0, got {kappa}")
    a, v = deviations(scores)
    num2, den2 = kappa.numerator**2, kappa.denominator**2
    return [ai > 0 and den2 * ai * ai > num2 * v for ai in a]


def bracket_counts(scores: list[int]) -> tuple[int, int]:
    """Scores in ``[mean - std/2, mean)`` and in ``[mean, mean + 3 std/2]``."""
    a, v = deviations(scores)
    below = sum(1 for ai in a if ai < 0 and 4 * ai * ai <= v)
    above = sum(1 for ai in a if ai >= 0 and 4 * ai * ai <= 9 * v)
    return below, above


def suspicious(scores: list[int]) -> bool:
    below, above = bracket_counts(scores)
    return below > above


@dataclass(frozen=True)
class KrumResult:
    """Everything the aggregator posts and proves, and every watcher recomputes."""

    n: int
    f: int
    m: int
    scores: list[int]
    selected: list[int]
    flags: list[bool]
    suspicious: bool
    bracket: tuple[int, int]

    @property
    def flagged(self) -> list[int]:
        return [i for i, flag in enumerate(self.flags) if flag]


def sketch_krum(
    sketches: NDArray[np.integer] | list[list[int]],
    f: int,
    m: int | None = None,
    kappa: Fraction = DEFAULT_KAPPA,
) -> KrumResult:
    """Krum scores, Multi-Krum selection (``m = n - f`` by default), flags, suspicion."""
    dist = distance_matrix(sketches)
    n = len(dist)
    scores = krum_scores_exact(dist, f)
    keep = n - f if m is None else m
    return KrumResult(
        n=n,
        f=f,
        m=keep,
        scores=scores,
        selected=select_lowest(scores, keep),
        flags=flags(scores, kappa),
        suspicious=suspicious(scores),
        bracket=bracket_counts(scores),
    )
