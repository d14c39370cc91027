"""Rules by name, as the CLI and the simulation name them."""

from __future__ import annotations

from collections.abc import Callable

from p2pfl.errors import ConfigError
from p2pfl.robust.base import AggregationRule
from p2pfl.robust.bulyan import Bulyan
from p2pfl.robust.fedavg import FedAvg
from p2pfl.robust.geomed import GeometricMedian
from p2pfl.robust.krum import Krum
from p2pfl.robust.median import Median
from p2pfl.robust.multikrum import MultiKrum
from p2pfl.robust.trimmed_mean import TrimmedMean

RULES: dict[str, Callable[[int], AggregationRule]] = {
    "fedavg": lambda f: FedAvg(),
    "krum": lambda f: Krum(f),
    "multikrum": lambda f: MultiKrum(f),
    "median": lambda f: Median(f),
    "trimmed-mean": lambda f: TrimmedMean(f),
    "geomed": lambda f: GeometricMedian(),
    "bulyan": lambda f: Bulyan(f),
}


def make_rule(name: str, f: int) -> AggregationRule:
    try:
        return RULES[name](f)
    except KeyError:
        raise ConfigError(f"unknown rule {name!r}; choose from {', '.join(RULES)}") from None
