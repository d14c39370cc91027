import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust.registry import RULES, make_rule


@pytest.mark.parametrize("name", list(RULES))
def test_every_rule_aggregates_a_clean_cluster(name: str) -> None:
    rng = np.random.default_rng(0)
    x = 1.0 + rng.normal(0, 0.01, size=(11, 20))
    out = make_rule(name, 2)(x)
    assert out.vector.shape == (20,)
    assert np.allclose(out.vector, 1.0, atol=0.05)


def test_unknown_rule_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="fedavg"):
        make_rule("nope", 1)
