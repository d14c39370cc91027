"""The Noir Krum circuit against the Python reference: real compilation, execution, proof."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.robust.sketch_krum import DEFAULT_RHO, sketch_krum
from p2pfl.zk.circuit import build, variant_source
from p2pfl.zk.inputs import krum_inputs, public_inputs
from p2pfl.zk.prover import ProverError, check, prove

pytestmark = pytest.mark.slow
VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "krum.json").read_text())
# Multi-Krum cases (the contract fixes the selection size to n - f; m = 1 is not a result).
CASES = [
    c for c in VECTORS["cases"] if c["m"] == c["n"] - c["f"] and c["k"] == 64 and c["n"] in (7, 10)
]


def inputs_for(
    case: dict[str, Any],
    flip_flag: int | None = None,
    swap_sel: bool = False,
    rho: Fraction = DEFAULT_RHO,
) -> dict[str, Any]:
    selected = list(case["selected"])
    if swap_sel:
        dropped = next(i for i in range(case["n"]) if i not in selected)
        selected = sorted([*selected[1:], dropped])
    flagged = set(case["flagged"])
    if flip_flag is not None:
        flagged ^= {flip_flag}
    sketches = [[int(x) for x in row] for row in case["sketches"]]
    seed = bytes.fromhex(case["seed"][2:])
    return krum_inputs(1, seed, case["f"], sketches, selected, sorted(flagged), rho)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_python_results_satisfy_the_circuit(case: dict[str, Any]) -> None:
    assert check(case["n"], case["k"], inputs_for(case)) >= 0


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: c["name"])
def test_tampered_flags_and_selection_are_refused(case: dict[str, Any]) -> None:
    with pytest.raises(ProverError, match="do not satisfy"):
        check(case["n"], case["k"], inputs_for(case, flip_flag=0))
    with pytest.raises(ProverError, match="do not satisfy"):
        check(case["n"], case["k"], inputs_for(case, swap_sel=True))


@pytest.mark.parametrize("case", CASES[:2], ids=lambda c: c["name"])
def test_flags_under_another_rho_are_refused(case: dict[str, Any]) -> None:
    """The flags of the vector are rho = 3's: claimed as rho = 2's (or with rho < 1, or a
    rho beyond the circuit's range) they have no witness unless they are exactly that rho's."""
    scores = [int(s) for s in case["scores"]]
    top = max(scores[i] for i in case["selected"])
    for rho in (Fraction(2), Fraction(1, 2), Fraction(2**14), Fraction(3, 2**14)):
        same = [rho.denominator * s > rho.numerator * top for s in scores] == case["flags"]
        if rho >= 1 and rho.numerator < 2**14 and same:
            continue  # this rho gives the same flags: nothing to refuse
        with pytest.raises(ProverError, match="do not satisfy"):
            check(case["n"], case["k"], inputs_for(case, rho=rho))


def test_the_flags_of_another_rho_verify_under_it() -> None:
    """rho is a public input: a proof for rho = 5/2 exists when its flags are claimed."""
    case = next(c for c in CASES if c["name"] == "n10-f3-colluding-outliers")
    rho = Fraction(5, 2)
    sketches = [[int(x) for x in row] for row in case["sketches"]]
    res = sketch_krum(sketches, case["f"], rho=rho)
    seed = bytes.fromhex(case["seed"][2:])
    inputs = krum_inputs(1, seed, case["f"], sketches, res.selected, res.flagged, rho)
    assert check(case["n"], case["k"], inputs) >= 0


def test_random_and_adversarial_inputs_agree_with_python() -> None:
    rng = np.random.default_rng(11)
    for trial in range(4):
        s = rng.integers(-(2**30), 2**30, size=(10, 64))
        if trial % 2:
            s[rng.choice(10, 3, replace=False)] = rng.integers(-(2**40), 2**40, size=64)
        if trial == 3:
            s[4] = s[5]  # duplicated sketch: distance 0, ties
        result = sketch_krum(s, f=3)
        inputs = krum_inputs(
            7, bytes(32), 3, s.tolist(), result.selected, result.flagged, result.rho
        )
        check(10, 64, inputs)
        wrong = krum_inputs(
            7,
            bytes(32),
            3,
            s.tolist(),
            result.selected,
            sorted({*result.flagged} ^ {9}),
            result.rho,
        )
        with pytest.raises(ProverError):
            check(10, 64, wrong)


def test_entries_beyond_the_range_bound_are_refused() -> None:
    s = np.zeros((10, 64), dtype=object)
    s[0][0] = 2**47  # |s| < 2^47 is what keeps distances free of field wrap-around
    result = sketch_krum(s.astype(np.int64), f=3)
    args = (1, bytes(32), 3, s.tolist(), result.selected, result.flagged, result.rho)
    with pytest.raises(ConfigError, match="outside"):
        krum_inputs(*args)  # Python refuses, as EpochManager.publicInputs does
    with pytest.raises(ProverError, match="do not satisfy"):
        check(10, 64, krum_inputs(*args, check=False))  # and so does the circuit


def test_a_real_proof_for_n10_k64() -> None:
    case = next(c for c in CASES if c["name"] == "n10-f3-colluding-outliers")
    inputs = inputs_for(case)
    proof = prove(10, 64, inputs)
    assert proof.public_inputs == public_inputs(inputs)
    assert len(proof.public_inputs) == 10 * 64 // 5 + 8  # EpochManager.publicInputs' layout
    assert proof.public_inputs[4:6] == [3, 1]  # rho
    first = [int(x) + 2**47 for x in case["sketches"][0][:5]]
    assert proof.public_inputs[6] == sum(x << (48 * j) for j, x in enumerate(first))
    assert len(proof.proof) > 1000


def test_variants_come_from_the_one_source() -> None:
    text = variant_source(7, 128)
    assert "global N: u32 = 7;" in text
    assert "global K: u32 = 128;" in text
    assert build(10, 64) == build(10, 64)  # cached by source hash
