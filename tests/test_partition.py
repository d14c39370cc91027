import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.learn.partition import dirichlet_shards, iid_shards


def labels(n: int = 5000) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 10, size=n)


def assert_partition(shards: list[np.ndarray], n: int) -> None:
    allidx = np.concatenate(shards)
    assert len(allidx) == n
    assert len(np.unique(allidx)) == n


def test_iid_is_a_seeded_partition() -> None:
    shards = iid_shards(1003, 10, seed=1)
    assert_partition(shards, 1003)
    assert {len(s) for s in shards} <= {100, 101}
    assert all(np.array_equal(a, b) for a, b in zip(shards, iid_shards(1003, 10, 1), strict=True))
    assert not np.array_equal(shards[0], iid_shards(1003, 10, 2)[0])


def test_dirichlet_is_a_seeded_skewed_partition() -> None:
    y = labels()
    shards = dirichlet_shards(y, 10, alpha=0.5, seed=3)
    assert_partition(shards, len(y))
    again = dirichlet_shards(y, 10, alpha=0.5, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(shards, again, strict=True))
    hist = np.array([np.bincount(y[s], minlength=10) / len(s) for s in shards])
    iid_hist = np.array(
        [np.bincount(y[s], minlength=10) / len(s) for s in iid_shards(len(y), 10, 3)]
    )
    # label skew: class shares vary much more across clients than under IID
    assert hist.std(axis=0).mean() > 4 * iid_hist.std(axis=0).mean()


def test_dirichlet_large_alpha_tends_to_iid() -> None:
    y = labels()
    skewed = dirichlet_shards(y, 5, 0.1, seed=0)
    flat = dirichlet_shards(y, 5, 1000.0, seed=0)

    def spread(shards: list[np.ndarray]) -> float:
        return float(
            np.array([np.bincount(y[s], minlength=10) / len(s) for s in shards]).std(axis=0).mean()
        )

    assert spread(flat) < spread(skewed) / 5


def test_min_size_holds() -> None:
    assert min(len(s) for s in dirichlet_shards(labels(), 10, 0.1, seed=5, min_size=50)) >= 50


@pytest.mark.parametrize(("n", "clients"), [(5, 10), (10, 0)])
def test_bad_iid_arguments(n: int, clients: int) -> None:
    with pytest.raises(ConfigError):
        iid_shards(n, clients, 0)


def test_bad_alpha() -> None:
    with pytest.raises(ConfigError):
        dirichlet_shards(labels(), 10, 0.0, 0)
