"""The aggregator draw (``p2pfl.protocol.election``): the committed vectors are what the
generator writes, each is recomputed with an independent encoder (web3's
``solidity_keccak``, i.e. ``abi.encodePacked``), the draw follows stake, and no attempt
draws an operator drawn at an earlier one while others are left."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from p2pfl.errors import ConfigError
from p2pfl.protocol.election import aggregator_index, candidates, draw_index, draw_word, elect
from tests.vectors import election_vectors

VECTORS = Path(__file__).resolve().parent / "vectors" / "election.json"
CASES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["cases"]
SEQUENCES: list[dict[str, Any]] = json.loads(VECTORS.read_text())["sequences"]


def test_committed_vectors_equal_the_generator() -> None:
    assert json.loads(VECTORS.read_text()) == json.loads(json.dumps(election_vectors.build()))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["name"])
def test_vector_follows_the_definition(case: dict[str, Any]) -> None:
    seed = bytes.fromhex(case["seed"][2:])
    packed = Web3.solidity_keccak(
        ["bytes32", "string", "uint32"], [seed, "aggregator", case["attempt"]]
    )
    word = int.from_bytes(packed, "big")
    assert str(word) == case["word"] == str(draw_word(seed, case["attempt"]))
    stakes = [int(s) for s in case["stakes"]]
    r = word % sum(stakes)
    assert str(r) == case["r"]
    i = case["index"]
    assert sum(stakes[:i]) <= r < sum(stakes[: i + 1])  # r falls in operator i's interval
    assert stakes[i] > 0
    assert draw_index(seed, case["attempt"], stakes) == i
    assert case["roster"][i] == case["drawn"]


@pytest.mark.parametrize("seq", SEQUENCES, ids=lambda s: s["name"])
def test_sequence_follows_the_definition(seq: dict[str, Any]) -> None:
    """Recomputed from the draw words alone: attempt ``a`` draws over what is left (the
    stakes of earlier aggregators zeroed, all restored once nothing is left)."""
    seed = bytes.fromhex(seq["seed"][2:])
    stakes = [int(x) for x in seq["stakes"]]
    left = list(stakes)
    for a, (index, aggregator) in enumerate(zip(seq["indices"], seq["aggregators"], strict=True)):
        if not any(left):
            left = list(stakes)
        word = int.from_bytes(
            Web3.solidity_keccak(["bytes32", "string", "uint32"], [seed, "aggregator", a]), "big"
        )
        r = word % sum(left)
        assert sum(left[:index]) <= r < sum(left[: index + 1]), (a, index)
        assert left[index] > 0
        left[index] = 0
        assert aggregator_index(seed, a, stakes) == index
        assert elect(seed, seq["roster"], stakes, a) == aggregator == seq["roster"][index]


@pytest.mark.parametrize("seed", [bytes([i]) * 32 for i in range(40)])
def test_no_operator_is_drawn_twice_before_every_one_has_been(seed: bytes) -> None:
    stakes = [1, 10**18, 3, 7, 7, 2**96]
    drawn = [aggregator_index(seed, a, stakes) for a in range(2 * len(stakes))]
    assert sorted(drawn[: len(stakes)]) == list(range(len(stakes)))  # a full round first
    assert sorted(drawn[len(stakes) :]) == list(range(len(stakes)))  # then another
    assert drawn[0] == draw_index(seed, 0, stakes)  # attempt 0 is the plain draw


def test_draw_frequency_follows_stake() -> None:
    roster = [f"0x{i:040x}" for i in range(4)]
    stakes = [10, 20, 30, 40]
    wins = Counter(elect(os.urandom(32), roster, stakes) for _ in range(20_000))
    for op, stake in zip(roster, stakes, strict=True):
        assert abs(wins[op] / 20_000 - stake / 100) < 0.015


def test_the_candidates_are_the_committed_members_in_roster_order() -> None:
    roster = [f"0x{i:040X}" for i in (3, 1, 2, 5)]
    stakes = [30, 10, 20, 50]
    committed = [f"0x{i:040x}" for i in (5, 2, 9)]  # any case, any order; 9 not a member
    assert candidates(roster, stakes, committed) == ([roster[2], roster[3]], [20, 50])
    assert candidates(roster, stakes, []) == ([], [])
    with pytest.raises(ConfigError):
        candidates(roster, stakes[:-1], committed)


def test_every_attempt_has_its_own_draw_word() -> None:
    seed = bytes(range(32))
    words = {draw_word(seed, a) for a in range(100)}
    assert len(words) == 100


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ConfigError):
        elect(bytes(32), [], [])
    with pytest.raises(ConfigError):
        elect(bytes(32), ["0x" + "00" * 20], [0])
    with pytest.raises(ConfigError):
        elect(bytes(32), ["0x" + "00" * 20], [1, 2])
    with pytest.raises(ConfigError):
        draw_word(bytes(31), 0)
    with pytest.raises(ConfigError):
        draw_word(bytes(32), 2**32)
