"""Who does the chores nobody is paid for (opening an epoch, finalizing it, reporting a
silent aggregator), and when. One operator is designated for each chore and does it at
once; everyone else waits between ``grace`` and twice that (trio clock; the
fraction is fixed per node) and does it only if it is still undone, so
the chore gets done when the designated one is down, without a stampede of reverting
transactions otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio


@dataclass
class Duties:
    me: str
    grace: float = 3.0
    _due_since: dict[tuple[str, int, int], float] = field(default_factory=dict)

    def ready(self, chore: str, epoch: int, attempt: int, designated: str | None) -> bool:
        """True when this node should do ``chore`` now (its first call marks it due)."""
        if designated is not None and designated.lower() == self.me.lower():
            return True
        key = (chore, epoch, attempt)
        since = self._due_since.setdefault(key, trio.current_time())
        return trio.current_time() - since >= self.grace * (1 + self._spread)

    def forget_before(self, epoch: int) -> None:
        """Drop the timers of chores of epochs before ``epoch``."""
        for key in [k for k in self._due_since if k[1] < epoch]:
            del self._due_since[key]

    @property
    def _spread(self) -> float:
        """A fixed per-node fraction in [0, 1): the stand-ins do not all act at once."""
        return (int(self.me, 16) % 997) / 997
