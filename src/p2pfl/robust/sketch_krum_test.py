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


def rational_flags(scores: list[int], selected: list[int], rho: Fraction) -> list[bool]:
    """The flag rule with exact rationals: score > rho * T."""
    t = max(scores[i] for i in selected)
    return [Fraction(s) > rho * t for s in scores]


def rational_bracket(scores: list[int]) -> tuple[int, int]:
    n = len(scores)
    mean = Fraction(sum(scores), n)
    var = sum((Fraction(s) - mean) ** 2 for s in scores) / n
    below = sum(1 for s in scores if s < mean and (mean - s) ** 2 * 4 <= var)
    above = sum(1 for s in scores if s >= mean and (s - mean) ** 2 * 4 <= 9 * var)
    return below, above


RHOS = st.fractions(min_value=1, max_value=50, max_denominator=2**16 - 1).filter(
    lambda r: r.numerator < 2**16
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**108), min_size=3, max_size=32), st.data(), RHOS)
def test_flags_equal_the_rational_rule_and_never_select(
    scores: list[int], data: st.DataObject, rho: Fraction
) -> None:
    keep = data.draw(st.integers(1, len(scores)))
    selected = select_lowest(scores, keep)
    got = flags(scores, selected, rho)
    assert got == rational_flags(scores, selected, rho)
    assert not any(got[i] for i in selected)


@pytest.mark.parametrize(
    "rho", [Fraction(1, 2), Fraction(0), Fraction(2**16), Fraction(3, 2**16), Fraction(-3)]
)
def test_refuses_rho_outside_the_circuits_range(rho: Fraction) -> None:
    with pytest.raises(ValueError, match="rho must be"):
        flags([1, 2, 3], [0], rho)


def test_flag_boundary_is_strict() -> None:
    # T = 10: 30 is exactly 3 T (not flagged), 31 is above (flagged); rho = 5/2: 25 vs 26
    assert flags([10, 30, 31, 5], [0, 3]) == [False, False, True, False]
    assert flags([10, 25, 26], [0], Fraction(5, 2)) == [False, False, True]


def test_zero_threshold_flags_every_positive_score() -> None:
    assert flags([0, 0, 0, 1], [0, 1, 2]) == [False, False, False, True]


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
    assert result.threshold == max(result.scores[i] for i in result.selected)
    assert not result.suspicious


def test_krum_is_m_equal_one() -> None:
    rng = np.random.default_rng(6)
    s = rng.integers(-100, 100, size=(9, 16))
    assert sketch_krum(s, f=2, m=1).selected == [int(np.argmin(sketch_krum(s, f=2).scores))]
