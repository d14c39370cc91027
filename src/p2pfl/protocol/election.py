"""The aggregator election, computed locally exactly as the contract's ``Election`` library.

The seed is ``blockhash(closeBlock)``, known only once the commit phase has closed, so
nobody knows the aggregator before every update is committed. One draw at attempt ``b``
over ``stakes`` is

    r = uint256(keccak256(seed ‖ "aggregator" ‖ uint32_be(b))) mod Σ stakes

(46 bytes hashed: the 32-byte seed, the 10 ASCII bytes ``aggregator``, the attempt as a
4-byte big-endian integer; Solidity's ``abi.encodePacked(seed, "aggregator", uint32)``):
the first index ``i`` with ``r < stakes[0] + … + stakes[i]`` (``draw_index``). The
candidates (``EpochManager.candidates``) are the roster members that committed an update,
in roster order (as snapshotted at open), with their roster stakes: an operator that did
not commit (offline, partitioned) is never drawn, so it cannot cost the epoch a rotation.
The aggregator of attempt ``a`` is the draw of attempt ``a`` over the candidates not drawn
at attempts ``0 … a - 1`` (their stakes set to zero; all restored once every candidate has
been drawn), so a voided or silent aggregator never gets the epoch back
(``aggregator_index``). The contract bounds the attempts (``maxAttempts``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def candidates(
    roster: Sequence[str], stakes: Sequence[int], committed: Iterable[str]
) -> tuple[list[str], list[int]]:
    """The operators the aggregator is drawn from, with their stakes: the roster members
    in ``committed``, in roster order (``EpochManager.candidates``)."""
    if len(roster) != len(stakes):
        raise ConfigError("the roster and its stakes must be of equal length")
    done = {op.lower() for op in committed}
    chosen = [(op, stake) for op, stake in zip(roster, stakes, strict=True) if op.lower() in done]
    return [op for op, _ in chosen], [stake for _, stake in chosen]


def draw_index(seed: bytes, attempt: int, stakes: Sequence[int]) -> int:
    """The candidate index of the aggregator of ``attempt`` (``Election.drawIndex``)."""
    total = sum(stakes)
    if total <= 0:
        raise ConfigError("the roster has no stake")
    r = draw_word(seed, attempt) % total
    for i, stake in enumerate(stakes):
        if r < stake:
            return i
        r -= stake
    raise AssertionError("unreachable: r < total")  # pragma: no cover


def aggregator_index(seed: bytes, attempt: int, stakes: Sequence[int]) -> int:
    """The candidate index of the aggregator of ``attempt`` (``Election.aggregatorIndex``):
    the draws of attempts ``0 … attempt`` in turn, each with the earlier draws' stakes set
    to zero, all restored once what is left sums to zero."""
    left = list(stakes)
    for b in range(attempt + 1):
        if sum(left) == 0:
            left = list(stakes)
        i = draw_index(seed, b, left)
        left[i] = 0
    return i


def elect(seed: bytes, ops: Sequence[str], stakes: Sequence[int], attempt: int = 0) -> str:
    """The aggregator of the epoch whose seed is ``seed``, at rotation ``attempt``, drawn
    from the candidates ``ops`` (see ``candidates``) with their ``stakes``."""
    if len(ops) != len(stakes) or not ops:
        raise ConfigError("the candidates and their stakes must be non-empty and of equal length")
    return ops[aggregator_index(seed, attempt, stakes)]
