"""Robust aggregation rules, the CountSketch, exact-integer Krum on sketches, attacks.

One rule per module (Flower's layout), each with a sibling ``*_test.py``. The float
rules work on an ``(n, d)`` matrix of updates; :mod:`p2pfl.robust.sketch_krum` is the
protocol's integer rule, the one the Noir circuit and the contracts recompute.
"""

from p2pfl.robust.base import Aggregate, AggregationRule, ByzantineBoundError
from p2pfl.robust.registry import RULES, make_rule

__all__ = ["RULES", "Aggregate", "AggregationRule", "ByzantineBoundError", "make_rule"]
