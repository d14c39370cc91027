"""The network's history as the EpochManager's events tell it, one record per epoch: who
aggregated, who committed, the posted results, challenges, timeouts, slashes, and how
the epoch ended. ``p2pfl status`` and the testnet's live table read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from p2pfl.chain.client import decode_error
from p2pfl.chain.events import Event, EventFollower
from p2pfl.chain.slashing import SlashReason


@dataclass
class Slash:
    operator: str
    wad: int
    reason: SlashReason


@dataclass
class FailedSlash:
    """A slash the core refused (never for lack of gas): kept by the contract as pending
    slash ``pending_id``, retryable by anyone with ``retrySlash``."""

    operator: str
    reason: SlashReason
    error: bytes
    pending_id: int | None = None

    @property
    def why(self) -> str:
        """The core's refusal, readable: ``AllocationManager.OperatorNotSlashable()``."""
        return decode_error(self.error)


@dataclass
class EpochRecord:
    epoch: int
    open_block: int = 0
    aggregators: list[str] = field(default_factory=list)  # per attempt
    committed: list[str] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    challenges: list[dict[str, Any]] = field(default_factory=list)
    voided: int = 0
    timeouts: list[str] = field(default_factory=list)
    slashes: list[Slash] = field(default_factory=list)
    failed_slashes: list[FailedSlash] = field(default_factory=list)
    finalized_block: int | None = None
    skipped: bool = False
    model: str | None = None
    flagged: list[str] = field(default_factory=list)
    blocks: dict[str, int] = field(default_factory=dict)  # first block of each event kind

    @property
    def done(self) -> bool:
        return self.finalized_block is not None

    @property
    def final_result(self) -> dict[str, Any] | None:
        return self.results[-1] if self.results and not self.skipped else None


@dataclass
class History:
    follower: EventFollower
    epochs: dict[int, EpochRecord] = field(default_factory=dict)

    def refresh(self) -> list[Event]:
        new = self.follower.poll()
        for ev in new:
            self._apply(ev)
        return new

    def _rec(self, epoch: int) -> EpochRecord:
        return self.epochs.setdefault(epoch, EpochRecord(epoch))

    def _apply(self, ev: Event) -> None:
        a = ev.args
        if "epoch" not in a:
            return
        rec = self._rec(int(a["epoch"]))
        rec.blocks.setdefault(ev.name, ev.block)
        if ev.name == "EpochOpened":
            rec.open_block = ev.block
        elif ev.name == "SeedRecorded":  # the first draw (attempt 0)
            rec.aggregators = [a["aggregator"]]
        elif ev.name == "UpdateCommitted":
            rec.committed.append(a["operator"])
        elif ev.name == "AggregatorRotated":
            rec.aggregators.append(a["aggregator"])
        elif ev.name == "ResultSubmitted":
            ops = list(a["operators"])
            rec.results.append(
                {
                    "aggregator": a["aggregator"],
                    "block": ev.block,
                    "operators": ops,
                    "selected": [ops[i] for i in range(len(ops)) if a["selectedMask"] >> i & 1],
                    "flagged": [ops[i] for i in range(len(ops)) if a["flagMask"] >> i & 1],
                    "model": "0x" + bytes(a["modelDigest"]).hex(),
                }
            )
        elif ev.name == "ModelChallenged":
            rec.challenges.append(
                {
                    "kind": "model",
                    "leaf": int(a["leaf"]),
                    "challenger": a["challenger"],
                    "upheld": bool(a["upheld"]),
                }
            )
        elif ev.name == "ExclusionChallenged":  # only ever upheld (a refused one reverts)
            rec.challenges.append(
                {
                    "kind": "exclusion",
                    "operator": a["operator"],
                    "challenger": a["challenger"],
                    "upheld": True,
                }
            )
        elif ev.name == "SketchChallengeOpened":  # settled by SketchChallengeClosed
            rec.challenges.append(
                {
                    "kind": "sketch",
                    "id": int(a["id"]),
                    "row": int(a["index"]),
                    "challenger": a["challenger"],
                    "upheld": False,
                    "open": True,
                }
            )
        elif ev.name == "SketchChallengeClosed":
            for c in rec.challenges:
                if c.get("id") == int(a["id"]) and c["kind"] == "sketch":
                    c["upheld"], c["open"] = bool(a["upheld"]), False
        elif ev.name == "ResultVoided":
            rec.voided += 1
        elif ev.name == "AggregatorTimedOut":
            rec.timeouts.append(a["aggregator"])
        elif ev.name == "SlashApplied":
            rec.slashes.append(Slash(a["operator"], int(a["wad"]), SlashReason(a["reason"])))
        elif ev.name == "SlashFailed":
            reason = SlashReason(a["reason"])
            rec.failed_slashes.append(FailedSlash(a["operator"], reason, bytes(a["error"])))
        elif ev.name == "SlashPending":
            for failed in reversed(rec.failed_slashes):
                if failed.operator == a["operator"] and failed.pending_id is None:
                    failed.pending_id = int(a["id"])
                    break
        elif ev.name == "EpochFinalized":
            rec.finalized_block = ev.block
            rec.model = "0x" + bytes(a["modelDigest"]).hex()
            res = rec.results[-1] if rec.results else None
            rec.flagged = list(res["flagged"]) if res else []
        elif ev.name == "EpochSkipped":
            rec.finalized_block = ev.block
            rec.skipped = True
