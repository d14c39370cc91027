import numpy as np

from p2pfl.robust.geomed import GeometricMedian, weiszfeld


def objective(x: np.ndarray, z: np.ndarray) -> float:
    return float(np.linalg.norm(x - z, axis=1).sum())


def test_is_a_minimum_of_the_sum_of_distances() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 5))
    z, iters = weiszfeld(x, max_iter=1000, tol=1e-12)
    assert iters < 1000
    best = objective(x, z)
    for _ in range(50):
        assert objective(x, z + rng.normal(scale=1e-3, size=5)) >= best - 1e-9


def test_robust_to_a_far_outlier() -> None:
    x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1e6, 1e6]])
    z = GeometricMedian()(x).vector
    assert np.all(np.abs(z - 0.5) < 0.5)


def test_collinear_points_give_the_middle_point() -> None:
    x = np.array([[0.0], [1.0], [5.0]])
    np.testing.assert_allclose(GeometricMedian(max_iter=500, tol=1e-12)(x).vector, [1.0], atol=1e-5)
