"""The peers our aggregation is measured against: Flower's and ByzFL's Krum.

ByzFL's package ``__init__`` imports its whole framework, torchvision included, which
cannot load with the CPU torch here; its aggregators need only numpy, torch and scipy,
so we import that one module under empty parent packages.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any


@functools.cache
def byzfl_aggregators() -> Any:
    spec = importlib.util.find_spec("byzfl")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("byzfl is not installed (run bench/setup.sh)")
    root = Path(next(iter(spec.submodule_search_locations)))
    for name, folder in (("byzfl", root), ("byzfl.aggregators", root / "aggregators")):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [str(folder)]
            sys.modules[name] = module
    return importlib.import_module("byzfl.aggregators.aggregators")


def flower_aggregate() -> Any:
    return importlib.import_module("flwr.server.strategy.aggregate")
