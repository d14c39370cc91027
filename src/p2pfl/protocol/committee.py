"""The epoch's committee, drawn by stake exactly as ``P2pflServiceManager.sampleCommittee``.

Where the roster exceeds ``N_max`` (DESIGN.md, "The epoch", step 1) the epoch's committee
is ``size`` operators sampled by stake from the previous epoch's seed. The contract keeps
one slot per operator that ever registered (``slotOperators()``, in slot order) with a
cached weight (``weightOf``: the allocated stake if registered and at least the minimum,
else 0). Draw ``t = 0, 1, 2, …`` takes

    r = uint256(keccak256(seed ‖ "committee" ‖ uint32_be(t))) mod Σ weights

(45 bytes hashed: the 32-byte seed, the 9 ASCII bytes ``committee``, ``t`` as a 4-byte
big-endian integer; Solidity's ``abi.encodePacked(seed, "committee", uint32(t))``) and the
slot ``i`` with ``prefix(i) <= r < prefix(i + 1)`` (``StakeTree.find``: a zero-weight slot
is never drawn). A slot already drawn is skipped; the draw stops at ``size`` distinct
slots or after ``DRAWS_PER_SEAT * size`` draws, so a committee may come out short when a
few operators hold most of the stake. Once every slot of positive weight is drawn, further
draws could only repeat one, so both sides stop there too (same result, less gas).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256

TAG = b"committee"
DRAWS_PER_SEAT = 4
CAPACITY_LOG2 = 10
CAPACITY = 1 << CAPACITY_LOG2
"""The number of slots of the contract's ``StakeTree``: at most this many operators, and
no committee larger."""
UINT256_MAX = 2**256 - 1


def draw_word(seed: bytes, t: int) -> int:
    """``uint256(keccak256(abi.encodePacked(seed, "committee", uint32(t))))``."""
    if len(seed) != 32:
        raise ConfigError(f"the seed is 32 bytes, not {len(seed)}")
    if not 0 <= t < 2**32:
        raise ConfigError(f"draw {t} is not a uint32")
    return int.from_bytes(keccak256(seed + TAG + t.to_bytes(4, "big")), "big")


def find(prefix: Sequence[int], r: int) -> int:
    """The slot ``i`` with ``prefix[i - 1] <= r < prefix[i]``, where ``prefix[i]`` is the
    sum of the weights of slots ``0 .. i`` (inclusive running sums): ``StakeTree.find``."""
    if not 0 <= r < (prefix[-1] if prefix else 0):
        raise ConfigError(f"{r} is outside the total weight")
    return bisect_right(prefix, r)


def sample_committee(seed: bytes, weights: Sequence[int], size: int) -> list[int]:
    """The committee's slot indices in draw order (``sampleCommittee``'s rule, above).

    ``weights`` are the slots' weights in slot order; an empty list if they sum to 0.
    """
    if not 0 <= size <= CAPACITY:
        raise ConfigError(f"a committee has 0 to {CAPACITY} seats, not {size}")
    if len(weights) > CAPACITY:
        raise ConfigError(f"{len(weights)} slots exceed the tree's {CAPACITY}")
    if any(w < 0 for w in weights):
        raise ConfigError("a weight is negative")
    prefix = list(accumulate(weights))
    total = prefix[-1] if prefix else 0
    if total == 0:
        return []
    if total > UINT256_MAX:
        raise ConfigError("the weights' sum exceeds a uint256")
    want = min(size, sum(1 for w in weights if w > 0))
    drawn: list[int] = []
    seen: set[int] = set()
    for t in range(DRAWS_PER_SEAT * size):
        if len(drawn) == want:
            break
        slot = find(prefix, draw_word(seed, t) % total)
        if slot not in seen:
            seen.add(slot)
            drawn.append(slot)
    return drawn


def committee(
    seed: bytes, operators: Sequence[str], weights: Sequence[int], size: int
) -> list[str]:
    """The committee's operators in draw order, from ``slotOperators()`` and their weights."""
    if len(operators) != len(weights):
        raise ConfigError("every slot needs its operator and its weight")
    return [operators[i] for i in sample_committee(seed, weights, size)]
