"""The shared vectors of the committee draw (``tests/vectors/committee.json``).

Written by ``python -m tests.vectors.make_vectors`` with the others; read by
``contracts/test/CommitteeVectors.t.sol`` (``StakeTree`` and its ``sample``) and
``tests/protocol/test_committee.py``. Each case: the seed, the slots' weights (decimal
strings: they exceed 2^53), the committee size, the first draw words (decimal strings) and
the drawn ``slots`` in draw order, computed by ``p2pfl.protocol.committee``.
"""

from __future__ import annotations

from typing import Any

from p2pfl.hashing import keccak256
from p2pfl.protocol.committee import draw_word, sample_committee

ETHER = 10**18


def seed_of(label: str) -> bytes:
    return keccak256(b"p2pfl/test-vectors/committee/" + label.encode())


def spread(label: str, n: int, top: int) -> tuple[int, ...]:
    """``n`` deterministic weights below ``top``, from keccak."""
    return tuple(int.from_bytes(keccak256(f"{label}/{i}".encode()), "big") % top for i in range(n))


# (label, size, weights): uneven, zero and dominant weights, a committee larger than the
# roster, an empty roster, 100 operators, weights near 2^96.
CASES: tuple[tuple[str, int, tuple[int, ...]], ...] = (
    ("uneven", 4, tuple((i + 1) * ETHER for i in range(10))),
    ("zeros", 3, (0, 5 * ETHER, 0, 7 * ETHER, 0, 3 * ETHER, 0)),
    ("zeros-short", 4, (0, 5 * ETHER, 0, 7 * ETHER, 0, 3 * ETHER, 0)),
    ("dominant", 4, (10_000 * ETHER,) + (ETHER,) * 9),
    ("size-above-operators", 8, (ETHER, 2 * ETHER, 3 * ETHER, 4 * ETHER, 5 * ETHER)),
    ("single", 3, (0, 0, 42)),
    ("empty", 4, (0, 0, 0)),
    ("size-zero", 0, (ETHER, ETHER)),
    ("equal-20", 8, (100 * ETHER,) * 20),
    ("hundred", 16, spread("hundred", 100, 1000 * ETHER)),
    (
        "hundred-sparse",
        32,
        tuple(w if i % 3 else 0 for i, w in enumerate(spread("sparse", 100, 50 * ETHER))),
    ),
    ("near-2^96", 4, (2**96 - 1, 2**96 - 2, 3, 2**95, 1, 2**96 - 1)),
)


def case(label: str, size: int, weights: tuple[int, ...]) -> dict[str, Any]:
    seed = seed_of(label)
    return {
        "name": label,
        "seed": "0x" + seed.hex(),
        "size": size,
        "weights": [str(w) for w in weights],
        "total": str(sum(weights)),
        "words": [str(draw_word(seed, t)) for t in range(3)],
        "slots": sample_committee(seed, weights, size),
    }


def build() -> dict[str, Any]:
    return {
        "description": "committee draw: word_t = keccak256(seed || 'committee' || uint32_be(t)), "
        "slot = first i with word_t mod total < weights[0] + ... + weights[i]; repeats "
        "skipped; stop at size distinct slots or after 4 * size draws; weights, total and "
        "words as decimal strings, slots in draw order",
        "cases": [case(*c) for c in CASES],
    }
