"""What a node holds about each epoch it takes part in, in one place, and dropped in
one place: when an epoch is final, its state goes (old epochs hold nothing)."""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from p2pfl.learn.codec import Update
from p2pfl.net.topics import Kind
from p2pfl.protocol.chainview import PostedResult
from p2pfl.protocol.check import Verdict


@dataclass
class Evidence:
    """A checked result and the update bytes it was checked against (for a challenge)."""

    posted: PostedResult
    updates: dict[str, Update]


@dataclass
class Challenges:
    """What a node knows of an epoch's challenges (``p2pfl.protocol.challenger``)."""

    mine: set[int] = field(default_factory=set)  # sketch challenges this node opened
    foreign: set[int] = field(default_factory=set)  # challenges whose row it found right
    model_tried: set[int] = field(default_factory=set)  # attempts whose model it challenged
    over_bound: dict[str, Update] = field(default_factory=dict)  # norm proofs to make
    norm_settled: set[str] = field(default_factory=set)  # owners slashed (or unprovable)
    scanned: bool = False  # the committed updates' norms were checked after the close


@dataclass
class EpochState:
    epoch: int
    members: frozenset[str]  # the epoch's roster, snapshot at open
    prefetch: trio.CancelScope = field(default_factory=trio.CancelScope)
    announced: set[Kind] = field(default_factory=set)
    seed: bytes | None = None  # blockhash(closeBlock), once the commit phase has closed
    elected: dict[int, str | None] = field(default_factory=dict)  # attempt -> aggregator
    election_checked: set[int] = field(default_factory=set)  # attempts compared with chain
    verdicts: dict[int, Verdict] = field(default_factory=dict)  # attempt -> verdict
    evidence: dict[int, Evidence] = field(default_factory=dict)  # attempt -> evidence
    challenges: Challenges = field(default_factory=Challenges)
    attest_scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    attest_started: bool = False  # the attestation task runs (or has run) for this epoch
    exclusions_tried: set[int] = field(default_factory=set)  # attempts challenged for it
    committed: list[str] | None = None  # final once the commit phase has closed


class EpochBook:
    def __init__(self) -> None:
        self._epochs: dict[int, EpochState] = {}
        self._known: frozenset[str] = frozenset()  # the latest roster, kept after a drop

    def __contains__(self, epoch: int) -> bool:
        return epoch in self._epochs

    def __len__(self) -> int:
        return len(self._epochs)

    def get(self, epoch: int) -> EpochState:
        return self._epochs[epoch]

    def open(self, epoch: int, members: frozenset[str]) -> EpochState:
        st = self._epochs[epoch] = EpochState(epoch, members)
        self._known = members
        return st

    @property
    def latest(self) -> int:
        """The latest epoch this node joined (0 before any)."""
        return max(self._epochs, default=0)

    def is_member(self, operator: str, epoch: int) -> bool:
        """Gossip's operator check: in the epoch's roster (or, for an epoch this node
        holds no state of, in the latest roster it knows)."""
        st = self._epochs.get(epoch)
        return operator in (st.members if st is not None else self._known)

    def drop_before(self, epoch: int) -> list[EpochState]:
        """Forget every epoch before ``epoch`` (their prefetch tasks are cancelled)."""
        gone = [self._epochs.pop(e) for e in sorted(self._epochs) if e < epoch]
        for st in gone:
            st.prefetch.cancel()
            st.attest_scope.cancel()
        return gone
