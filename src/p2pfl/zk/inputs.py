"""The circuit's inputs, in ``EpochManager.publicInputs``' order and field encoding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617


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
) -> dict[str, Any]:
    return {
        "epoch": field(epoch),
        "seed": field(int.from_bytes(seed, "big")),
        "n": field(len(sketches)),
        "f": field(f),
        "sketches": [[field(int(x)) for x in row] for row in sketches],
        "selected_mask": field(mask(selected)),
        "flag_mask": field(mask(flagged)),
    }


def public_inputs(inputs: dict[str, Any]) -> list[int]:
    """The flat public inputs the verifier sees, for checks against the contract's list."""
    flat = [inputs["epoch"], inputs["seed"], inputs["n"], inputs["f"]]
    flat += [x for row in inputs["sketches"] for x in row]
    flat += [inputs["selected_mask"], inputs["flag_mask"]]
    return [int(x, 16) for x in flat]
