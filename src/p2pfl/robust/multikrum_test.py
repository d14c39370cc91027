import numpy as np

from p2pfl.robust.krum import Krum
from p2pfl.robust.krum_test import cluster_with_outliers
from p2pfl.robust.multikrum import MultiKrum


def test_keeps_the_n_minus_f_honest_and_averages_them() -> None:
    x = cluster_with_outliers(10, 3)
    out = MultiKrum(3)(x)
    assert out.selected == tuple(range(7))
    np.testing.assert_allclose(out.vector, x[:7].mean(axis=0))


def test_m_equal_one_is_krum() -> None:
    x = cluster_with_outliers(9, 2, seed=7)
    one = MultiKrum(2, m=1)(x)
    krum = Krum(2)(x)
    assert one.selected == krum.selected
    np.testing.assert_allclose(one.vector, krum.vector)


def test_selection_ties_to_lower_index() -> None:
    x = np.zeros((7, 2))
    assert MultiKrum(2)(x).selected == (0, 1, 2, 3, 4)
