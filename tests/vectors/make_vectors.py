"""Write the shared test vectors of the protocol's numbers (``tests/vectors/*.json``).

The Noir circuit and the Solidity contracts check themselves against these files;
``tests/test_vectors.py`` checks that the committed files equal what this script and
the Python reference compute. Regenerate with ``python -m tests.vectors.make_vectors``.

Big numbers (sketch entries, distances, scores, V) are decimal strings; update entries
are JSON integers (int32).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from p2pfl.hashing import keccak256
from p2pfl.learn.codec import INT32_MAX, ModelSpec, Update
from p2pfl.robust.sketch import hash_words, sketch_many
from p2pfl.robust.sketch_krum import DEFAULT_RHO, deviations, distance_matrix, sketch_krum
from tests.vectors import (
    availability_vectors,
    committee_vectors,
    election_vectors,
    merkle_vectors,
    model_step_vectors,
)

HERE = Path(__file__).resolve().parent
RHO = DEFAULT_RHO


def seed_of(label: str) -> bytes:
    return keccak256(b"p2pfl/test-vectors/" + label.encode())


def krum_case(
    name: str, updates: np.ndarray, f: int, k: int = 64, m: int | None = None, note: str = ""
) -> dict[str, Any]:
    seed = seed_of(name)
    q = [np.asarray(u, dtype=np.int32) for u in updates]
    sketches = sketch_many(q, seed, k)
    dist = distance_matrix(sketches)
    result = sketch_krum(sketches, f, m=m, rho=RHO)
    a, v = deviations(result.scores)
    spec = ModelSpec((("w", (len(q[0]),)),))
    return {
        "name": name,
        "note": note,
        "seed": "0x" + seed.hex(),
        "n": len(q),
        "f": f,
        "m": result.m,
        "k": k,
        "d": len(q[0]),
        "rho": [RHO.numerator, RHO.denominator],
        "updates": [u.tolist() for u in q],
        "digests": ["0x" + Update(spec, u).digest.hex() for u in q],
        "sketches": [[str(int(x)) for x in row] for row in sketches],
        "distances": [[str(x) for x in row] for row in dist],
        "scores": [str(s) for s in result.scores],
        "selected": result.selected,
        "T": str(result.threshold),
        "flags": result.flags,
        "flagged": result.flagged,
        "a": [str(x) for x in a],
        "V": str(v),
        "bracket": list(result.bracket),
        "suspicious": result.suspicious,
    }


def plan_case(label: str, k: int, d: int = 64) -> dict[str, Any]:
    seed = seed_of(label)
    r = hash_words(seed, (d + 7) // 8).reshape(-1)[:d].astype(np.int64)
    return {
        "seed": "0x" + seed.hex(),
        "k": k,
        "d": d,
        "r": [int(x) for x in r],
        "buckets": [int(x) for x in r % k],
        "signs": [1 if x >> 31 == 0 else -1 for x in r],
    }


def honest(rng: np.random.Generator, n: int, d: int, scale: int) -> np.ndarray:
    return rng.integers(-scale, scale + 1, size=(n, d))


def cases() -> Iterator[dict[str, Any]]:
    rng = np.random.default_rng(20261121)
    x = honest(rng, 10, 256, 1 << 12)
    x[[3, 6, 9]] = rng.integers(-(1 << 20), 1 << 20, size=256)
    yield krum_case("n10-f3-colluding-outliers", x, 3, note="3 colluders send one vector")

    x = honest(rng, 10, 256, 1 << 12)
    x[[0, 4]] = rng.integers(-(1 << 20), 1 << 20, size=(2, 256))
    yield krum_case("n10-f3-independent-outliers", x, 3, note="2 independent outliers")

    yield krum_case("n8-f2-no-attack", honest(rng, 8, 200, 1 << 14), 2, note="honest only")
    yield krum_case("n5-f1-minimal", honest(rng, 5, 100, 1 << 10), 1, note="n = 2f + 3")
    yield krum_case("n4-f0", honest(rng, 4, 128, 1 << 10), 0, note="smallest circuit variant")
    yield krum_case("n16-f6", honest(rng, 16, 192, 1 << 12), 6)
    yield krum_case("n10-f3-k128", honest(rng, 10, 300, 1 << 12), 3, k=128)
    yield krum_case("n10-f3-krum-m1", honest(rng, 10, 64, 1 << 12), 3, m=1, note="plain Krum")

    x = rng.choice([-INT32_MAX, INT32_MAX], size=(7, 64))
    yield krum_case("n7-f2-extreme-int32", x, 2, note="every entry at the int32 limits")

    x = np.repeat(honest(rng, 1, 64, 100), 7, axis=0)
    yield krum_case("n7-f2-all-equal", x, 2, note="all scores 0: ties to the lower index")

    base = honest(rng, 2, 64, 1000)
    x = np.stack([base[i % 2] for i in range(9)])
    yield krum_case("n9-f3-two-groups", x, 3, note="two groups of identical updates")

    x = honest(rng, 10, 256, 1 << 12)
    x[[1, 2, 4, 5, 7, 8]] = rng.integers(-(1 << 16), 1 << 16, size=256)
    yield krum_case("n10-f3-sybil-majority", x, 3, note="6 of 10 colluders: Krum's bound is broken")


def build() -> dict[str, dict[str, Any]]:
    return {
        "sketch_plan.json": {
            "description": "bucket and sign of the first d indices (DESIGN.md's CountSketch)",
            "cases": [plan_case("plan-a", 64), plan_case("plan-b", 128), plan_case("plan-c", 10)],
        },
        "krum.json": {
            "description": "updates -> sketches -> distances -> Krum scores, selection, flags, "
            "bracket test; flags: rho_den * score > rho_num * T with T the largest selected "
            "score; big numbers as decimal strings",
            "cases": list(cases()),
        },
        "merkle.json": merkle_vectors.build(),
        "election.json": election_vectors.build(),
        "model_step.json": model_step_vectors.build(),
        "availability.json": availability_vectors.build(),
        "committee.json": committee_vectors.build(),
    }


def write(folder: Path = HERE) -> list[Path]:
    paths = []
    for name, payload in build().items():
        path = folder / name
        path.write_text(json.dumps(payload, indent=1) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write():
        print(p)
