"""The protocol's rule: exact-integer Krum on sketches, Multi-Krum selection, flags and
the seed's bracket test, as DESIGN.md defines them. The Noir circuit and the contracts
recompute exactly these numbers.

* ``D[i][j] = |s_i - s_j|^2``; ``score_i`` = sum of the ``n - f - 2`` smallest
  ``D[i][j]``, ``j != i``. Requires ``n >= 2f + 3``.
* Selection: the ``m = n - f`` lowest scores, ties to the lower index (``m = 1``: Krum).
* ``T`` = the largest selected score. Flag ``i`` iff ``rho_den score_i > rho_num T``
  (``rho = rho_num / rho_den >= 1``, default 3): a clear outlier, far outside the
  selected cluster. With ``rho >= 1`` a flagged operator is never selected.
* Suspicious (the seed's bracket test, reported only) iff more scores fall in
  ``[mean - std/2, mean)`` than in ``[mean, mean + 3 std / 2]``; in integers
  ``a_i < 0 and 4 a_i^2 <= V`` against ``a_i >= 0 and 4 a_i^2 <= 9 V`` with
  ``a_i = n score_i - sum(score)`` and ``V = n sum(score^2) - sum(score)^2``.

All arithmetic is on Python integers (arbitrary precision), so nothing can overflow
silently; an int64 fast path for distances is taken only when a bound proves it exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.base import require

DEFAULT_RHO = Fraction(3)
RHO_LIMIT = 1 << 16  # rho_num and rho_den are below this (the circuit's range)
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


def check_rho(rho: Fraction) -> Fraction:
    """``rho`` as the circuit and the contract accept it: ``1 <= rho``, numerator and
    denominator below 2^16."""
    if rho < 1 or rho.numerator >= RHO_LIMIT or rho.denominator >= RHO_LIMIT:
        raise ValueError(
            f"rho must be a fraction >= 1 with numerator and denominator below {RHO_LIMIT},"
            f" got {rho}"
        )
    return rho


def parse_rho(text: str) -> Fraction:
    """``rho`` from text like ``3`` or ``5/2``; ValueError with one clear line otherwise."""
    try:
        return check_rho(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise ValueError(
            f"rho must be a fraction >= 1 like 3 or 5/2 (numerator and denominator below"
            f" 2^16), got {text!r}"
        ) from None


def threshold(scores: list[int], selected: list[int]) -> int:
    """``T``: the largest selected score."""
    if not selected:
        raise ValueError("the selection is empty")
    return max(scores[i] for i in selected)


def flags(scores: list[int], selected: list[int], rho: Fraction = DEFAULT_RHO) -> list[bool]:
    """``rho_den score_i > rho_num T`` (DESIGN.md "Flags")."""
    check_rho(rho)
    t = threshold(scores, selected)
    return [rho.denominator * s > rho.numerator * t for s in scores]


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
    threshold: int  # T, the largest selected score
    rho: Fraction
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
    rho: Fraction = DEFAULT_RHO,
) -> KrumResult:
    """Krum scores, Multi-Krum selection (``m = n - f`` by default), ``T``, flags, suspicion."""
    dist = distance_matrix(sketches)
    n = len(dist)
    scores = krum_scores_exact(dist, f)
    keep = n - f if m is None else m
    selected = select_lowest(scores, keep)
    return KrumResult(
        n=n,
        f=f,
        m=keep,
        scores=scores,
        selected=selected,
        threshold=threshold(scores, selected),
        rho=check_rho(rho),
        flags=flags(scores, selected, rho),
        suspicious=suspicious(scores),
        bracket=bracket_counts(scores),
    )
