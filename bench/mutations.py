"""The hint-mutation suite of the Krum circuit as a table (p2pfl.zk.mutations).

    .venv/bin/python -m bench.mutations

For each mutation (an unconstrained function's body replaced by an adversarial
substitute, plus the v1 equality-hint circuit as a control) and each honest n = 10,
k = 64 test vector: does the mutant have a witness for the honest claims and for the
claims its substitute implies (the *forged* claims), which constraint refused them (from
the failing opcode's call stack), does the unmutated circuit refuse the forged claims,
and does the Python model of the circuit agree. Per variant: gates (``bb gates``) and the
verification key's hash: a hint mutation leaves both unchanged, the v1 control does not.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import write_result
from bench.zk import gates
from p2pfl.robust.sketch_krum import DEFAULT_RHO, distance_matrix
from p2pfl.zk.circuit import build
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.mutations import MUTATIONS, evaluate, execute
from p2pfl.zk.prover import verification_key

N, K = 10, 64
CASES = ("n10-f3-colluding-outliers", "n10-f3-independent-outliers", "n10-f3-sybil-majority")
VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors" / "krum.json"


def variant(program: Path, compile_s: float) -> dict[str, Any]:
    vk = verification_key(program)
    return {
        "gates": gates(str(program)),
        "vk_sha256": hashlib.sha256(vk).hexdigest(),
        "compile_s": round(compile_s, 1),
    }


def main() -> None:
    start = time.perf_counter()
    vectors = {c["name"]: c for c in json.loads(VECTORS.read_text())["cases"]}
    t0 = time.perf_counter()
    honest_program = build(N, K)
    honest = variant(honest_program, time.perf_counter() - t0)
    cases = []
    for name in CASES:
        case = vectors[name]
        sketches = [[int(x) for x in row] for row in case["sketches"]]
        cases.append((name, sketches, distance_matrix(sketches), int(case["f"])))
    rows, variants = [], {"fixed": honest}
    for mutation in MUTATIONS:
        t0 = time.perf_counter()
        program = mutation.program(N, K)
        info = variant(program, time.perf_counter() - t0)
        info["same_vk_as_fixed"] = info["vk_sha256"] == honest["vk_sha256"]
        variants[mutation.name] = info
        for name, sketches, dist, f in cases:
            outcome = evaluate(mutation, name, sketches, dist, f, K)
            rows.append(outcome.row())
            print(f"{mutation.name:18} {name:28} {outcome.verdict:24} "
                  f"{outcome.mutant_forged.site or '-'}", flush=True)  # fmt: skip
    baseline = {}
    for name, sketches, _dist, f in cases:
        vec = vectors[name]
        inputs = krum_inputs(
            1, bytes(32), f, sketches, vec["selected"], vec["flagged"], DEFAULT_RHO
        )
        baseline[name] = execute(honest_program, inputs).ok
    verdicts = Counter(row["verdict"] for row in rows)
    table = [
        {
            "mutation": mutation.name,
            "kind": mutation.kind,
            "summary": mutation.summary,
            "same_vk_as_fixed": variants[mutation.name]["same_vk_as_fixed"],
            "gates": variants[mutation.name]["gates"],
            **{
                row["case"]: f"{row['verdict']}"
                + (f" @ {row['mutant_forged']['site']}" if row["mutant_forged"]["site"] else "")
                for row in rows
                if row["mutation"] == mutation.name
            },
        }
        for mutation in MUTATIONS
    ]
    path = write_result(
        "mutations",
        {
            "n": N,
            "k": K,
            "cases": list(CASES),
            "honest_circuit_accepts_honest_claims": baseline,
            "verdicts": dict(verdicts),
            # a hint mutant must be the same circuit to the verifier, else it tests nothing
            "hint_mutants_with_another_vk": [
                m.name
                for m in MUTATIONS
                if m.kind != "control" and not variants[m.name]["same_vk_as_fixed"]
            ],
            "gates_fixed_vs_v1": [honest["gates"], variants["v1"]["gates"]],
            "not_caught": [r for r in rows if r["verdict"] == "NOT CAUGHT"],
            "model_disagreements": [
                {"mutation": r["mutation"], "case": r["case"], "detail": r["model_disagreements"]}
                for r in rows
                if r["model_disagreements"]
            ],
            "table": table,
            "variants": variants,
            "runs": rows,
            "wall_s": round(time.perf_counter() - start, 1),
        },
    )
    print(json.dumps(table, indent=1))
    print(f"{dict(verdicts)}; {time.perf_counter() - start:.0f} s; {path}")


if __name__ == "__main__":
    main()
