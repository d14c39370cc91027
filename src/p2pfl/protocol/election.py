"""The aggregator election, computed locally exactly as ``EpochManager.drawIndex``.

The seed is ``blockhash(closeBlock)``, known only once the commit phase has closed, so
nobody knows the aggregator before every update is committed. The aggregator of attempt
``a`` is drawn by stake from

    r = uint256(keccak256(seed ‖ "aggregator" ‖ uint32_be(a))) mod Σ stakes

(46 bytes hashed: the 32-byte seed, the 10 ASCII bytes ``aggregator``, the attempt as a
4-byte big-endian integer; Solidity's ``abi.encodePacked(seed, "aggregator", uint32)``):
the first roster index ``i`` (roster order, as snapshotted at open) with
``r < stakes[0] + … + stakes[i]``. Attempts are independent draws, so a stand-in may be
drawn again; the contract bounds the attempts (``maxAttempts``)."""

from __future__ import annotations

from collections.abc import Sequence

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256

TAG = b"aggregator"
UINT32_MAX = 2**32 - 1


def draw_word(seed: bytes, attempt: int) -> int:
    """``uint256(keccak256(abi.encodePacked(seed, "aggregator", uint32(attempt))))``."""
    if len(seed) != 32:
        raise ConfigError(f"the seed is 32 bytes, not {len(seed)}")
    if not 0 <= attempt <= UINT32_MAX:
        raise ConfigError(f"attempt {attempt} is not a uint32")
    return int.from_bytes(keccak256(seed + TAG + attempt.to_bytes(4, "big")), "big")


def draw_index(seed: bytes, attempt: int, stakes: Sequence[int]) -> int:
    """The roster index of the aggregator of ``attempt`` (``EpochManager.drawIndex``)."""
    total = sum(stakes)
    if total <= 0:
        raise ConfigError("the roster has no stake")
    r = draw_word(seed, attempt) % total
    for i, stake in enumerate(stakes):
        if r < stake:
            return i
        r -= stake
    raise AssertionError("unreachable: r < total")  # pragma: no cover


def elect(seed: bytes, roster: Sequence[str], stakes: Sequence[int], attempt: int = 0) -> str:
    """The aggregator of the epoch whose seed is ``seed``, at rotation ``attempt``."""
    if len(roster) != len(stakes) or not roster:
        raise ConfigError("the roster and its stakes must be non-empty and of equal length")
    return roster[draw_index(seed, attempt, stakes)]
