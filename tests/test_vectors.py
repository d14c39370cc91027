"""The shared vectors are what the Python reference computes, and what the generator writes."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint
from p2pfl.robust.sketch import count_sketch, sketch_plan
from tests.vectors.make_vectors import build

VECTORS = Path(__file__).resolve().parent / "vectors"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text())
    return data


@pytest.mark.parametrize("name", ["sketch_plan.json", "krum.json", "model_step.json"])
def test_committed_vectors_equal_the_generator(name: str) -> None:
    assert load(name) == json.loads(json.dumps(build()[name]))


def _root(raw: bytes) -> bytes:
    """DESIGN.md's Root, from its definition: 256-byte leaves (the last zero-padded),
    a tree of depth ceil(log2(leaves)) filled with zero leaves, keccak everywhere."""
    raw += bytes(-len(raw) % 256)
    level = [keccak256(raw[i : i + 256]) for i in range(0, len(raw), 256)]
    depth = (len(level) - 1).bit_length()
    level += [keccak256(bytes(256))] * ((1 << depth) - len(level))
    while len(level) > 1:
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


@pytest.mark.parametrize("case", load("krum.json")["cases"], ids=lambda c: c["name"])
def test_krum_vector_follows_the_definitions(case: dict[str, Any]) -> None:
    """Recompute every number from the updates with plain Python integers."""
    seed = bytes.fromhex(case["seed"][2:])
    n, f, k, m = case["n"], case["f"], case["k"], case["m"]
    rn, rd = case["rho"]
    updates = case["updates"]
    for u, digest in zip(updates, case["digests"], strict=True):
        raw = b"".join(int(v).to_bytes(4, "little", signed=True) for v in u)
        assert "0x" + _root(raw).hex() == digest
    plan = sketch_plan(seed, case["d"], k)
    sketches = [count_sketch(np.array(u, dtype=np.int32), plan).tolist() for u in updates]
    assert [[str(x) for x in s] for s in sketches] == case["sketches"]
    dist = [
        [sum((a - b) ** 2 for a, b in zip(si, sj, strict=True)) for sj in sketches]
        for si in sketches
    ]
    assert [[str(x) for x in row] for row in dist] == case["distances"]
    scores = [sum(sorted(dist[i][j] for j in range(n) if j != i)[: n - f - 2]) for i in range(n)]
    assert [str(s) for s in scores] == case["scores"]
    assert case["selected"] == sorted(sorted(range(n), key=lambda i: (scores[i], i))[:m])
    total = sum(scores)
    a = [n * s - total for s in scores]
    v = n * sum(s * s for s in scores) - total * total
    assert [str(x) for x in a] == case["a"]
    assert str(v) == case["V"]
    top = max(scores[i] for i in case["selected"])
    assert case["T"] == str(top)
    assert case["flags"] == [rd * s > rn * top for s in scores]
    assert not set(case["flagged"]) & set(case["selected"])
    below = sum(1 for ai in a if ai < 0 and 4 * ai * ai <= v)
    above = sum(1 for ai in a if ai >= 0 and 4 * ai * ai <= 9 * v)
    assert case["bracket"] == [below, above]
    assert case["suspicious"] == (below > above)


def test_vectors_cover_the_cases_the_other_sides_need() -> None:
    cases = {c["name"]: c for c in load("krum.json")["cases"]}
    assert {c["n"] for c in cases.values()} >= {4, 5, 7, 8, 9, 10, 16}
    assert {c["k"] for c in cases.values()} == {64, 128}
    assert cases["n10-f3-colluding-outliers"]["flagged"] == [3, 6, 9]
    assert any(c["suspicious"] for c in cases.values())
    extreme = cases["n7-f2-extreme-int32"]
    assert max(abs(int(s)) for row in extreme["sketches"] for s in row) > 2**32
    assert max(int(s) for s in extreme["scores"]) > 2**64  # beyond any machine integer


def test_plan_vectors_follow_the_definition() -> None:
    for case in load("sketch_plan.json")["cases"]:
        seed = bytes.fromhex(case["seed"][2:])
        for t in range(case["d"]):
            h = keccak256(seed + (t // 8).to_bytes(32, "big"))
            r = int.from_bytes(h[4 * (t % 8) : 4 * (t % 8) + 4], "big")
            assert case["r"][t] == r
            assert case["buckets"][t] == r % case["k"]
            assert case["signs"][t] == (1 if r >> 31 == 0 else -1)


INT32_LIMIT = 2**31 - 1


@pytest.mark.parametrize("case", load("model_step.json")["cases"], ids=lambda c: c["name"])
def test_model_step_vector_follows_the_definition(case: dict[str, Any]) -> None:
    """Recompute the step with plain Python integers; the numpy code gives the same."""
    m, d, base, updates = case["m"], case["d"], case["base"], case["updates"]
    assert m == len(updates)
    assert all(len(u) == d for u in updates)
    assert len(base) == d
    sums = [sum(u[t] for u in updates) for t in range(d)]
    assert sums == case["sums"]
    step = [(2 * s + m) // (2 * m) for s in sums]  # Python's // floors toward -inf
    expected = [max(-INT32_LIMIT, min(INT32_LIMIT, w + s)) for w, s in zip(base, step, strict=True)]
    assert expected == case["expected"]
    for vec, digest in ((base, case["base_digest"]), (expected, case["expected_digest"])):
        raw = b"".join(int(v).to_bytes(4, "little", signed=True) for v in vec)
        assert "0x" + keccak256(raw).hex() == digest
    new = fixedpoint.step(
        np.array(base, dtype=np.int32), [np.array(u, dtype=np.int32) for u in updates]
    )
    assert new.tolist() == expected


def test_model_step_vectors_cover_the_extremes() -> None:
    cases = {c["name"]: c for c in load("model_step.json")["cases"]}
    assert {c["m"] for c in cases.values()} >= {1, 2, 3, 63, 64}
    every = [v for c in cases.values() for v in c["expected"]]
    assert INT32_LIMIT in every
    assert -INT32_LIMIT in every
    assert max(abs(s) for c in cases.values() for s in c["sums"]) == 64 * INT32_LIMIT
    halves = cases["m2-halves"]
    assert dict(zip(halves["sums"], halves["expected"], strict=True))[-3] == -1  # -1.5 -> -1
