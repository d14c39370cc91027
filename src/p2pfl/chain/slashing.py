"""Why the EpochManager slashed an operator: the ``SlashReason`` enum of
``contracts/src/interfaces/IEpochManager.sol``, which ``SlashApplied`` and ``SlashFailed``
carry as a ``uint8``. Same members in the same order; the contract only ever appends."""

from __future__ import annotations

from enum import IntEnum


class SlashReason(IntEnum):
    FLAGGED = 0
    WRONG_SKETCH = 1
    MISSED_DEADLINE = 2
    WRONG_MODEL = 3
    NORM_VIOLATION = 4
    WRONGFUL_EXCLUSION = 5

    @property
    def short(self) -> str:
        """One word for tables: flag, cheat, late or norm."""
        return _SHORT[self]

    @property
    def describe(self) -> str:
        """A readable phrase: "flagged by Krum", "wrong sketch in result", ..."""
        return _DESCRIBE[self]


_SHORT = {
    SlashReason.FLAGGED: "flag",
    SlashReason.WRONG_SKETCH: "cheat",
    SlashReason.MISSED_DEADLINE: "late",
    SlashReason.WRONG_MODEL: "cheat",
    SlashReason.NORM_VIOLATION: "norm",
    SlashReason.WRONGFUL_EXCLUSION: "cheat",
}
# The contract passes EigenLayer the same phrases, prefixed "p2pfl: ".
_DESCRIBE = {
    SlashReason.FLAGGED: "flagged by Krum",
    SlashReason.WRONG_SKETCH: "wrong sketch in result",
    SlashReason.MISSED_DEADLINE: "aggregator missed its deadline",
    SlashReason.WRONG_MODEL: "wrong model in result",
    SlashReason.NORM_VIOLATION: "update above the norm bound",
    SlashReason.WRONGFUL_EXCLUSION: "wrongful exclusion",
}
