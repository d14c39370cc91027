"""The global model in fixed point: its bytes, digest, step, and the blob digest."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import save as st_save

from p2pfl import merkle
from p2pfl.errors import CodecError
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import INT32_MAX, SCALE, Update
from p2pfl.learn.model import new_model
from p2pfl.protocol.model import GlobalModel, blob_digest

GENESIS = GlobalModel.genesis(0)


def test_genesis_is_deterministic_and_its_digest_covers_the_int32_data() -> None:
    a, b = GlobalModel.genesis(0), GlobalModel.genesis(0)
    assert a.digest == b.digest
    assert GlobalModel.genesis(1).digest != a.digest
    assert a.w.dtype == np.int32
    assert a.digest == merkle.root(a.w)  # the Merkle root of the little-endian int32
    assert a.canonical_bytes() == a.w.astype("<i4").tobytes()
    assert a.spec.dim == 46_730
    # round_half_even(x · 2^16) of the freshly initialised float weights
    state = new_model(0).state_dict()
    assert (
        a.w.tolist()
        == fixedpoint.quantize(
            np.concatenate([state[k].reshape(-1).double().numpy() for k in sorted(state)])
        ).tolist()
    )


def test_the_module_runs_on_the_dequantized_weights() -> None:
    module = GENESIS.module()
    got = np.concatenate([t.reshape(-1).numpy() for _, t in sorted(module.state_dict().items())])
    assert got.dtype == np.float32
    assert np.array_equal(got, (GENESIS.w / SCALE).astype(np.float32))
    assert np.array_equal(GENESIS.weights(), got)
    assert not np.any(GENESIS.delta_of(module))  # an untrained copy has a zero update


def test_safetensors_round_trip_and_blob_digest_of_both_kinds() -> None:
    data = GENESIS.to_safetensors()
    back = GlobalModel.from_safetensors(data, GENESIS.spec)
    assert np.array_equal(back.w, GENESIS.w)
    assert blob_digest(GENESIS.spec, data) == GENESIS.digest
    assert b'"I32"' in data
    assert b"F32" not in data
    rng = np.random.default_rng(0)
    update = Update(GENESIS.spec, rng.integers(-1000, 1000, GENESIS.spec.dim).astype(np.int32))
    assert blob_digest(GENESIS.spec, update.to_safetensors()) == update.digest


def _float_model() -> bytes:
    parts = GENESIS.spec.split(GENESIS.weights())
    return bytes(st_save({k: np.ascontiguousarray(v) for k, v in parts.items()}))


def _with(name: str, value: np.ndarray) -> bytes:
    parts = {k: np.ascontiguousarray(v) for k, v in GENESIS.spec.split(GENESIS.w).items()}
    return bytes(st_save({**parts, name: value}))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda d: d[: len(d) // 2], "truncated|corrupt"),
        (lambda d: b"\xff" * 8 + d[8:], "truncated"),
        (lambda d: b"", "truncated"),
        (lambda d: d + b"\0" * 8192, "limit"),
        (lambda d: _float_model(), "dtype F32, expected I32"),  # the old float32 model
        (lambda d: _with("fc2.bias", np.zeros(11, np.int32)), "shape"),
        (lambda d: _with("fc2.bias", np.zeros(10, np.int64)), "dtype"),
        (lambda d: _with("extra", np.zeros(1, np.int32)), "extra"),
        (lambda d: _with("fc2.bias", np.full(10, -(2**31), np.int32)), "symmetric"),
    ],
)
def test_bad_model_blobs_are_refused_with_a_clear_error(mangle: object, message: str) -> None:
    data = mangle(GENESIS.to_safetensors())  # type: ignore[operator]
    with pytest.raises(CodecError, match=message):
        GlobalModel.from_safetensors(data, GENESIS.spec)
    with pytest.raises(CodecError, match=message):
        blob_digest(GENESIS.spec, data)


def test_the_model_checks_its_vector() -> None:
    with pytest.raises(CodecError, match="int32 of shape"):
        GlobalModel(GENESIS.spec, GENESIS.w[:-1])
    with pytest.raises(CodecError, match="int32 of shape"):
        GlobalModel(GENESIS.spec, GENESIS.w.astype(np.int64))


def test_step_adds_the_rounded_mean_exactly_and_clamps() -> None:
    dim = GENESIS.spec.dim
    ups = [Update(GENESIS.spec, np.full(dim, v, np.int32)) for v in (1, 2, -2, 4)]
    new = GENESIS.step(ups)
    # Σ = 5 over m = 4: 1.25 rounds to 1
    assert np.array_equal(new.w, GENESIS.w + 1)
    assert new.digest != GENESIS.digest
    assert np.array_equal(GENESIS.step(ups[::-1]).w, new.w)
    top = GlobalModel(GENESIS.spec, np.full(dim, INT32_MAX - 1, np.int32))
    assert np.all(top.step(ups).w == INT32_MAX)
    with pytest.raises(CodecError, match="selected updates"):
        GENESIS.step([])
