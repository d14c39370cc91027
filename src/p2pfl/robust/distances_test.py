import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust import distances
from p2pfl.robust.distances import pairwise_sq_distances


def brute(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    return np.array([[float(np.sum((x[i] - x[j]) ** 2)) for j in range(n)] for i in range(n)])


def test_matches_brute_force_with_large_offset() -> None:
    rng = np.random.default_rng(1)
    # A large common offset makes the naive Gram form cancel badly; centring fixes it.
    x = 1e4 + rng.normal(size=(7, 300))
    np.testing.assert_allclose(pairwise_sq_distances(x), brute(x), rtol=1e-9, atol=1e-6)


def test_blocks_cover_every_column() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 1000))
    for block in (97, 500, 999, 1000, 4096):  # partial, exact and oversized blocks
        np.testing.assert_allclose(pairwise_sq_distances(x, block), brute(x), rtol=1e-10)


def test_block_buffer_stays_small() -> None:
    assert distances.block_columns(10) * 10 * 8 <= distances.BUFFER_BYTES
    assert distances.block_columns(100_000) == 512


def test_float32_input_keeps_float32_accuracy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5000)).astype(np.float32)
    np.testing.assert_allclose(pairwise_sq_distances(x), brute(x.astype(np.float64)), rtol=1e-5)


def test_float64_input_keeps_float64_accuracy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5000))
    np.testing.assert_allclose(pairwise_sq_distances(x), brute(x), rtol=1e-11)


def test_float32_close_points_far_from_origin() -> None:
    """Updates that share a large common part: centring keeps float32 distances accurate."""
    rng = np.random.default_rng(4)
    common = rng.normal(0, 1.0, size=200_000)
    x = (common + rng.normal(0, 1e-3, size=(6, 200_000))).astype(np.float32)
    exact = brute(x.astype(np.float64))
    np.testing.assert_allclose(pairwise_sq_distances(x), exact, rtol=1e-4)


def test_non_finite_input_is_rejected() -> None:
    x = np.ones((4, 10), dtype=np.float32)
    x[2, 3] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        pairwise_sq_distances(x)
    x[2, 3] = np.inf
    with pytest.raises(ConfigError, match="NaN"):
        pairwise_sq_distances(x)


def test_float32_overflow_falls_back_to_float64() -> None:
    x = np.zeros((4, 8), dtype=np.float32)
    x[1, 0] = 3e19  # its square overflows float32, not float64
    d = pairwise_sq_distances(x)
    assert np.isfinite(d).all()
    assert d[0, 1] == pytest.approx(9e38, rel=1e-6)
