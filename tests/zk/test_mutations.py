"""The hint-mutation suite: every unconstrained value of the Krum circuit is pinned.

Each mutation (p2pfl.zk.mutations) replaces an unconstrained function's body by an
adversarial substitute; the constraints (and the verification key) stay the same, so a
mutant's witness is one a cheating prover could submit. On honest sketches a mutant must
have no witness for the claims its substitute implies, the Noir run must agree with the
Python model of the circuit, and the v1 circuit (equality from a hint) must accept forged
claims with a malicious hint: the control that shows this suite catches the v1 bug.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from p2pfl.robust.sketch_krum import distance_matrix
from p2pfl.zk.circuit import build, variant_source
from p2pfl.zk.mutations import (
    BY_NAME,
    HONEST,
    MUTATIONS,
    Mutation,
    MutationError,
    Outcome,
    claims_inputs,
    evaluate,
    execute,
    replace_body,
    simulate,
    v1_source,
)
from p2pfl.zk.prover import verification_key

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "krum.json").read_text())
N, K = 10, 64
# Every mutation changes a hint value on this case, and the v1 attack turns its three
# colluders (identical sketches, distance 0 to each other) from flagged into selected.
CASE = next(c for c in VECTORS["cases"] if c["name"] == "n10-f3-colluding-outliers")


def _sketches(case: dict[str, Any]) -> list[list[int]]:
    return [[int(x) for x in row] for row in case["sketches"]]


@cache
def outcome(name: str) -> Outcome:
    sketches = _sketches(CASE)
    return evaluate(BY_NAME[name], CASE["name"], sketches, distance_matrix(sketches), CASE["f"], K)


def _mask(indices: list[int]) -> int:
    return sum(1 << i for i in indices)


def _unconstrained_stripped(text: str) -> str:
    """The source with every unconstrained function's body emptied."""
    for name in re.findall(r"^unconstrained fn (\w+)\(", text, re.MULTILINE):
        text = replace_body(text, name, "")
    return text


# --- fast: the source surgery and the model ----------------------------------------------


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_a_mutation_changes_only_unconstrained_bodies(mutation: Mutation) -> None:
    honest = variant_source(N, K)
    text = mutation.source(N, K)
    assert text != honest
    base = v1_source(honest) if mutation.v1 else honest
    assert _unconstrained_stripped(text) == _unconstrained_stripped(base)


def test_a_missing_or_constrained_function_is_refused_loudly() -> None:
    text = variant_source(N, K)
    with pytest.raises(MutationError, match="occurs 0 times"):
        replace_body(text, "no_such_hint", "0")
    with pytest.raises(MutationError, match="occurs 0 times"):
        replace_body(text, "lt", "true")  # constrained: substituting it changes constraints
    with pytest.raises(MutationError, match="exactly once"):
        v1_source(text.replace("let e = (v == t) as Field;", "let e = 0;"))


def test_the_model_reproduces_every_multi_krum_vector() -> None:
    for case in VECTORS["cases"]:
        if case["m"] != case["n"] - case["f"]:
            continue
        trace = simulate(distance_matrix(_sketches(case)), case["f"])
        assert trace.violations == [], case["name"]
        assert trace.scores == [int(s) for s in case["scores"]], case["name"]
        assert (trace.sel_mask, trace.flag_mask) == (
            _mask(case["selected"]),
            _mask(case["flagged"]),
        ), case["name"]
        wrong = simulate(distance_matrix(_sketches(case)), case["f"], HONEST, (0, 0))
        assert wrong.violations, case["name"]


# --- slow: the mutants, executed ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_mutation(mutation: Mutation) -> None:
    out = outcome(mutation.name)
    assert out.disagreements() == []  # Noir and the model: same runs fail, same constraint
    forged_ok_in_fixed = not out.forged_differs
    if mutation.kind == "hint":
        assert out.exercised
        assert out.verdict == "caught", out.row()
        assert not out.mutant_honest.ok  # the hint breaks a check whatever is claimed
        assert out.mutant_forged.site is not None, out.mutant_forged.message
        assert out.fixed_forged.ok == forged_ok_in_fixed
    elif mutation.name == "v1":
        assert out.mutant_honest.ok  # v1 as it was proves honest results
    else:
        assert mutation.name == "v1-attack"
        selected, flags = out.forged_claims
        assert out.forged_differs
        assert out.mutant_forged.ok, out.mutant_forged.message  # v1 accepts the forgery
        assert not out.fixed_forged.ok  # the fixed circuit does not
        for colluder in CASE["flagged"]:  # unflagged and selected
            assert selected >> colluder & 1
        assert flags == 0
        # The same kth_smallest substitute on the fixed circuit: same forged claims, refused.
        fixed = outcome("kth-min")
        assert fixed.forged_claims == out.forged_claims
        assert not fixed.mutant_forged.ok


@pytest.mark.slow
def test_the_honest_circuit_accepts_the_honest_claims() -> None:
    sketches = _sketches(CASE)
    honest = (_mask(CASE["selected"]), _mask(CASE["flagged"]))
    assert execute(build(N, K), claims_inputs(sketches, CASE["f"], honest)).ok
    # the threshold must be a key: the top of the interval v1 allowed (same selection) is
    # refused where the product of differences is checked, whatever is claimed
    out = outcome("key-next-minus-1")
    assert out.honest_claims == honest
    assert not out.mutant_honest.ok
    assert out.mutant_honest.site == "assert(prod == 0)"


@pytest.mark.slow
def test_hint_mutations_keep_the_verification_key_and_v1_does_not() -> None:
    """Only constraints protect: every mutant is the same circuit to the verifier (a
    constant hint body would be folded into the constraints, see p2pfl.zk.mutations)."""
    fixed = verification_key(build(N, K))
    for mutation in MUTATIONS:
        if mutation.kind != "control":
            assert verification_key(mutation.program(N, K)) == fixed, mutation.name
    v1 = verification_key(BY_NAME["v1"].program(N, K))
    assert v1 != fixed
    # the attack's witness is one for the real v1 circuit: only its hints differ
    assert verification_key(BY_NAME["v1-attack"].program(N, K)) == v1
