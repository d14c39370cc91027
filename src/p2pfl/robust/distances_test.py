import numpy as np

from p2pfl.robust import distances
from p2pfl.robust.distances import pairwise_sq_distances


def brute(x: np.ndarray) -> np.ndarray:
    n = x.shape[0]
    return np.array([[float(np.sum((x[i] - x[j]) ** 2)) for j in range(n)] for i in range(n)])


def test_matches_brute_force_with_large_offset(monkeypatch: object) -> None:
    rng = np.random.default_rng(1)
    # A large common offset makes the naive Gram form cancel badly; centring fixes it.
    x = 1e4 + rng.normal(size=(7, 300))
    np.testing.assert_allclose(pairwise_sq_distances(x), brute(x), rtol=1e-9, atol=1e-6)


def test_blocks_cover_every_column() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 1000))
    old = distances.BLOCK
    try:
        distances.BLOCK = 97  # several partial blocks
        np.testing.assert_allclose(pairwise_sq_distances(x), brute(x), rtol=1e-10)
    finally:
        distances.BLOCK = old


def test_float32_input_gives_float64_accuracy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 5000)).astype(np.float32)
    np.testing.assert_allclose(pairwise_sq_distances(x), brute(x.astype(np.float64)), rtol=1e-9)
