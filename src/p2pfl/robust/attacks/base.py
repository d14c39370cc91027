"""The attack interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class AttackContext:
    """What a Byzantine operator has when it crafts its update.

    ``own``: its own honestly trained update; ``known``: the honest updates of all
    colluding Byzantine operators ``(b, d)``; ``n`` and ``f``: the network's size and
    assumed bound; ``seed``: the colluders' shared seed for this round; ``client``: the
    attacker's own index (for attacks that do not collude).
    """

    own: NDArray[np.float64]
    known: NDArray[np.float64]
    n: int
    f: int
    seed: int
    client: int = 0


class Attack(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def poisons_labels(self) -> bool:
        """True when the attack trains on permuted labels instead of editing the update."""
        ...

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]: ...
