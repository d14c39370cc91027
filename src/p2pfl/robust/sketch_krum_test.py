from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pfl.robust.base import ByzantineBoundError
from p2pfl.robust.krum import krum_scores
from p2pfl.robust.sketch_krum import (
    bracket_counts,
    distance_matrix,
    flags,
    krum_scores_exact,
    select_lowest,
    sketch_krum,
    suspicious,
)


def rational_flags(scores: list[int], kappa: Fraction) -> list[bool]:
    """The flag rule with exact rationals: score - mean > kappa * std (population std)."""
    n = len(scores)
    mean = Fraction(sum(scores), n)
    var = sum((Fraction(s) - mean) ** 2 for s in scores) / n
    return [s - mean > 0 and (s - mean) ** 2 > kappa**2 * var for s in scores]


def rational_bracket(scores: list[int]) -> tuple[int, int]:
    n = len(scores)
    mean = Fraction(sum(scores), n)
    var = sum((Fraction(s) - mean) ** 2 for s in scores) / n
    below = sum(1 for s in scores if s < mean and (mean - s) ** 2 * 4 <= var)
    above = sum(1 for s in scores if s >= mean and (s - mean) ** 2 * 4 <= 9 * var)
    return below, above


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 2**130), min_size=2, max_size=30),
    st.fractions(min_value=0, max_value=5, max_denominator=7),
)
def test_flags_equal_the_rational_rule(scores: list[int], kappa: Fraction) -> None:
    assert flags(scores, kappa) == rational_flags(scores, kappa)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**100), min_size=2, max_size=30))
def test_bracket_equals_the_rational_rule(scores: list[int]) -> None:
    assert bracket_counts(scores) == rational_bracket(scores)
    below, above = rational_bracket(scores)
    assert suspicious(scores) == (below > above)


def test_exact_scores_equal_float_krum_on_small_integers() -> None:
    rng = np.random.default_rng(0)
    s = rng.integers(-1000, 1000, size=(10, 64))
    exact = krum_scores_exact(distance_matrix(s), 3)
    np.testing.assert_allclose(exact, krum_scores(s.astype(np.float64), 3), rtol=1e-12)


def test_int64_fast_path_equals_python_ints() -> None:
    rng = np.random.default_rng(1)
    s = rng.integers(-(2**20), 2**20, size=(7, 64))
    assert distance_matrix(s) == distance_matrix(s.tolist())


def test_huge_sketches_take_the_exact_path() -> None:
    big = 2**62
    s = np.array([[big, -big], [-big, big], [0, 0], [1, 1], [2, 2]], dtype=np.int64)
    d = distance_matrix(s)
    assert d[0][1] == (2 * big) ** 2 * 2  # would overflow int64 many times over


def test_ties_break_to_the_lower_index() -> None:
    assert select_lowest([5, 1, 1, 0, 1], 3) == [1, 2, 3]
    assert select_lowest([7, 7, 7], 1) == [0]


def test_refuses_n_below_2f_plus_3() -> None:
    with pytest.raises(ByzantineBoundError):
        sketch_krum(np.zeros((6, 4), dtype=np.int64), f=2)


def test_outliers_are_flagged_and_not_selected() -> None:
    rng = np.random.default_rng(5)
    s = rng.integers(-100, 100, size=(10, 64))
    s[[2, 5, 8]] = rng.integers(-(10**6), 10**6, size=64)  # three colluders, same vector
    result = sketch_krum(s, f=3)
    assert result.flagged == [2, 5, 8]
    assert result.selected == [0, 1, 3, 4, 6, 7, 9]
    assert not result.suspicious


def test_krum_is_m_equal_one() -> None:
    rng = np.random.default_rng(6)
    s = rng.integers(-100, 100, size=(9, 16))
    assert sketch_krum(s, f=2, m=1).selected == [int(np.argmin(sketch_krum(s, f=2).scores))]
