"""The ways a testnet's cheating aggregator cheats (kept light: the CLI imports it)."""

from __future__ import annotations

from enum import StrEnum


class Cheat(StrEnum):
    """What a cheating aggregator gets wrong; each is caught by its own challenge."""

    WRONG_SKETCH = "wrong-sketch"  # a sketch row that is not its update's: chunked challenge
    WRONG_MODEL = "wrong-model"  # a model that is not the model step: challengeModel
    EXCLUDE = "exclude"  # an available operator left out (attestations dropped): exclusion
