"""Attacks by name."""

from __future__ import annotations

from collections.abc import Callable

from p2pfl.errors import ConfigError
from p2pfl.robust.attacks.alie import ALittleIsEnough
from p2pfl.robust.attacks.base import Attack
from p2pfl.robust.attacks.gaussian import Gaussian
from p2pfl.robust.attacks.ipm import InnerProductManipulation
from p2pfl.robust.attacks.label_flip import LabelFlip
from p2pfl.robust.attacks.sign_flip import SignFlip

ATTACKS: dict[str, Callable[[], Attack]] = {
    "gaussian": Gaussian,
    "gaussian-independent": lambda: Gaussian(name="gaussian-independent", collude=False),
    "signflip": SignFlip,
    "labelflip": LabelFlip,
    "alie": ALittleIsEnough,
    "ipm": InnerProductManipulation,
}


def make_attack(name: str) -> Attack:
    try:
        return ATTACKS[name]()
    except KeyError:
        raise ConfigError(f"unknown attack {name!r}; choose from {', '.join(ATTACKS)}") from None
