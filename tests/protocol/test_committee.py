"""The committee draw (``p2pfl.protocol.committee``): its rule against a plain restatement,
stake-proportional frequencies, the bounds, and the shared vectors the contract reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.protocol import committee as cm
from tests.vectors import committee_vectors

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def seed(i: int) -> bytes:
    return keccak256(b"test_committee/" + str(i).encode())


def restated(seed_: bytes, weights: list[int], size: int) -> list[int]:
    """The rule read literally: linear search, every draw up to the bound (no early stop)."""
    total = sum(weights)
    out: list[int] = []
    if total == 0:
        return out
    for t in range(4 * size):
        if len(out) == size:
            break
        word = int.from_bytes(keccak256(seed_ + b"committee" + t.to_bytes(4, "big")), "big")
        r, slot = word % total, 0
        while r >= weights[slot]:
            r -= weights[slot]
            slot += 1
        if slot not in out:
            out.append(slot)
    return out


def test_draw_word_is_the_packed_encoding() -> None:
    s = bytes(range(32))
    packed = s + b"committee" + (7).to_bytes(4, "big")
    assert len(packed) == 45
    assert cm.draw_word(s, 7) == int.from_bytes(keccak256(packed), "big")


@pytest.mark.parametrize("i", range(40))
def test_sample_equals_the_rule_read_literally(i: int) -> None:
    rnd = int.from_bytes(keccak256(b"w" + bytes([i])), "big")
    n = 1 + rnd % 60
    weights = [(rnd >> (3 * j)) % 5 * 10**18 * ((rnd >> j) % 3) for j in range(n)]
    size = (rnd >> 200) % 24
    assert cm.sample_committee(seed(i), weights, size) == restated(seed(i), weights, size)


def test_find_is_the_interval_rule() -> None:
    prefix = [0, 5, 5, 12, 12]  # weights 0, 5, 0, 7, 0
    assert [cm.find(prefix, r) for r in (0, 4, 5, 11)] == [1, 1, 3, 3]
    with pytest.raises(ConfigError):
        cm.find(prefix, 12)


def test_slots_are_distinct_and_never_zero_weight() -> None:
    weights = [0, 3, 0, 1, 9, 0, 2, 2, 0, 5]
    for i in range(50):
        slots = cm.sample_committee(seed(i), weights, 4)
        assert len(set(slots)) == len(slots) <= 4
        assert all(weights[s] > 0 for s in slots)


def test_everyone_positive_is_drawn_when_the_committee_exceeds_them() -> None:
    assert sorted(cm.sample_committee(seed(1), [0, 1, 1, 0, 1], 8)) == [1, 2, 4]


def test_a_dominant_operator_leaves_the_committee_short() -> None:
    weights = [10**6] + [1] * 30
    assert cm.sample_committee(seed(2), weights, 5) == [0]


def test_empty_and_zero_sized() -> None:
    assert cm.sample_committee(seed(3), [], 4) == []
    assert cm.sample_committee(seed(3), [0, 0], 4) == []
    assert cm.sample_committee(seed(3), [1, 2], 0) == []


def test_frequency_follows_stake() -> None:
    weights = [1, 2, 3, 4, 10]  # first seat: P(slot) = w / 20
    counts = [0] * len(weights)
    for i in range(2000):
        counts[cm.sample_committee(seed(i), weights, 1)[0]] += 1
    for w, c in zip(weights, counts, strict=True):
        assert abs(c / 2000 - w / 20) < 0.04


@pytest.mark.parametrize(
    ("weights", "size"),
    [([1], -1), ([1], cm.CAPACITY + 1), ([1, -1], 1), ([1] * (cm.CAPACITY + 1), 1), ([2**256], 1)],
)
def test_bad_arguments_are_refused(weights: list[int], size: int) -> None:
    with pytest.raises(ConfigError):
        cm.sample_committee(seed(0), weights, size)


def test_bad_seed_and_draw_are_refused() -> None:
    with pytest.raises(ConfigError):
        cm.draw_word(b"short", 0)
    with pytest.raises(ConfigError):
        cm.draw_word(bytes(32), 2**32)


def test_committee_maps_slots_to_operators() -> None:
    ops = ["0xa", "0xb", "0xc"]
    weights = [0, 5, 5]
    assert cm.committee(seed(4), ops, weights, 2) == [
        ops[s] for s in cm.sample_committee(seed(4), weights, 2)
    ]
    with pytest.raises(ConfigError):
        cm.committee(seed(4), ops, [1], 1)


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / "committee.json").read_text())
    return data


def test_committed_vectors_equal_the_generator() -> None:
    assert load() == json.loads(json.dumps(committee_vectors.build()))


@pytest.mark.parametrize("case", load()["cases"], ids=lambda c: c["name"])
def test_vector_follows_the_rule(case: dict[str, Any]) -> None:
    weights = [int(w) for w in case["weights"]]
    s = bytes.fromhex(case["seed"][2:])
    assert case["slots"] == restated(s, weights, case["size"])
    assert [int(w) for w in case["words"]] == [cm.draw_word(s, t) for t in range(3)]


def test_vectors_cover_the_cases_the_contract_needs() -> None:
    cases = load()["cases"]
    assert len(cases) >= 10
    assert any(c["slots"] == [] for c in cases)
    assert any(len(c["weights"]) >= 100 for c in cases)
    assert any(max(int(w) for w in c["weights"]) >= 2**95 for c in cases)
    assert any(
        0 < len(c["slots"]) < min(c["size"], sum(int(w) > 0 for w in c["weights"])) for c in cases
    )
