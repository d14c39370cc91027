"""The global model's bytes and digest, and the blob digest of updates and models."""

from __future__ import annotations

import numpy as np
import pytest

from p2pfl.errors import CodecError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update
from p2pfl.protocol.model import GlobalModel, blob_digest


def test_genesis_is_deterministic_and_its_digest_covers_the_raw_float32_data() -> None:
    a, b = GlobalModel.genesis(0), GlobalModel.genesis(0)
    assert a.digest == b.digest
    assert GlobalModel.genesis(1).digest != a.digest
    assert a.digest == keccak256(a.flat.astype("<f4").tobytes())
    assert a.spec.dim == 46_730


def test_safetensors_round_trip_and_blob_digest_of_both_kinds() -> None:
    model = GlobalModel.genesis(0)
    data = model.to_safetensors()
    back = GlobalModel.from_safetensors(data, model.spec)
    assert np.array_equal(back.flat, model.flat)
    assert blob_digest(model.spec, data) == model.digest
    rng = np.random.default_rng(0)
    update = Update(model.spec, rng.integers(-1000, 1000, model.spec.dim).astype(np.int32))
    assert blob_digest(model.spec, update.to_safetensors()) == update.digest


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: b"\xff" * 8 + d[8:],  # header length nonsense
        lambda d: d.replace(b"F32", b"F64", 1),  # wrong dtype
        lambda d: b"",
    ],
)
def test_corrupt_blobs_have_no_digest(mangle: object) -> None:
    model = GlobalModel.genesis(0)
    with pytest.raises(CodecError):
        blob_digest(model.spec, mangle(model.to_safetensors()))  # type: ignore[operator]


def test_step_adds_the_mean_in_float64_and_refuses_non_finite_weights() -> None:
    model = GlobalModel.genesis(0)
    step = np.full(model.spec.dim, 0.25)
    new = model.step(step)
    assert np.array_equal(new.flat, (model.flat.astype(np.float64) + 0.25).astype(np.float32))
    assert new.digest != model.digest
    with pytest.raises(CodecError, match="NaN or infinite"):
        model.step(np.full(model.spec.dim, np.inf))
