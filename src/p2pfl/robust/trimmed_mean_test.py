import numpy as np
import pytest

from p2pfl.robust.base import ByzantineBoundError
from p2pfl.robust.trimmed_mean import TrimmedMean


def test_trims_f_from_each_side_per_coordinate() -> None:
    x = np.array([[0.0, 5.0], [1.0, -100.0], [2.0, 6.0], [100.0, 7.0], [3.0, 8.0]])
    # column 0 sorted: 0 1 2 3 100 -> mean(1, 2, 3); column 1: -100 5 6 7 8 -> mean(5, 6, 7)
    np.testing.assert_allclose(TrimmedMean(1)(x).vector, [2.0, 6.0])


def test_f_zero_is_the_mean() -> None:
    x = np.random.default_rng(0).normal(size=(4, 6))
    np.testing.assert_allclose(TrimmedMean(0)(x).vector, x.mean(axis=0))


def test_needs_2f_plus_1() -> None:
    with pytest.raises(ByzantineBoundError):
        TrimmedMean(2)(np.zeros((4, 1)))
