import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust.fedavg import FedAvg


def test_fedavg_is_the_mean() -> None:
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    out = FedAvg()(x)
    np.testing.assert_allclose(out.vector, [3.0, 5.0])
    assert out.selected == (0, 1, 2)


def test_fedavg_weights() -> None:
    x = np.array([[0.0], [10.0]])
    out = FedAvg(weights=np.array([3.0, 1.0]))(x)
    np.testing.assert_allclose(out.vector, [2.5])


@pytest.mark.parametrize("bad", [np.zeros((0, 3)), np.zeros(3), np.array([[np.nan, 1.0]])])
def test_fedavg_rejects_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(ConfigError):
        FedAvg()(bad)
