import numpy as np
import pytest

from p2pfl.robust.base import ByzantineBoundError
from p2pfl.robust.bulyan import Bulyan
from p2pfl.robust.krum_test import cluster_with_outliers


def test_bulyan_excludes_outliers() -> None:
    x = cluster_with_outliers(11, 2)
    out = Bulyan(2)(x)
    assert out.selected is not None
    assert len(out.selected) == 11 - 4
    assert all(i < 9 for i in out.selected)
    # The outliers sit ~70 away (10 per coordinate, 50 coordinates); the honest spread of a
    # beta = 3 value trimmed mean is ~0.1 * sqrt(50 / 3) = 0.4.
    assert np.linalg.norm(out.vector - x[:9].mean(axis=0)) < 1.0
    assert np.linalg.norm(x[9:] - out.vector, axis=1).min() > 50


def test_bulyan_needs_4f_plus_3() -> None:
    with pytest.raises(ByzantineBoundError, match=r"4f \+ 3"):
        Bulyan(2)(np.zeros((10, 3)))
