"""Label flip: train honestly on poisoned labels ``y -> 9 - y``; send that update."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from p2pfl.robust.attacks.base import AttackContext

FLIP_MAP = torch.arange(9, -1, -1)  # label y becomes 9 - y


@dataclass(frozen=True)
class LabelFlip:
    name: str = "labelflip"
    poisons_labels: bool = True

    def craft(self, ctx: AttackContext) -> NDArray[np.float64]:
        return np.asarray(ctx.own, dtype=np.float64)
