import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust.base import ByzantineBoundError
from p2pfl.robust.krum import Krum, krum_scores


def naive_scores(x: np.ndarray, f: int) -> list[float]:
    """Krum by the paper's definition: the n - f - 2 nearest others."""
    n = len(x)
    out = []
    for i in range(n):
        d = sorted(float(np.sum((x[i] - x[j]) ** 2)) for j in range(n) if j != i)
        out.append(sum(d[: n - f - 2]))
    return out


def cluster_with_outliers(n: int, bad: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.1, size=(n, 50))
    x[n - bad :] += rng.normal(0, 10.0, size=(bad, 50))
    return x


def test_scores_match_the_definition() -> None:
    x = cluster_with_outliers(9, 2)
    np.testing.assert_allclose(krum_scores(x, 2), naive_scores(x, 2), rtol=1e-9)


def test_krum_picks_an_honest_update() -> None:
    x = cluster_with_outliers(10, 3)
    out = Krum(3)(x)
    assert out.selected is not None
    assert out.selected[0] < 7
    np.testing.assert_array_equal(out.vector, x[out.selected[0]])


def test_refuses_n_below_2f_plus_3() -> None:
    with pytest.raises(ByzantineBoundError, match=r"n >= 2f \+ 3 = 9"):
        Krum(3)(cluster_with_outliers(8, 3))


def test_ties_go_to_the_lower_index() -> None:
    x = np.zeros((5, 3))  # every score is 0
    assert Krum(1)(x).selected == (0,)


def test_nearest_matches_byzfl_convention() -> None:
    x = cluster_with_outliers(9, 2, seed=4)
    n, f = 9, 2
    expected = [
        sum(sorted(float(np.sum((x[i] - x[j]) ** 2)) for j in range(n) if j != i)[: n - f - 1])
        for i in range(n)
    ]
    np.testing.assert_allclose(krum_scores(x, f, nearest=n - f - 1), expected, rtol=1e-9)


def test_krum_rejects_non_finite_updates() -> None:
    x = cluster_with_outliers(9, 2)
    x[4, 0] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        Krum(2)(x)
