"""What the aggregator computes from an epoch's committed updates (DESIGN.md, step 5):
the sketches in the contract's operator order, Krum scores, Multi-Krum selection, flags,
and the selected updates the new global model is stepped with (``GlobalModel.step``). Watchers run
the same function on the same bytes and must get the same answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from p2pfl.errors import ConfigError
from p2pfl.learn.codec import Update
from p2pfl.robust.sketch import DEFAULT_K, sketch_many
from p2pfl.robust.sketch_krum import DEFAULT_RHO, KrumResult, sketch_krum
from p2pfl.zk.inputs import mask


def contract_order(operators: Sequence[str]) -> list[str]:
    """Operators in ascending address order, as ``submitResult`` requires."""
    return sorted(operators, key=lambda a: int(a, 16))


@dataclass(frozen=True)
class Aggregation:
    """An epoch's result, row i belonging to ``operators[i]``."""

    operators: list[str]
    sketches: list[list[int]]
    krum: KrumResult

    @property
    def selected_mask(self) -> int:
        return mask(self.krum.selected)

    @property
    def flag_mask(self) -> int:
        return mask(self.krum.flagged)

    @property
    def flagged_operators(self) -> list[str]:
        return [self.operators[i] for i in self.krum.flagged]

    def selected_updates(self, updates: Mapping[str, Update]) -> list[Update]:
        """The selected operators' updates: what the model step sums."""
        return selected_updates(updates, self.operators, self.selected_mask)


def selected_updates(
    updates: Mapping[str, Update], operators: Sequence[str], selected_mask: int
) -> list[Update]:
    """The updates of the operators whose bit is set in ``selected_mask`` (row ``i`` is
    ``operators[i]``); the model step sums them exactly, so their order does not matter."""
    return [updates[a] for i, a in enumerate(operators) if selected_mask >> i & 1]


def aggregate(
    updates: Mapping[str, Update],
    seed: bytes,
    f: int,
    k: int = DEFAULT_K,
    rho: Fraction = DEFAULT_RHO,
) -> Aggregation:
    """Sketch every committed update with the epoch's seed and run sketch Krum."""
    if len(updates) < 2 * f + 3:
        raise ConfigError(f"Krum needs n >= 2f + 3; got n = {len(updates)}, f = {f}")
    operators = contract_order(list(updates))
    sketches = sketch_many([updates[a].q for a in operators], seed, k).tolist()
    return Aggregation(operators, sketches, sketch_krum(sketches, f, rho=rho))


def wrong_sketches(
    posted: Sequence[Sequence[int]],
    operators: Sequence[str],
    updates: Mapping[str, Update],
    seed: bytes,
    k: int = DEFAULT_K,
) -> list[int]:
    """Rows of a posted result whose sketch does not match the operator's committed update:
    each one a ``challengeSketch`` a watcher wins."""
    mine = sketch_many([updates[a].q for a in operators], seed, k).tolist()
    return [i for i, (a, b) in enumerate(zip(posted, mine, strict=True)) if list(a) != b]
