"""The shared vectors of the aggregator election (``tests/vectors/election.json``).

Written by ``python -m tests.vectors.make_vectors`` with the others; read by
``contracts/test/EpochElection.t.sol`` and ``tests/test_election_vectors.py``.
Each case, one draw (``drawIndex``): the seed (``blockhash(closeBlock)``), the attempt, the
candidates' stakes (decimal strings: they exceed 2^53) and addresses, the draw word
``keccak256(seed ‖ "aggregator" ‖ uint32_be(attempt))`` and ``r = word mod Σ stakes``
(decimal strings), and the drawn ``index`` and its operator ``drawn``.
Each sequence, the aggregators of attempts ``0, 1, …`` (``aggregatorIndex``, every attempt
drawing among the candidates not drawn before): the seed, the stakes and addresses, and
per attempt the ``indices`` and ``aggregators``; a few attempts past the candidates' count,
so the start-over is covered.
"""

from __future__ import annotations

from typing import Any

from p2pfl.hashing import keccak256
from p2pfl.protocol.election import aggregator_index, draw_index, draw_word, elect

ETHER = 10**18
# (label, attempt, stakes): equal and skewed stakes, zero stakes (never drawn), a single
# operator, stakes near 2^96, and the uint32 extremes of the attempt.
CASES: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("equal", 0, (100 * ETHER,) * 4),
    ("equal", 1, (100 * ETHER,) * 4),
    ("linear", 0, tuple(100 * ETHER * (i + 1) for i in range(6))),
    ("linear", 1, tuple(100 * ETHER * (i + 1) for i in range(6))),
    ("linear", 2, tuple(100 * ETHER * (i + 1) for i in range(6))),
    ("linear", 3, tuple(100 * ETHER * (i + 1) for i in range(6))),
    ("zeros", 0, (0, 5 * ETHER, 0, 7 * ETHER, 0)),
    ("zeros", 7, (0, 5 * ETHER, 0, 7 * ETHER, 0)),
    ("single", 0, (1,)),
    ("whale", 0, (1, 2**96 - 1, 3)),
    ("small", 2**32 - 1, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
    ("small", 123_456, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)),
)


def seed_of(label: str) -> bytes:
    return keccak256(b"p2pfl/test-vectors/election/" + label.encode())


def address_of(label: str, i: int) -> str:
    return "0x" + keccak256(f"{label}/{i}".encode())[-20:].hex()


def case(label: str, attempt: int, stakes: tuple[int, ...]) -> dict[str, Any]:
    seed = seed_of(label)
    roster = [address_of(label, i) for i in range(len(stakes))]
    word = draw_word(seed, attempt)
    return {
        "name": f"{label}-{attempt}",
        "seed": "0x" + seed.hex(),
        "attempt": attempt,
        "stakes": [str(s) for s in stakes],
        "roster": roster,
        "word": str(word),
        "r": str(word % sum(stakes)),
        "index": draw_index(seed, attempt, stakes),
        "drawn": roster[draw_index(seed, attempt, stakes)],
    }


def sequence(label: str, stakes: tuple[int, ...]) -> dict[str, Any]:
    seed = seed_of(label)
    roster = [address_of(label, i) for i in range(len(stakes))]
    attempts = range(min(len(stakes) + 2, 12))
    return {
        "name": label,
        "seed": "0x" + seed.hex(),
        "stakes": [str(s) for s in stakes],
        "roster": roster,
        "indices": [aggregator_index(seed, a, stakes) for a in attempts],
        "aggregators": [elect(seed, roster, stakes, a) for a in attempts],
    }


def build() -> dict[str, Any]:
    cases = [case(*c) for c in CASES]
    labels = {label: stakes for label, _, stakes in CASES}
    sequences = [sequence(label, stakes) for label, stakes in labels.items()]
    return {
        "description": "aggregator draw: r = uint256(keccak256(abi.encodePacked(seed, "
        '"aggregator", uint32 attempt))) mod sum(stakes); index = first i with r < '
        "stakes[0] + ... + stakes[i] (candidate order); the aggregator of attempt a is the draw "
        "of attempt a over the stakes with the aggregators of attempts 0..a-1 set to zero (all "
        "restored once they sum to zero); big numbers as decimal strings",
        "count": len(cases),
        "cases": cases,
        "sequenceCount": len(sequences),
        "sequences": sequences,
    }
