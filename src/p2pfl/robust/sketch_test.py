import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import INT32_MAX
from p2pfl.robust.sketch import count_sketch, sketch_many, sketch_plan

SEED = bytes(range(32))


def reference_sketch(q: list[int], seed: bytes, k: int) -> list[int]:
    """DESIGN.md's definition, index by index, with no vectorisation."""
    s = [0] * k
    for t, value in enumerate(q):
        h = keccak256(seed + (t // 8).to_bytes(32, "big"))
        r = int.from_bytes(h[4 * (t % 8) : 4 * (t % 8) + 4], "big")
        sign = 1 if r >> 31 == 0 else -1
        s[r % k] += sign * value
    return s


@pytest.mark.parametrize("k", [1, 10, 64, 128])
def test_matches_the_definition(k: int) -> None:
    rng = np.random.default_rng(k)
    q = rng.integers(-INT32_MAX, INT32_MAX, size=203, dtype=np.int64).astype(np.int32)
    plan = sketch_plan(SEED, 203, k)
    assert count_sketch(q, plan).tolist() == reference_sketch(q.tolist(), SEED, k)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-INT32_MAX, INT32_MAX), min_size=1, max_size=40),
    st.binary(min_size=32, max_size=32),
)
def test_matches_the_definition_on_any_input(values: list[int], seed: bytes) -> None:
    q = np.array(values, dtype=np.int32)
    assert count_sketch(q, sketch_plan(seed, len(values), 64)).tolist() == reference_sketch(
        values, seed, 64
    )


def test_is_linear() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(-1000, 1000, size=500).astype(np.int32)
    b = rng.integers(-1000, 1000, size=500).astype(np.int32)
    plan = sketch_plan(SEED, 500)
    np.testing.assert_array_equal(
        count_sketch(a + b, plan), count_sketch(a, plan) + count_sketch(b, plan)
    )


def test_extreme_values_do_not_overflow() -> None:
    q = np.full(4096, INT32_MAX, dtype=np.int32)
    s = count_sketch(q, sketch_plan(SEED, 4096, 1))
    assert s.tolist() == reference_sketch(q.tolist(), SEED, 1)
    assert abs(int(s[0])) <= 4096 * INT32_MAX


def test_seed_changes_the_sketch() -> None:
    q = np.arange(1, 101, dtype=np.int32)
    other = bytes(32)
    assert (
        count_sketch(q, sketch_plan(SEED, 100)).tolist()
        != count_sketch(q, sketch_plan(other, 100)).tolist()
    )


def test_sketch_many_stacks_rows() -> None:
    qs = [np.arange(10, dtype=np.int32) * i for i in range(3)]
    s = sketch_many(qs, SEED, 8)
    assert s.shape == (3, 8)
    assert s[2].tolist() == (2 * s[1]).tolist()


@pytest.mark.parametrize(
    ("seed", "dim", "k"), [(b"short", 10, 64), (SEED, 0, 64), (SEED, 10, 0), (SEED, 10, 1 << 17)]
)
def test_bad_parameters(seed: bytes, dim: int, k: int) -> None:
    with pytest.raises(ConfigError):
        sketch_plan(seed, dim, k)


def test_rejects_wrong_length_and_floats() -> None:
    plan = sketch_plan(SEED, 10)
    with pytest.raises(ConfigError):
        count_sketch(np.zeros(11, dtype=np.int32), plan)
    with pytest.raises(ConfigError):
        count_sketch(np.zeros(10), plan)  # type: ignore[arg-type]
