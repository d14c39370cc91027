"""Sign flip: send ``-scale *`` the honestly trained update (gradient ascent)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from p2pfl.robust.attacks.base import AttackContext


@dataclass(frozen=True)
class SignFlip:
    scale: float = 1.0
    name: str = "signflip"
    poisons_labels: bool = False

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]:
        return -self.scale * np.asarray(ctx.own, dtype=np.float64)
