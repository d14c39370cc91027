"""The circuit's inputs, in ``EpochManager.publicInputs``' order and field encoding:
epoch, seed, n, f, rho's numerator and denominator, the sketches packed five entries to a
field element (each entry offset by 2^47 into 48 bits), the selection and flag masks."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from p2pfl.errors import ConfigError

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
ENTRY_BOUND = 1 << 47  # |entry| < 2^47: distances stay far below the field size
ENTRY_BITS = 48
PACK = 5


def pack_sketches(sketches: Sequence[Sequence[int]], *, check: bool = True) -> list[int]:
    """Row-major entries + 2^47, five to an integer (entry j at bit 48 j), as
    ``EpochManager.publicInputs`` packs them. ``check=False`` skips the bound (tests of
    the circuit's own range check only)."""
    flat = [int(x) for row in sketches for x in row]
    if check:
        for i, x in enumerate(flat):
            if not -ENTRY_BOUND < x < ENTRY_BOUND:
                raise ConfigError(f"sketch entry {i} = {x} is outside (-2^47, 2^47): unprovable")
    return [
        sum((x + ENTRY_BOUND) << (ENTRY_BITS * j) for j, x in enumerate(flat[c : c + PACK]))
        for c in range(0, len(flat), PACK)
    ]


def field(x: int) -> str:
    """A signed integer as a BN254 scalar (negatives as r - |x|), hex for noir_js."""
    return hex(x % BN254_R)


def mask(indices: Sequence[int]) -> int:
    return sum(1 << i for i in indices)


def krum_inputs(
    epoch: int,
    seed: bytes,
    f: int,
    sketches: Sequence[Sequence[int]],
    selected: Sequence[int],
    flagged: Sequence[int],
    rho: Fraction,
    *,
    check: bool = True,
) -> dict[str, Any]:
    return {
        "epoch": field(epoch),
        "seed": field(int.from_bytes(seed, "big")),
        "n": field(len(sketches)),
        "f": field(f),
        "rho_num": field(rho.numerator),
        "rho_den": field(rho.denominator),
        "packed": [field(p) for p in pack_sketches(sketches, check=check)],
        "limbs": [[field(int(x) + ENTRY_BOUND) for x in row] for row in sketches],
        "selected_mask": field(mask(selected)),
        "flag_mask": field(mask(flagged)),
    }


def public_inputs(inputs: dict[str, Any]) -> list[int]:
    """The flat public inputs the verifier sees, for checks against the contract's list."""
    flat = [inputs[key] for key in ("epoch", "seed", "n", "f", "rho_num", "rho_den")]
    flat += inputs["packed"]
    flat += [inputs["selected_mask"], inputs["flag_mask"]]
    return [int(x, 16) for x in flat]
