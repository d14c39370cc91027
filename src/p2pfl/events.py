"""What a running node reports, as typed events.

One frozen dataclass per kind of event. The node and the gossip-only node emit them;
``--json`` prints each as one JSON object per line (``{"event": kind, ...fields}``);
the testnet runner, the tests and ``bench/`` read those lines back with :func:`parse`,
through the same types. Every event carries the wall-clock time it was made at.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from pydantic import TypeAdapter, ValidationError


class EventError(ValueError):
    """A line that is not a known event."""


_KINDS: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str] = ""
    time: float = field(default_factory=time.time, compare=False)

    def __init_subclass__(cls, kind: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if kind:
            if kind in _KINDS:
                raise TypeError(f"event kind {kind!r} registered twice")
            cls.kind = kind
            _KINDS[kind] = cls

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["time"] = round(self.time, 4)
        return {"event": self.kind, **out}

    def line(self) -> str:
        return json.dumps(self.to_json())

    def details(self) -> dict[str, Any]:
        """The fields a person reads (long lists left out)."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "time" and not f.metadata.get("long")
        }


Emit = Callable[[Event], None]


LONG = {"long": True}  # a field's metadata: left out of the readable line
_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[Event]) -> TypeAdapter[Any]:
    if cls.kind not in _ADAPTERS:
        _ADAPTERS[cls.kind] = TypeAdapter(cls)
    return _ADAPTERS[cls.kind]


def parse(obj: dict[str, Any] | str) -> Event:
    """An event from its JSON form (a dict or a line); raises EventError."""
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise EventError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise EventError("an event is a JSON object")
    body = dict(obj)
    kind = body.pop("event", None)
    cls = _KINDS.get(str(kind))
    if cls is None:
        raise EventError(f"unknown event kind {kind!r}")
    try:
        out: Event = _adapter(cls).validate_python(body, strict=False)
    except ValidationError as exc:
        raise EventError(f"bad {kind!r} event: {exc.errors()[0]['msg']}") from None
    return out


def kinds() -> dict[str, type[Event]]:
    return dict(_KINDS)


# ---------------------------------------------------------------- process and network


@dataclass(frozen=True, kw_only=True)
class Listening(Event, kind="listening"):
    peer_id: str
    addrs: list[str]
    operator: str
    role: str = "operator"  # operator, watcher, gossip


@dataclass(frozen=True, kw_only=True)
class Connected(Event, kind="connected"):
    seconds: float  # since the process started


@dataclass(frozen=True, kw_only=True)
class Ready(Event, kind="ready"):
    """Everything loaded (data, model, a warm-up training step) and a peer connected."""

    seconds: float  # since the process started
    warmup_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MetricsServing(Event, kind="metrics"):
    """The Prometheus metrics and EigenLayer node API server is up at ``url``."""

    url: str


@dataclass(frozen=True, kw_only=True)
class Stopping(Event, kind="stopping"):
    signal: str


@dataclass(frozen=True, kw_only=True)
class Stopped(Event, kind="stopped"):
    pass


@dataclass(frozen=True, kw_only=True)
class Announced(Event, kind="announced"):
    digest: str
    size: int


@dataclass(frozen=True, kw_only=True)
class AnnouncementSeen(Event, kind="announcement"):
    operator: str
    digest: str


@dataclass(frozen=True, kw_only=True)
class Fetched(Event, kind="fetched"):
    digest: str
    bytes: int
    seconds: float


@dataclass(frozen=True, kw_only=True)
class FetchFailed(Event, kind="fetch-failed"):
    digest: str
    error: str


# ---------------------------------------------------------------- faults


@dataclass(frozen=True, kw_only=True)
class Fault(Event, kind="fault"):
    """An error a task caught and will retry (an RPC, a peer, a refused transaction)."""

    task: str
    error: str
    retry_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class ChainUnreachable(Event, kind="chain-unreachable"):
    error: str
    retry_s: float


@dataclass(frozen=True, kw_only=True)
class ElectionMismatch(Event, kind="election-mismatch"):
    epoch: int
    computed: str
    chain: str


# ---------------------------------------------------------------- the epoch


@dataclass(frozen=True, kw_only=True)
class EpochJoined(Event, kind="epoch"):
    epoch: int
    members: int
    stake: int = 0  # this operator's stake in the epoch's roster (wei; 0: not a member)


@dataclass(frozen=True, kw_only=True)
class Opened(Event, kind="opened"):
    epoch: int


@dataclass(frozen=True, kw_only=True)
class Trained(Event, kind="trained"):
    epoch: int
    seconds: float
    digest: str


@dataclass(frozen=True, kw_only=True)
class Committed(Event, kind="committed"):
    epoch: int
    seconds: float
    gas: int


@dataclass(frozen=True, kw_only=True)
class CommitFailed(Event, kind="commit-failed"):
    epoch: int
    error: str


@dataclass(frozen=True, kw_only=True)
class Skipped(Event, kind="skipped"):
    epoch: int
    committed: int


@dataclass(frozen=True, kw_only=True)
class TimeoutReported(Event, kind="timeout-reported"):
    epoch: int
    aggregator: str


@dataclass(frozen=True, kw_only=True)
class Attested(Event, kind="attested"):
    """This node signed and gossiped its availability attestation of the epoch: it holds
    ``held`` of the ``committed`` updates (checked against their roots); ``missing``
    names the ones it could not fetch in time."""

    epoch: int
    held: int
    committed: int
    seconds: float
    missing: list[str] = field(default_factory=list, metadata=LONG)


@dataclass(frozen=True, kw_only=True)
class Availability(Event, kind="availability"):
    """What the aggregator derived from the attestations it gathered: ``included`` the
    available operators (attested by at least ``f_c + 1`` others), ``excluded`` the other
    committed ones; ``attestations`` how many it posts, after ``waited_s``."""

    epoch: int
    attestations: int
    included: int
    waited_s: float
    excluded: list[str] = field(default_factory=list, metadata=LONG)


@dataclass(frozen=True, kw_only=True)
class Submitted(Event, kind="submitted"):
    epoch: int
    attempt: int
    cheated: bool
    n: int
    f: int
    model: str
    gas: int
    fetch_s: float
    aggregate_s: float
    prove_s: float
    submit_s: float
    attest_s: float = 0.0  # waiting for the availability attestations
    # Built for every committed operator while the attestations arrived (fetch_s,
    # aggregate_s and prove_s then overlap attest_s); ready_s: from the start to the
    # result ready to post.
    ahead: bool = False
    ready_s: float = 0.0
    accuracy: float | None = None
    suspicious: bool = False
    operators: list[str] = field(default_factory=list, metadata=LONG)
    selected: list[int] = field(default_factory=list, metadata=LONG)
    flagged: list[str] = field(default_factory=list, metadata=LONG)
    scores: list[int] = field(default_factory=list, metadata=LONG)


@dataclass(frozen=True, kw_only=True)
class Checked(Event, kind="checked"):
    epoch: int
    attempt: int
    aggregator: str
    wrong_rows: list[int]
    model_matches: bool
    excluded: list[str] = field(default_factory=list, metadata=LONG)  # wrongly left out


@dataclass(frozen=True, kw_only=True)
class KrumMismatch(Event, kind="krum-mismatch"):
    """Krum recomputed from a posted result's own sketches disagrees with its selection or
    flags although the proof verified: a soundness bug in the circuit, reported loudly."""

    epoch: int
    aggregator: str


@dataclass(frozen=True, kw_only=True)
class NormViolation(Event, kind="norm-violation"):
    """A committed update above the norm bound ``Σ q² ≤ (⌊C·2^16⌋ + ⌈√d⌉)²``: an
    objective fault that no honest operator commits (big integers as decimal strings)."""

    epoch: int
    operator: str
    norm_sq: str
    bound_sq: str


@dataclass(frozen=True, kw_only=True)
class WrongfulExclusion(Event, kind="wrongful-exclusion"):
    """A posted result left out ``operator`` although ``attestations`` committed operators
    (at least the exclusion quorum ``2·f_c + 1``) attest its update: challenged."""

    epoch: int
    aggregator: str
    operator: str
    attestations: int


@dataclass(frozen=True, kw_only=True)
class ModelMismatch(Event, kind="model-mismatch"):
    """The posted model is not the model step of the base and the selected updates, at
    ``wrong_leaves`` of its leaves (by the posted leaf hashes); challenged at the first."""

    epoch: int
    aggregator: str
    wrong_leaves: int = 0


@dataclass(frozen=True, kw_only=True)
class Challenged(Event, kind="challenged"):
    """A challenge this node settled on chain: ``subject`` ``sketch`` (``row`` the sketch
    row, ``operator`` its owner; the last chunk proven), ``model`` (``row`` the model
    leaf) or ``exclusion`` (``operator`` the one left out)."""

    epoch: int
    attempt: int
    row: int
    operator: str
    aggregator: str
    upheld: bool
    gas: int
    subject: str = "sketch"


@dataclass(frozen=True, kw_only=True)
class ChallengeOpened(Event, kind="challenge-opened"):
    """This node opened chunked sketch challenge ``id`` of row ``row`` (bond sent); its
    chunks follow, one transaction each."""

    epoch: int
    attempt: int
    id: int
    row: int
    operator: str
    aggregator: str
    gas: int
    calldata: int


@dataclass(frozen=True, kw_only=True)
class ChunkProven(Event, kind="chunk-proven"):
    """This node proved chunk ``chunk`` of sketch challenge ``id``."""

    epoch: int
    id: int
    chunk: int
    gas: int


@dataclass(frozen=True, kw_only=True)
class NormProven(Event, kind="norm-proven"):
    """This node proved chunk ``chunk`` of ``operator``'s update of ``epoch`` on chain
    (``total`` the proven sum of squares so far); ``slashed`` when it passed the bound."""

    epoch: int
    operator: str
    chunk: int
    total: str
    slashed: bool
    gas: int


@dataclass(frozen=True, kw_only=True)
class ChallengeFailed(Event, kind="challenge-failed"):
    epoch: int
    error: str


@dataclass(frozen=True, kw_only=True)
class Finalized(Event, kind="finalized"):
    epoch: int
    model: str
    flag_mask: int


@dataclass(frozen=True, kw_only=True)
class Done(Event, kind="done"):
    epoch: int
