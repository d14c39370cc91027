import numpy as np
import pytest

from p2pfl.robust.base import ByzantineBoundError
from p2pfl.robust.median import Median


def test_coordinate_wise_median_ignores_outliers() -> None:
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [1e9, -1e9], [2.5, 25.0]])
    np.testing.assert_allclose(Median(1)(x).vector, [2.5, 20.0])


def test_median_needs_honest_majority() -> None:
    with pytest.raises(ByzantineBoundError):
        Median(2)(np.zeros((4, 2)))
