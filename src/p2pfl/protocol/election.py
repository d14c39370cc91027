"""The aggregator election, computed locally exactly as ``EpochManager._elect``: draw
``r = keccak256(abi.encode(randomness, epoch)) mod totalStake`` and walk the epoch's
roster (as snapshotted at open, in roster order) by stake; a silent aggregator's
``attempt``-th successor is the next operator in roster order."""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.abi import encode as abi_encode

from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256


def elect(
    randomness: bytes, epoch: int, roster: Sequence[str], stakes: Sequence[int], attempt: int = 0
) -> str:
    """The aggregator of ``epoch`` at rotation ``attempt``."""
    if len(roster) != len(stakes) or not roster:
        raise ConfigError("the roster and its stakes must be non-empty and of equal length")
    total = sum(stakes)
    if total <= 0:
        raise ConfigError("the roster has no stake")
    r = int.from_bytes(keccak256(abi_encode(["bytes32", "uint256"], [randomness, epoch])), "big")
    r %= total
    i = 0
    for i, stake in enumerate(stakes):  # noqa: B007  (i is the result)
        if r < stake:
            break
        r -= stake
    return roster[(i + attempt) % len(roster)]
