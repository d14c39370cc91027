"""The fixed-point numbers: quantize, dequantize, rdiv, the model step, bytes, state dicts."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from p2pfl.errors import CodecError
from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint as fp
from p2pfl.learn.fixedpoint import INT32_MAX, INT32_MIN, MAX_STEP_UPDATES, SCALE
from p2pfl.learn.model import new_model
from p2pfl.learn.spec import ModelSpec


def i32(*values: int) -> fp.Int32Vector:
    return np.array(values, dtype=np.int32)


def test_quantize_rounds_half_to_even_and_clamps_both_ends() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, -0.75]) / SCALE
    assert fp.quantize(x).tolist() == [0, 2, 2, 0, -2, -2, 0, -1]
    assert fp.quantize(np.array([1e12, -1e12, 32768.0, -32768.0])).tolist() == [
        INT32_MAX,
        INT32_MIN,
        INT32_MAX,  # 2^15 · 2^16 = 2^31 is one past the top
        INT32_MIN,  # -2^31 is never produced
    ]
    with pytest.raises(CodecError, match="model contains NaN"):
        fp.quantize(np.array([np.nan]), "model")


def test_dequantize_is_exact_and_the_float32_weights_round_once() -> None:
    w = i32(INT32_MAX, INT32_MIN, 1, -1, (1 << 24) + 1, 0)
    assert fp.dequantize(w).tolist() == [v / 65536 for v in w.tolist()]
    f32 = fp.dequantize_f32(w)
    assert f32.dtype == np.float32
    assert f32.tolist() == [float(np.float32(v / 65536)) for v in w.tolist()]
    assert f32[4] == 256.0  # (2^24 + 1) / 2^16 is not a float32: to nearest, even


@pytest.mark.parametrize("m", range(1, 65))
def test_rdiv_is_round_half_up_floor_toward_minus_infinity(m: int) -> None:
    rng = np.random.default_rng(m)
    x = np.concatenate(
        [
            np.arange(-3 * m, 3 * m + 1),
            [m * INT32_MAX, m * INT32_MIN, m * INT32_MAX - 1, m * INT32_MIN + 1],
            rng.integers(m * INT32_MIN, m * INT32_MAX, 200, endpoint=True),
        ]
    ).astype(np.int64)
    # x/m rounded to the nearest integer, halves up: floor(x/m + 1/2), in exact rationals
    assert fp.rdiv(x, m).tolist() == [math.floor(Fraction(int(v), m) + Fraction(1, 2)) for v in x]


def test_rdiv_on_negative_halves_and_thirds() -> None:
    assert fp.rdiv(np.array([-3, -1, 1, 3], np.int64), 2).tolist() == [-1, 0, 1, 2]
    assert fp.rdiv(np.array([-2, -1, 1, 2], np.int64), 3).tolist() == [-1, 0, 0, 1]
    for bad in (0, -1, MAX_STEP_UPDATES + 1):
        with pytest.raises(CodecError, match="rdiv needs"):
            fp.rdiv(np.zeros(1, np.int64), bad)


@pytest.mark.parametrize("m", [1, 2, 3, 7, 31, 63, 64])
def test_step_equals_the_integer_definition(m: int) -> None:
    rng = np.random.default_rng(100 + m)
    d = 50
    w = rng.integers(INT32_MIN, INT32_MAX, d, endpoint=True).astype(np.int32)
    w[:4] = [INT32_MAX, INT32_MIN, 0, -1]
    qs = [rng.integers(INT32_MIN, INT32_MAX, d, endpoint=True).astype(np.int32) for _ in range(m)]
    qs[0][4:8] = [INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN]
    expected = []
    for t in range(d):
        s = sum(int(q[t]) for q in qs)
        expected.append(max(INT32_MIN, min(INT32_MAX, int(w[t]) + (2 * s + m) // (2 * m))))
    got = fp.step(w, qs)
    assert got.dtype == np.int32
    assert got.tolist() == expected
    assert fp.step(w, qs[::-1]).tolist() == expected  # exact: the order does not matter


def test_step_clamps_at_both_ends_with_the_largest_sums() -> None:
    w = i32(INT32_MAX, INT32_MIN, 0, INT32_MAX - 1, INT32_MIN + 1)
    top = [np.full(5, INT32_MAX, np.int32)] * 64
    bottom = [np.full(5, INT32_MIN, np.int32)] * 64
    assert fp.step(w, top).tolist() == [INT32_MAX, 0, INT32_MAX, INT32_MAX, 1]
    assert fp.step(w, bottom).tolist() == [0, INT32_MIN, INT32_MIN, -1, INT32_MIN]
    assert fp.step(w, [i32(1, -1, 0, 2, -2)]).tolist() == [
        INT32_MAX,
        INT32_MIN,
        0,
        INT32_MAX,
        INT32_MIN,
    ]


def test_step_refuses_bad_input() -> None:
    w = i32(1, 2, 3)
    with pytest.raises(CodecError, match=r"1\.\.65536 selected"):
        fp.step(w, [])
    with pytest.raises(CodecError, match="shape"):
        fp.step(w, [i32(1, 2)])
    with pytest.raises(CodecError, match="int32"):
        fp.step(w, [np.array([1, 2, 3], np.int64)])
    with pytest.raises(CodecError, match="symmetric"):
        fp.step(w, [np.array([1, -(2**31), 3], np.int32)])
    with pytest.raises(CodecError, match="model must be int32"):
        fp.step(np.array([1.0, 2.0, 3.0]), [w])


def test_bytes_are_little_endian_and_checked() -> None:
    w = i32(1, -1, INT32_MAX, INT32_MIN)
    raw = fp.to_bytes(w)
    assert raw[:8] == b"\x01\x00\x00\x00\xff\xff\xff\xff"
    assert raw[8:] == b"\xff\xff\xff\x7f\x01\x00\x00\x80"
    assert fp.from_bytes(raw, 4).tolist() == w.tolist()
    # d = 4 <= 64: one zero-padded leaf, the root is its hash (DESIGN.md "Root").
    assert fp.digest(w) == keccak256(raw + bytes(256 - 16))
    with pytest.raises(CodecError, match="15 bytes, expected 16"):
        fp.from_bytes(raw[:-1], 4)
    with pytest.raises(CodecError, match="symmetric"):
        fp.from_bytes(b"\x00\x00\x00\x80", 1)


def test_state_dict_round_trip() -> None:
    state = new_model(3).state_dict()
    spec = ModelSpec.of(state)
    w = fp.from_state(state)
    assert w.shape == (spec.dim,)
    back = fp.to_state(spec, w)
    assert list(back) == list(spec.names)
    for name in spec.names:
        assert back[name].dtype == state[name].dtype
        assert float((back[name] - state[name]).abs().max()) <= 0.5 / SCALE
    assert fp.from_state(back).tolist() == w.tolist()  # the grid is a fixed point
