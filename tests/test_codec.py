import math

import numpy as np
import pytest
import torch
from safetensors.numpy import save as st_save

from p2pfl.errors import CodecError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import (
    INT32_MAX,
    INT32_MIN,
    SCALE,
    ModelSpec,
    Update,
    clip_norm,
    dequantize,
    flatten_state,
    norm_bound_sq,
    quantize,
    unflatten_state,
)
from p2pfl.learn.model import new_model

SPEC = ModelSpec((("a.bias", (3,)), ("a.weight", (2, 3)), ("b", (4,))))


def update(values: list[int] | None = None) -> Update:
    q = np.array(values if values is not None else range(-6, 7), dtype=np.int32)
    return Update(SPEC, q)


def test_canonical_order_is_sorted_state_dict_keys() -> None:
    state = {"z": torch.ones(2), "a": torch.zeros(3)}
    spec = ModelSpec.of(state)
    assert spec.names == ("a", "z")
    np.testing.assert_array_equal(flatten_state(state), [0, 0, 0, 1, 1])


def test_model_round_trip() -> None:
    model = new_model(0)
    state = model.state_dict()
    spec = ModelSpec.of(state)
    assert spec.dim == 46_730
    back = unflatten_state(spec, flatten_state(state))
    assert all(torch.equal(back[k], state[k]) for k in state)


def test_quantize_rounds_half_to_even_and_clamps() -> None:
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49, 1e6, -1e6]) / SCALE
    x[6:] *= SCALE * SCALE  # far beyond int32
    assert quantize(x).tolist() == [0, 2, 2, 0, -2, 0, INT32_MAX, -INT32_MAX]


def test_quantize_rejects_nan() -> None:
    with pytest.raises(CodecError, match="NaN"):
        quantize(np.array([1.0, math.nan]))


def test_clip_norm() -> None:
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(clip_norm(x, 1.0), [0.6, 0.8])
    assert clip_norm(x, 10.0) is x
    with pytest.raises(CodecError):
        clip_norm(x, 0.0)


def test_from_delta_clips_then_quantizes() -> None:
    delta = np.full(SPEC.dim, 10.0)
    upd = Update.from_delta(SPEC, delta, clip=1.0)
    assert np.linalg.norm(dequantize(upd.q)) == pytest.approx(1.0, abs=1e-4)


def test_digest_is_the_root_of_little_endian_int32_in_canonical_order() -> None:
    u = update()
    raw = b"".join(int(v).to_bytes(4, "little", signed=True) for v in range(-6, 7))
    # 13 entries: one leaf, zero-padded to 256 bytes; the root of a depth-0 tree is its hash.
    assert u.digest == keccak256(raw + bytes(256 - len(raw)))
    assert len(u.digest) == 32


def test_keccak_is_ethereum_keccak_not_sha3() -> None:
    assert (
        keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


def test_safetensors_round_trip_is_deterministic() -> None:
    u = update()
    data = u.to_safetensors()
    assert data == update().to_safetensors()
    back = Update.from_safetensors(data, SPEC)
    np.testing.assert_array_equal(back.q, u.q)
    assert back.digest == u.digest


def test_real_model_update_size() -> None:
    model = new_model(1)
    spec = ModelSpec.of(model.state_dict())
    u = Update.from_delta(spec, np.random.default_rng(0).normal(0, 0.01, spec.dim), clip=10.0)
    data = u.to_safetensors()
    assert 4 * spec.dim < len(data) < 4 * spec.dim + 1024  # ~190 KB
    np.testing.assert_array_equal(Update.from_safetensors(data, spec).q, u.q)


def _st(tensors: dict[str, np.ndarray]) -> bytes:
    return bytes(st_save(tensors))


GOOD = {
    "a.bias": np.zeros(3, np.int32),
    "a.weight": np.zeros((2, 3), np.int32),
    "b": np.zeros(4, np.int32),
}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "truncated"),
        (b"\x01\x02", "truncated"),
        ((10**6).to_bytes(8, "little") + b"{}", "truncated"),
        ((4).to_bytes(8, "little") + b"\xff\xfe{}", "corrupt"),
        ((2).to_bytes(8, "little") + b"[]", "not an object"),
        (b"garbage!" * 10, "truncated|corrupt"),
        (_st({**GOOD, "b": np.zeros(4, np.float32)}), "dtype"),
        (_st({**GOOD, "b": np.zeros(5, np.int32)}), "shape"),
        (_st({**GOOD, "a.weight": np.zeros((3, 2), np.int32)}), "shape"),
        (_st({k: v for k, v in GOOD.items() if k != "b"}), "missing"),
        (_st({**GOOD, "extra": np.zeros(1, np.int32)}), "extra"),
        (_st({**GOOD, "b": np.array([0, 0, -(2**31), 0], np.int32)}), "symmetric"),
    ],
)
def test_bad_bytes_get_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        Update.from_safetensors(data, SPEC)


def test_truncated_real_file_is_rejected() -> None:
    data = update().to_safetensors()
    for cut in (len(data) - 1, len(data) // 2, 9):
        with pytest.raises(CodecError):
            Update.from_safetensors(data[:cut], SPEC)


def test_oversize_is_rejected_before_parsing() -> None:
    with pytest.raises(CodecError, match="limit"):
        Update.from_safetensors(b"\0" * 10_000, SPEC)


def test_update_checks_its_vector() -> None:
    with pytest.raises(CodecError):
        Update(SPEC, np.zeros(SPEC.dim, dtype=np.int64))
    with pytest.raises(CodecError):
        Update(SPEC, np.zeros(SPEC.dim + 1, dtype=np.int32))


# ---- the norm bound (DESIGN.md): every honest update meets it, by construction


CNN = ModelSpec.of(new_model(0).state_dict())
CLIP = 10.0


def test_the_norm_bound_is_exact_integers() -> None:
    d = CNN.dim
    assert d == 46_730
    assert norm_bound_sq(CLIP, d) == (655_360 + 217) ** 2  # ⌈√46730⌉ = 217
    assert norm_bound_sq(0.1, 1) == (6553 + 1) ** 2  # ⌊0.1·2^16⌋ = 6553
    with pytest.raises(CodecError, match="positive clip"):
        norm_bound_sq(0.0, d)


@pytest.mark.parametrize("seed", range(5))
def test_an_honest_update_meets_the_bound_in_the_rounding_worst_case(seed: int) -> None:
    """Clipped to exactly C, every entry at a half step after scaling (each rounding moves
    it by 1/2, all the same way where round-half-even allows): still within the bound."""
    rng = np.random.default_rng(seed)
    half_steps = (rng.integers(-2000, 2000, CNN.dim) * 2 + 1) / 2  # k + 1/2
    delta = half_steps / SCALE
    delta *= CLIP / float(np.linalg.norm(delta))  # norm C, then rounding adds up to √d/2
    upd = Update.from_delta(CNN, delta, CLIP)
    assert upd.within_norm_bound(CLIP)
    ones = np.ones(CNN.dim) * (CLIP / math.sqrt(CNN.dim))  # all entries equal, norm C
    assert Update.from_delta(CNN, ones, CLIP).within_norm_bound(CLIP)
    huge = rng.normal(0, 1e6, CNN.dim)  # anything, clipped
    assert Update.from_delta(CNN, huge, CLIP).within_norm_bound(CLIP)


def test_updates_above_the_bound_are_invalid_up_to_the_int32_extremes() -> None:
    bound = norm_bound_sq(CLIP, CNN.dim)
    top = Update(CNN, np.full(CNN.dim, INT32_MAX, dtype=np.int32))
    assert top.norm_sq == CNN.dim * INT32_MAX**2  # exact, beyond int64
    assert not top.within_norm_bound(CLIP)
    bottom = Update(CNN, np.full(CNN.dim, INT32_MIN, dtype=np.int32))
    assert not bottom.within_norm_bound(CLIP)
    # one step over the bound: a single entry of exactly ⌊C·2^16⌋ + ⌈√d⌉ + 1
    q = np.zeros(CNN.dim, dtype=np.int32)
    q[7] = math.isqrt(bound) + 1
    assert not Update(CNN, q).within_norm_bound(CLIP)
    q[7] = math.isqrt(bound)
    assert Update(CNN, q).within_norm_bound(CLIP)
    # an unclipped update (what the testnet's attacks send) is refused
    assert not Update.from_delta(CNN, np.full(CNN.dim, 0.5), None).within_norm_bound(CLIP)
