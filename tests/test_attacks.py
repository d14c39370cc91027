import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust.attacks import ATTACKS, AttackContext, make_attack
from p2pfl.robust.attacks.alie import alie_z


def ctx(seed: int = 0) -> AttackContext:
    rng = np.random.default_rng(1)
    known = rng.normal(1.0, 0.1, size=(3, 1000))
    return AttackContext(own=known[0], known=known, n=10, f=3, seed=seed)


def test_gaussian_is_noise_shared_by_colluders() -> None:
    g = make_attack("gaussian")
    v = g.craft(ctx(5))
    assert abs(v.mean()) < 0.1
    assert 0.9 < v.std() < 1.1
    np.testing.assert_array_equal(v, g.craft(ctx(5)))
    assert not np.array_equal(v, g.craft(ctx(6)))


def test_independent_gaussian_differs_per_attacker() -> None:
    g = make_attack("gaussian-independent")
    a = g.craft(AttackContext(own=ctx().own, known=ctx().known, n=10, f=3, seed=5, client=1))
    b = g.craft(AttackContext(own=ctx().own, known=ctx().known, n=10, f=3, seed=5, client=2))
    assert not np.array_equal(a, b)
    assert 0.9 < a.std() < 1.1


def test_sign_flip_negates_own_update() -> None:
    c = ctx()
    np.testing.assert_array_equal(make_attack("signflip").craft(c), -c.own)


def test_label_flip_sends_the_poisoned_update_as_is() -> None:
    a = make_attack("labelflip")
    assert a.poisons_labels
    c = ctx()
    np.testing.assert_array_equal(a.craft(c), c.own)


def test_alie_stays_within_the_honest_spread() -> None:
    c = ctx()
    v = make_attack("alie").craft(c)
    z = alie_z(10, 3)
    assert 0 < z < 2
    np.testing.assert_allclose(v, c.known.mean(axis=0) - z * c.known.std(axis=0))
    assert np.all(np.abs(v - c.known.mean(axis=0)) <= 2 * c.known.std(axis=0) + 1e-12)


def test_ipm_points_against_the_mean() -> None:
    c = ctx()
    v = make_attack("ipm").craft(c)
    assert float(v @ c.known.mean(axis=0)) < 0
    np.testing.assert_allclose(v, -0.5 * c.known.mean(axis=0))


def test_every_attack_has_the_update_shape() -> None:
    for name in ATTACKS:
        assert make_attack(name).craft(ctx()).shape == (1000,)


def test_unknown_attack() -> None:
    with pytest.raises(ConfigError, match="gaussian"):
        make_attack("nope")
