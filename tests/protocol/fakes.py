"""In-memory stand-ins for what the epoch node talks to, for unit tests on trio's mock
clock: the EpochManager contract (its state machine, deadlines in blocks that advance
with the trio clock), the node's chain view, and a peer whose gossip board and blob
service are shared dicts among the fake peers of one :class:`Swarm`.

The fakes model the contract simply but with its reverts (a refused transaction raises
``ChainError``, as ``Chain.transact`` does); faults are injected per method, over a
stretch of mock time or for the next few calls, as ``requests.ConnectionError`` (an RPC
endpoint that is down)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
import trio
from eth_account import Account
from eth_account.signers.local import LocalAccount
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.id import ID
from requests.exceptions import ConnectionError as RpcDown

from p2pfl import evidence, merkle
from p2pfl.chain.client import Chain, ChainError
from p2pfl.chain.epochs import NO_AGGREGATOR, EpochInfo, EpochManager, Params, Status
from p2pfl.evidence import ChunkEvidence, ModelEvidence, SketchEvidence
from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import Update, norm_bound_sq, squared_norm
from p2pfl.net import availability
from p2pfl.net.announce import Announcement
from p2pfl.net.attestations import ATTESTATIONS, AttestationBoard
from p2pfl.net.attestsync import AttestationSync
from p2pfl.net.availability import Attestation
from p2pfl.net.blob import BlobService, BlobStore
from p2pfl.net.board import MessageRules, Signed, Slot
from p2pfl.net.errors import AnnouncementError, BlobUnavailableError
from p2pfl.net.gossip import ANNOUNCEMENTS, AnnouncementBoard
from p2pfl.net.host import Network
from p2pfl.net.peer import Peer
from p2pfl.net.topics import AVAILABILITY, Kind, TopicKind
from p2pfl.protocol.chainview import ChainView, PostedResult, Snapshot
from p2pfl.protocol.election import candidates, elect
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.trainer import Trainer
from p2pfl.robust.sketch import partial_sketch, sketch_plan

BLOCK_S = 1.0  # mock seconds per block
MIN_PARTICIPANTS = 3
ZERO = bytes(32)
CHAIN_ID = 31337
AVS = "0x" + "5e" * 20
EPOCH_MANAGER = "0x" + "e0" * 20

M = TypeVar("M", bound=Signed)


def block_now() -> int:
    return int(trio.current_time() / BLOCK_S)


def seed_of(epoch: int) -> bytes:
    """The fake's ``blockhash(closeBlock)``: fixed per epoch (whatever block the phase
    closes in), so a test can tell in advance who is drawn."""
    return keccak256(b"seed" + epoch.to_bytes(32, "big"))


def receipt(gas: int = 50_000) -> dict[str, int]:
    return {"gasUsed": gas, "status": 1}


def operator_account(i: int) -> LocalAccount:
    acct: LocalAccount = Account.from_key(keccak256(b"operator" + bytes([i])))
    return acct


def peer_id_of(i: int) -> ID:
    return ID.from_pubkey(create_new_key_pair(bytes([i + 1]) * 32).public_key)


# ---------------------------------------------------------------------------- chain


@dataclass
class EpochRecord:
    status: Status
    attempt: int
    open_block: int
    commit_deadline: int
    close_block: int
    submit_deadline: int
    roster: list[str]
    stakes: list[int]
    aggregator: str
    base_model: bytes
    challenge_deadline: int = 0
    seed: bytes = ZERO
    model_digest: bytes = ZERO
    selected_mask: int = 0
    flag_mask: int = 0
    commitments: dict[str, bytes] = field(default_factory=dict)  # in commit order
    result_operators: list[str] = field(default_factory=list)
    sketches: list[list[int]] = field(default_factory=list)
    empty: bool = False  # the standing result is an empty one (fewer than 3 available)

    def closed(self) -> bool:
        """The commit phase is over. A fake transaction lands in the current block; on a
        chain, one sent after the last commit lands in a later block than that commit,
        so ``blockhash(closeBlock)`` is readable: the fake lets it read the seed then."""
        return block_now() > self.close_block or len(self.commitments) == len(self.roster)

    def info(self) -> EpochInfo:
        return EpochInfo(
            status=self.status,
            attempt=self.attempt,
            open_block=self.open_block,
            commit_deadline=self.commit_deadline,
            close_block=self.close_block,
            submit_deadline=self.submit_deadline,
            challenge_deadline=self.challenge_deadline,
            aggregator=self.aggregator,
            seed=self.seed,
            base_model=self.base_model,
            model_digest=self.model_digest,
            selected_mask=self.selected_mask,
            flag_mask=self.flag_mask,
            total_stake=sum(self.stakes),
        )


@dataclass
class FakeSketchChallenge:
    """``ResultChallenges.SketchChallenge``, with the challenger's partial sketches."""

    epoch: int
    challenger: str
    deadline: int
    attempt: int
    index: int
    chunks: int
    bond: int
    proven_mask: int
    closed: bool
    partials: list[list[int]]


@dataclass
class FakeNormProof:
    proven_mask: int = 0
    sum_of_squares: int = 0
    slashed: bool = False


class FakeChain:
    """The EpochManager as the node sees it (``ChainView.epochs``), and the chain object
    (``ChainView.chain``: only ``chain_id``), over one shared in-memory state."""

    def __init__(
        self,
        operators: dict[str, int],
        peer_ids: dict[str, bytes],
        genesis: bytes,
        params: Params | None = None,
    ) -> None:
        self.chain_id = CHAIN_ID
        self.address = EPOCH_MANAGER
        self.p = params or Params()
        self.stakes = dict(operators)  # the service manager's operator set, with stakes
        self.peer_ids = dict(peer_ids)
        self.latest = genesis
        self.current = 0
        self.epochs: dict[int, EpochRecord] = {}
        self.results: list[PostedResult] = []  # the ResultSubmitted log
        self.txs: list[tuple[str, str, int]] = []  # (method, sender, epoch) of every mined tx
        self.reverts: list[tuple[str, str, str]] = []  # (method, sender, reason)
        self.timeouts: list[tuple[int, str]] = []  # (epoch, absent aggregator)
        # Settled challenges: (epoch, sketch row or model leaf, challenger, upheld).
        self.challenges: list[tuple[int, int, str, bool]] = []
        self.sketch_challenges: list[FakeSketchChallenge] = []
        self.norms: dict[tuple[int, str], FakeNormProof] = {}
        self.norm_slashes: list[tuple[int, str]] = []  # (epoch, operator)
        self.exclusions: list[tuple[int, str, str]] = []  # (epoch, left out, challenger)
        self.dim = GlobalModel.genesis(0).spec.dim
        self.norm_bound_sq = norm_bound_sq(10.0, self.dim)
        self.rigged: dict[tuple[int, int], str] = {}  # (epoch, attempt) -> aggregator
        self.on_commit: Callable[[str, int, bytes], None] | None = None
        # Faults: a method raises ConnectionError within a stretch of mock time, or for
        # its next few calls.
        self.outages: dict[str, tuple[float, float]] = {}
        self.fail_next: dict[str, int] = {}

    # ---- fault injection
    def fault(self, method: str) -> None:
        start, end = self.outages.get(method, (0.0, 0.0))
        if start <= trio.current_time() < end:
            raise RpcDown(f"{method}: connection refused")
        if self.fail_next.get(method, 0) > 0:
            self.fail_next[method] -= 1
            raise RpcDown(f"{method}: connection reset")

    def _revert(self, method: str, who: str, reason: str) -> ChainError:
        self.reverts.append((method, who, reason))
        return ChainError(f"execution reverted: {reason}")

    # ---- views
    def params(self) -> Params:
        return self.p

    def current_epoch(self) -> int:
        self.fault("current_epoch")
        return self.current

    def epoch(self, epoch: int) -> EpochInfo:
        self.fault("epoch")
        rec = self.epochs.get(epoch)
        if rec is None:
            return EpochInfo(Status.NONE, 0, 0, 0, 0, 0, 0, NO_AGGREGATOR, ZERO, ZERO, ZERO,
                             0, 0, 0)  # fmt: skip
        return rec.info()

    def roster(self, epoch: int) -> tuple[list[str], list[int]]:
        self.fault("roster")
        rec = self.epochs.get(epoch)
        return (list(rec.roster), list(rec.stakes)) if rec else ([], [])

    def committed(self, epoch: int) -> list[str]:
        rec = self.epochs.get(epoch)
        return list(rec.commitments) if rec else []

    def commitment(self, epoch: int, operator: str) -> bytes:
        self.fault("commitment")
        rec = self.epochs.get(epoch)
        return rec.commitments.get(operator, ZERO) if rec else ZERO

    def byzantine_bound(self, n: int) -> int:
        self.fault("byzantine_bound")
        cap = (n - MIN_PARTICIPANTS) // 2 if n >= MIN_PARTICIPANTS else 0
        return min(self.p.max_byzantine, cap)

    def latest_model(self) -> bytes:
        return self.latest

    def aggregator_at(self, epoch: int, attempt: int) -> str:
        """As the contract: the draw of ``attempt``, or nobody before the seed is recorded."""
        if self.epochs[epoch].seed == ZERO:
            return NO_AGGREGATOR
        return self.drawn(epoch, attempt)

    def drawn(self, epoch: int, attempt: int) -> str:
        """Who the seed draws for ``attempt`` among the operators that committed. A test may
        ask in advance, before anyone committed: the draw then assumes everyone will."""
        rigged = self.rigged.get((epoch, attempt))
        if rigged is not None:
            return rigged
        rec = self.epochs[epoch]
        ops, stakes = candidates(rec.roster, rec.stakes, rec.commitments or rec.roster)
        return elect(seed_of(epoch), ops, stakes, attempt) if ops else NO_AGGREGATOR

    def record(self, epoch: int) -> EpochRecord:
        return self.epochs[epoch]

    # ---- transactions
    def _open(self, method: str, who: str, epoch: int) -> EpochRecord:
        if epoch != self.current:
            raise self._revert(method, who, f"WrongEpoch({epoch}, {self.current})")
        rec = self.epochs[epoch]
        if rec.status != Status.OPEN:
            raise self._revert(method, who, f"WrongStatus({epoch}, {rec.status.name})")
        return rec

    def open_epoch(self, who: LocalAccount) -> tuple[int, dict[str, int]]:
        self.fault("open_epoch")
        me = who.address
        prev = self.current
        if prev and self.epochs[prev].status != Status.FINALIZED:
            raise self._revert("open_epoch", me, f"PreviousEpochNotFinalized({prev})")
        roster = [op for op, stake in self.stakes.items() if stake > 0]
        if not roster:
            raise self._revert("open_epoch", me, "NoOperators()")
        e = prev + 1
        b = block_now()
        rec = EpochRecord(
            status=Status.OPEN,
            attempt=0,
            open_block=b,
            commit_deadline=b + self.p.commit_blocks,
            close_block=b + self.p.commit_blocks,
            submit_deadline=b + self.p.commit_blocks + self.p.submit_blocks,
            roster=roster,
            stakes=[self.stakes[op] for op in roster],
            aggregator=NO_AGGREGATOR,
            base_model=self.latest,
        )
        self.epochs[e] = rec
        self.current = e
        self.txs.append(("open_epoch", me, e))
        return e, receipt()

    def commit_update(self, who: LocalAccount, epoch: int, digest: bytes) -> dict[str, int]:
        self.fault("commit_update")
        me = who.address
        rec = self._open("commit_update", me, epoch)
        b = block_now()
        if b > rec.close_block:
            raise self._revert("commit_update", me, f"CommitClosed({epoch})")
        if me not in rec.roster:
            raise self._revert("commit_update", me, f"NotInRoster({epoch}, {me})")
        if me in rec.commitments:
            raise self._revert("commit_update", me, f"AlreadyCommitted({epoch}, {me})")
        if digest == ZERO:
            raise self._revert("commit_update", me, "ZeroDigest()")
        if self.on_commit is not None:
            self.on_commit(me, epoch, digest)
        rec.commitments[me] = digest
        if len(rec.commitments) == len(rec.roster):  # the last member closes the phase
            rec.close_block = b
            rec.submit_deadline = b + self.p.submit_blocks
        self.txs.append(("commit_update", me, epoch))
        return receipt()

    def _record_seed(self, method: str, who: str, epoch: int) -> bytes:
        rec = self.epochs[epoch]
        if rec.seed == ZERO:
            if not rec.closed():
                raise self._revert(method, who, f"CommitStillOpen({epoch})")
            rec.seed = seed_of(epoch)
            rec.aggregator = self.drawn(epoch, rec.attempt)
        return rec.seed

    def submit_result(
        self,
        who: LocalAccount,
        epoch: int,
        model_leaf_hashes: list[bytes],
        attestations: Sequence[Attestation],
        sketches: list[list[int]],
        selected_mask: int,
        flag_mask: int,
        proof: bytes,
    ) -> dict[str, int]:
        self.fault("submit_result")
        me = who.address
        rec = self._open("submit_result", me, epoch)
        b = block_now()
        seed = self._record_seed("submit_result", me, epoch)
        if me != rec.aggregator:
            raise self._revert("submit_result", me, f"NotAggregator({epoch}, {me})")
        if b > rec.submit_deadline:
            raise self._revert("submit_result", me, f"SubmitClosed({epoch})")
        committed = list(rec.commitments)
        atts = self._check_attestations("submit_result", me, epoch, committed, attestations)
        f_c = self.byzantine_bound(len(committed))
        operators = availability.available(committed, atts, f_c)
        rec.empty = len(operators) < MIN_PARTICIPANTS
        if rec.empty:
            if model_leaf_hashes or sketches or proof or selected_mask or flag_mask:
                raise self._revert("submit_result", me, f"EmptyResultMalformed({epoch})")
            return self._store(epoch, rec, me, seed, rec.base_model, operators, [], 0, 0, ())
        if len(sketches) != len(operators) or any(len(r) != self.p.sketch_dim for r in sketches):
            raise self._revert("submit_result", me, "BadSketchLength()")
        if not proof:
            raise self._revert("submit_result", me, f"InvalidProof({epoch})")
        if len(model_leaf_hashes) != merkle.leaf_count(self.dim):
            raise self._revert("submit_result", me, "ModelLeafHashesWrong()")
        model_digest = merkle.root_of_leaf_hashes(list(model_leaf_hashes), self.dim)
        return self._store(
            epoch,
            rec,
            me,
            seed,
            model_digest,
            operators,
            sketches,
            selected_mask,
            flag_mask,
            tuple(model_leaf_hashes),
        )

    def _store(
        self,
        epoch: int,
        rec: EpochRecord,
        me: str,
        seed: bytes,
        model_digest: bytes,
        operators: list[str],
        sketches: list[list[int]],
        selected_mask: int,
        flag_mask: int,
        leaf_hashes: tuple[bytes, ...],
    ) -> dict[str, int]:
        b = block_now()
        rec.status = Status.SUBMITTED
        rec.model_digest = model_digest
        rec.result_operators = list(operators)
        rec.sketches = [list(r) for r in sketches]
        rec.selected_mask = selected_mask
        rec.flag_mask = flag_mask
        rec.challenge_deadline = b + self.p.challenge_blocks
        self.results.append(
            PostedResult(
                epoch=epoch,
                aggregator=me,
                model_digest=model_digest,
                seed=seed,
                operators=list(operators),
                sketches=[list(r) for r in sketches],
                selected_mask=selected_mask,
                flag_mask=flag_mask,
                block=b,
                model_leaf_hashes=leaf_hashes,
            )
        )
        self.txs.append(("submit_result", me, epoch))
        return receipt(300_000)

    def _check_attestations(
        self,
        method: str,
        me: str,
        epoch: int,
        committed: list[str],
        attestations: Sequence[Attestation],
    ) -> list[Attestation]:
        """The contract's checks: ascending signers, committed, mask width, signature."""
        prev = -1
        for i, att in enumerate(attestations):
            if int(att.operator, 16) <= prev:
                raise self._revert(method, me, f"AttestationsNotAscending({i})")
            prev = int(att.operator, 16)
            try:
                availability.check(
                    att, chain_id=CHAIN_ID, avs=AVS, epoch=epoch, committed=committed
                )
            except AnnouncementError as exc:
                raise self._revert(method, me, f"attestation refused: {exc.reason}") from None
        return list(attestations)

    def challenge_exclusion(
        self, who: LocalAccount, epoch: int, operator: str, attestations: Sequence[Attestation]
    ) -> dict[str, int]:
        self.fault("challenge_exclusion")
        me = who.address
        rec = self._challengeable("challenge_exclusion", me, epoch)
        committed = list(rec.commitments)
        if operator not in committed or operator in rec.result_operators:
            raise self._revert("challenge_exclusion", me, f"NotExcluded({epoch}, {operator})")
        atts = self._check_attestations("challenge_exclusion", me, epoch, committed, attestations)
        have = len(availability.supporters(committed, atts, operator))
        need = availability.exclusion_quorum(self.byzantine_bound(len(committed)))
        if have < need:
            raise self._revert(
                "challenge_exclusion", me, f"ExclusionQuorumNotMet({epoch}, {have}, {need})"
            )
        self.exclusions.append((epoch, operator, me))
        self._void(epoch, rec, 0, me)
        self.txs.append(("challenge_exclusion", me, epoch))
        return receipt(120_000)

    # ---- the v2 challenges (ResultChallenges.sol), checked like the contract checks them
    def _challengeable(self, method: str, me: str, epoch: int) -> EpochRecord:
        rec = self.epochs[epoch]
        if rec.status != Status.SUBMITTED:
            raise self._revert(method, me, f"WrongStatus({epoch})")
        if block_now() > rec.challenge_deadline:
            raise self._revert(method, me, f"ChallengeClosed({epoch})")
        return rec

    def _void(self, epoch: int, rec: EpochRecord, row: int, me: str) -> None:
        """An upheld challenge: the result is voided, the next aggregator takes over."""
        self.challenges.append((epoch, row, me, True))
        rec.status = Status.OPEN
        self._rotate(epoch, rec)

    def open_sketch_challenge(
        self, who: LocalAccount, epoch: int, ev: SketchEvidence
    ) -> tuple[int, dict[str, int]]:
        self.fault("open_sketch_challenge")
        me = who.address
        rec = self._challengeable("open_sketch_challenge", me, epoch)
        k, d = self.p.sketch_dim, self.dim
        if ev.row >= len(rec.result_operators):
            raise self._revert("open_sketch_challenge", me, "ChallengedRowOutOfRange()")
        if list(ev.posted) != rec.sketches[ev.row]:
            raise self._revert("open_sketch_challenge", me, "PostedRowWrong()")
        chunks = merkle.chunk_count(d)
        if len(ev.partials) != chunks * k:
            raise self._revert("open_sketch_challenge", me, "PartialsLengthWrong()")
        parts = [list(ev.partials[c * k : (c + 1) * k]) for c in range(chunks)]
        if [sum(col) for col in zip(*parts, strict=True)] == list(ev.posted):
            raise self._revert("open_sketch_challenge", me, "PartialsMatchPostedRow()")
        live = evidence.live_chunks(d)
        cid = len(self.sketch_challenges)
        self.sketch_challenges.append(
            FakeSketchChallenge(
                epoch=epoch,
                challenger=me,
                deadline=block_now() + self.p.challenge_blocks,
                attempt=rec.attempt,
                index=ev.row,
                chunks=chunks,
                bond=self.p.challenge_bond,
                proven_mask=((1 << chunks) - 1) ^ ((1 << live) - 1),
                closed=False,
                partials=parts,
            )
        )
        self.txs.append(("open_sketch_challenge", me, epoch))
        return cid, receipt(400_000)

    def _open_challenge(self, method: str, me: str, epoch: int, cid: int) -> FakeSketchChallenge:
        if cid >= len(self.sketch_challenges):
            raise self._revert(method, me, f"NoSketchChallenge({cid})")
        ch = self.sketch_challenges[cid]
        if ch.closed or ch.epoch != epoch:
            raise self._revert(method, me, f"NoSketchChallenge({cid})")
        return ch

    def _moot(self, ch: FakeSketchChallenge) -> bool:
        rec = self.epochs[ch.epoch]
        return rec.status != Status.SUBMITTED or rec.attempt != ch.attempt

    def prove_chunk(
        self, who: LocalAccount, epoch: int, cid: int, chunk: ChunkEvidence
    ) -> tuple[bool, dict[str, int]]:
        self.fault("prove_chunk")
        me = who.address
        ch = self._open_challenge("prove_chunk", me, epoch, cid)
        if self._moot(ch):
            ch.closed = True
            return False, receipt()
        if block_now() > ch.deadline:
            raise self._revert("prove_chunk", me, f"SketchChallengeExpired({cid})")
        c = chunk.index
        if c >= ch.chunks:
            raise self._revert("prove_chunk", me, "ChunkOutOfRange()")
        if ch.proven_mask >> c & 1:
            raise self._revert("prove_chunk", me, f"ChunkAlreadyProven({cid}, {c})")
        rec = self.epochs[epoch]
        root = rec.commitments[rec.result_operators[ch.index]]
        d = self.dim
        depth = merkle.depth(d)
        offset = c * merkle.CHUNK_BYTES
        if not merkle.verify_chunk(
            root, c, chunk.data, list(chunk.proof), depth
        ) or not merkle.padding_is_zero(d, offset, chunk.data):
            raise self._revert("prove_chunk", me, "ChunkNotInRoot()")
        plan = sketch_plan(rec.seed, d, self.p.sketch_dim)
        if [int(x) for x in partial_sketch(chunk.data, c, plan)] != ch.partials[c]:
            raise self._revert("prove_chunk", me, f"PartialSketchWrong({cid}, {c})")
        ch.proven_mask |= 1 << c
        self.txs.append(("prove_chunk", me, epoch))
        if ch.proven_mask != (1 << ch.chunks) - 1:
            return False, receipt(2_000_000)
        ch.closed = True
        self._void(epoch, rec, ch.index, ch.challenger)
        return True, receipt(2_000_000)

    def close_sketch_challenge(self, who: LocalAccount, epoch: int, cid: int) -> dict[str, int]:
        self.fault("close_sketch_challenge")
        me = who.address
        ch = self._open_challenge("close_sketch_challenge", me, epoch, cid)
        if not self._moot(ch) and block_now() <= ch.deadline:
            raise self._revert("close_sketch_challenge", me, f"SketchChallengeStillOpen({cid})")
        if not self._moot(ch):
            self.challenges.append((epoch, ch.index, ch.challenger, False))
        ch.closed = True
        self.txs.append(("close_sketch_challenge", me, epoch))
        return receipt()

    def sketch_challenge_ids(self, epoch: int) -> list[int]:
        return [i for i, c in enumerate(self.sketch_challenges) if c.epoch == epoch]

    def sketch_challenge(self, cid: int) -> FakeSketchChallenge:
        return self.sketch_challenges[cid]

    def open_sketch_challenges(self, epoch: int) -> int:
        return sum(1 for c in self.sketch_challenges if c.epoch == epoch and not c.closed)

    def challenge_model(
        self, who: LocalAccount, epoch: int, ev: ModelEvidence
    ) -> tuple[bool, dict[str, int]]:
        self.fault("challenge_model")
        me = who.address
        rec = self._challengeable("challenge_model", me, epoch)
        depth = merkle.depth(self.dim)
        i = ev.leaf

        def ok(root: bytes, leaf: evidence.LeafEvidence) -> bool:
            proof = list(leaf.proof)
            return leaf.index == i and merkle.verify_leaf(root, i, leaf.data, proof, depth)

        posted = ev.model
        if not ok(rec.base_model, ev.base) or not (
            posted.index == i
            and len(posted.proof) == depth
            and merkle.root_from_leaf(posted.hash, i, list(posted.proof)) == rec.model_digest
        ):
            raise self._revert("challenge_model", me, "LeafNotInRoot()")
        chosen = [op for j, op in enumerate(rec.result_operators) if rec.selected_mask >> j & 1]
        if len(ev.selected) != len(chosen) or not all(
            ok(rec.commitments[op], leaf) for op, leaf in zip(chosen, ev.selected, strict=True)
        ):
            raise self._revert("challenge_model", me, "LeafNotInRoot()")

        def entries(b: bytes) -> np.ndarray[Any, np.dtype[np.int32]]:
            return np.frombuffer(b, dtype="<i4").astype(np.int32)

        want = fixedpoint.step(entries(ev.base.data), [entries(s.data) for s in ev.selected])
        live = max(0, min(64, self.dim - 64 * i))  # entries past d are zero in any model
        want[live:] = 0
        upheld = keccak256(fixedpoint.to_bytes(want)) != posted.hash
        self.txs.append(("challenge_model", me, epoch))
        if upheld:
            self._void(epoch, rec, i, me)
        else:
            self.challenges.append((epoch, i, me, False))
        return upheld, receipt(350_000)

    def prove_norm_chunk(
        self, who: LocalAccount, epoch: int, operator: str, chunk: ChunkEvidence
    ) -> tuple[bool, dict[str, int]]:
        self.fault("prove_norm_chunk")
        me = who.address
        rec = self.epochs[epoch]
        open_ok = rec.status == Status.OPEN and rec.closed() and epoch == self.current
        window_ok = rec.status == Status.SUBMITTED and block_now() <= rec.challenge_deadline
        if not (open_ok or window_ok):
            raise self._revert("prove_norm_chunk", me, f"NormNotProvable({epoch})")
        root = rec.commitments.get(operator)
        if root is None:
            raise self._revert("prove_norm_chunk", me, "NothingCommitted()")
        np_ = self.norms.setdefault((epoch, operator), FakeNormProof())
        if np_.slashed:
            raise self._revert("prove_norm_chunk", me, "AlreadySlashedForNorm()")
        c = chunk.index
        if np_.proven_mask >> c & 1:
            raise self._revert("prove_norm_chunk", me, "NormChunkAlreadyProven()")
        depth = merkle.depth(self.dim)
        if not merkle.verify_chunk(root, c, chunk.data, list(chunk.proof), depth):
            raise self._revert("prove_norm_chunk", me, "ChunkNotInRoot()")
        np_.proven_mask |= 1 << c
        np_.sum_of_squares += squared_norm(merkle.chunk_entries(chunk.data, self.dim, c))
        self.txs.append(("prove_norm_chunk", me, epoch))
        if np_.sum_of_squares <= self.norm_bound_sq:
            return False, receipt(3_000_000)
        np_.slashed = True
        self.norm_slashes.append((epoch, operator))
        return True, receipt(3_000_000)

    def norm_proof(self, epoch: int, operator: str) -> FakeNormProof:
        return self.norms.get((epoch, operator), FakeNormProof())

    def _rotate(self, epoch: int, rec: EpochRecord) -> None:
        if rec.attempt + 1 >= self.p.max_attempts:  # attempts exhausted: skipped
            rec.status = Status.FINALIZED
            return
        rec.attempt += 1
        rec.aggregator = self.aggregator_at(epoch, rec.attempt)
        rec.submit_deadline = block_now() + self.p.submit_blocks

    def report_timeout(self, who: LocalAccount, epoch: int) -> dict[str, int]:
        self.fault("report_timeout")
        me = who.address
        rec = self._open("report_timeout", me, epoch)
        if block_now() <= rec.submit_deadline:
            raise self._revert("report_timeout", me, f"SubmitStillOpen({epoch})")
        if len(rec.commitments) < MIN_PARTICIPANTS:
            raise self._revert("report_timeout", me, f"TooFewParticipants({epoch})")
        self._record_seed("report_timeout", me, epoch)
        self.timeouts.append((epoch, rec.aggregator))
        self._rotate(epoch, rec)
        self.txs.append(("report_timeout", me, epoch))
        return receipt()

    def finalize(self, who: LocalAccount, epoch: int) -> dict[str, int]:
        self.fault("finalize")
        me = who.address
        rec = self.epochs[epoch]
        b = block_now()
        if rec.status == Status.OPEN:
            if b <= rec.close_block:
                raise self._revert("finalize", me, f"CommitStillOpen({epoch})")
            if len(rec.commitments) >= MIN_PARTICIPANTS:
                raise self._revert("finalize", me, f"WrongStatus({epoch}, OPEN)")
            rec.status = Status.FINALIZED
            self.txs.append(("finalize", me, epoch))
            return receipt()
        if rec.status != Status.SUBMITTED:
            raise self._revert("finalize", me, f"WrongStatus({epoch}, {rec.status.name})")
        if b <= rec.challenge_deadline:
            raise self._revert("finalize", me, f"ChallengeStillOpen({epoch})")
        if self.open_sketch_challenges(epoch):
            raise self._revert("finalize", me, f"SketchChallengesOpen({epoch})")
        rec.status = Status.FINALIZED
        if not rec.empty:  # an empty result skips the epoch: the model stays
            self.latest = rec.model_digest
        self.txs.append(("finalize", me, epoch))
        return receipt()

    def sent(self, method: str, epoch: int | None = None) -> list[str]:
        """The senders of the mined transactions ``method`` (of ``epoch``)."""
        return [who for m, who, e in self.txs if m == method and epoch in (None, e)]


class FakeView(ChainView):
    """The real ChainView's caches (roster, forget_before) over a FakeChain; what it reads
    through web3 (block number, the service manager, block hashes, event logs) comes from
    the fake instead. ``outage``: the node's RPC endpoint is down in that stretch of mock
    time (``snapshot`` raises)."""

    def __init__(self, fake: FakeChain) -> None:
        self.fake = fake
        self.outage: tuple[float, float] | None = None
        self.snapshot_faults: list[float] = []  # mock times at which snapshot() raised
        super().__init__(cast(Chain, fake), cast(EpochManager, fake))

    def __post_init__(self) -> None:
        self.params = self.fake.params()
        self.service_manager = AVS

    def head(self) -> int:
        self.fake.fault("head")
        return block_now()

    def snapshot(self) -> Snapshot:
        now = trio.current_time()
        if self.outage is not None and self.outage[0] <= now < self.outage[1]:
            self.snapshot_faults.append(now)
            raise RpcDown("HTTPConnectionPool(host='127.0.0.1', port=8545): refused")
        self.fake.fault("snapshot")
        e = self.fake.current
        if e == 0:
            return Snapshot(block_now(), 0, None, [])
        return Snapshot(block_now(), e, self.fake.epoch(e), self.fake.committed(e))

    def operators(self) -> tuple[list[str], list[int]]:
        ops = [op for op, s in self.fake.stakes.items() if s > 0]
        return ops, [self.fake.stakes[op] for op in ops]

    def peer_id(self, operator: str) -> bytes:
        return self.fake.peer_ids.get(operator, b"")

    def stake(self, operator: str) -> int:
        return self.fake.stakes.get(operator, 0)

    def seed(self, info: EpochInfo) -> bytes:
        """The fake's ``blockhash(closeBlock)``; asking before the close is a bug."""
        if info.seed != ZERO:
            return info.seed
        epoch = next(e for e, r in self.fake.epochs.items() if r.open_block == info.open_block)
        if not self.fake.epochs[epoch].closed():
            raise AssertionError(f"the seed of epoch {epoch} was read before its close")
        return seed_of(epoch)

    def result(self, epoch: int, from_block: int) -> PostedResult | None:
        self.fake.fault("result")
        posted = [r for r in self.fake.results if r.epoch == epoch and r.block >= from_block]
        return posted[-1] if posted else None


# ---------------------------------------------------------------------------- network


class Swarm:
    """The fake network: the peers that are up, their blob stores and gossip boards."""

    def __init__(self, chain_id: int = CHAIN_ID, avs: str = AVS) -> None:
        self.chain_id = chain_id
        self.avs = avs
        self.stores: dict[ID, BlobStore] = {}
        self.held: dict[ID, set[bytes]] = {}  # each peer's blobs not served yet
        self.held_requests: list[tuple[ID, bytes]] = []  # (asked peer, digest) refused
        self.boards: dict[ID, FakeBoard] = {}
        self.attestation_boards: dict[ID, FakeAttestationBoard] = {}
        self.syncs: dict[ID, FakeAttestationSync] = {}
        self.online: set[ID] = set()

    def peer(self, pid: ID, blob_dir: Path) -> Peer:
        """A real :class:`Peer` over a fake host, board and blob service."""
        store = BlobStore(blob_dir)
        self.stores[pid] = store
        board = self.boards[pid] = FakeBoard(self, pid, ANNOUNCEMENTS, self.boards)
        self.online.add(pid)
        net = FakeNet(self, pid)
        blobs = FakeBlobService(self, pid, store)
        self.held[pid] = blobs.held
        atts = self.attestation_boards[pid] = FakeAttestationBoard(
            self, pid, ATTESTATIONS, self.attestation_boards
        )
        sync = self.syncs[pid] = FakeAttestationSync(self, pid)
        return Peer(
            cast(Network, net),
            cast(AnnouncementBoard, board),
            cast(BlobService, blobs),
            cast(AttestationBoard, atts),
            cast(AttestationSync, sync),
        )


class FakeNet:
    def __init__(self, swarm: Swarm, pid: ID) -> None:
        self.swarm = swarm
        self.peer_id = pid
        self.nursery: Any = None  # the fake board runs no tasks

    def connected_peers(self) -> list[ID]:
        return [p for p in self.swarm.online if p != self.peer_id]


class FakeSignedBoard(Generic[M]):
    """Messages delivered at once to every board of ``boards`` (the swarm's boards of
    this message type) that is up and joined the epoch; the first per slot and operator
    stands, and ``publish`` refuses what the real board refuses (not joined, already
    published: the real ``rules.already`` reason)."""

    def __init__(
        self,
        swarm: Swarm,
        pid: ID,
        rules: MessageRules[M],
        boards: Mapping[ID, FakeSignedBoard[M]],
    ) -> None:
        self.swarm = swarm
        self.pid = pid
        self.rules = rules
        self.boards = boards
        self.chain_id = swarm.chain_id
        self.avs = swarm.avs
        self.published: list[M] = []
        self.published_at: list[int] = []  # the block of each publication
        self.left: list[int] = []
        self._joined: set[int] = set()
        self._slots: dict[Slot, dict[str, M]] = {}
        self._changed = trio.Event()

    def _slot(self, msg: M) -> Slot:
        return (self.rules.kind(msg), msg.epoch)

    async def join(self, epoch: int, nursery: object) -> None:
        await trio.lowlevel.checkpoint()
        self._joined.add(epoch)

    async def leave(self, epoch: int) -> None:
        if epoch not in self._joined:
            return
        self._joined.discard(epoch)  # before the first checkpoint, as the real board
        self.left.append(epoch)
        for key in [k for k in self._slots if k[1] == epoch]:
            del self._slots[key]
        await trio.lowlevel.checkpoint()

    def joined_epochs(self) -> list[int]:
        return sorted(self._joined)

    def deliver(self, msg: M) -> None:
        """A message gossiped by a peer."""
        self.admit(msg)

    def admit(self, msg: M) -> None:
        """A message handed over outside gossip (attestation sync), or gossiped."""
        if msg.epoch not in self._joined:
            return
        slot = self._slots.setdefault(self._slot(msg), {})
        if msg.operator in slot:
            return
        slot[msg.operator] = msg
        self._changed.set()
        self._changed = trio.Event()

    async def publish(self, msg: M) -> None:
        await trio.lowlevel.checkpoint()
        if msg.epoch not in self._joined:
            raise AnnouncementError("not-joined", f"epoch {msg.epoch}")
        if msg.operator in self._slots.get(self._slot(msg), {}):
            raise AnnouncementError(self.rules.already, f"{msg.operator} epoch {msg.epoch}")
        self.published.append(msg)
        self.published_at.append(block_now())
        for pid, board in self.boards.items():
            if pid in self.swarm.online:
                board.deliver(msg)

    def messages(self, kind: TopicKind, epoch: int) -> dict[str, M]:
        return dict(self._slots.get((kind, epoch), {}))

    async def wait_until(
        self, kind: TopicKind, epoch: int, done: Callable[[KeysView[str]], bool]
    ) -> dict[str, M]:
        while not done(self._slots.get((kind, epoch), {}).keys()):
            await self._changed.wait()
        return self.messages(kind, epoch)

    async def watch(self, kind: TopicKind, epoch: int) -> AsyncIterator[M]:
        seen: set[str] = set()
        while True:
            changed = self._changed
            for op, msg in list(self._slots.get((kind, epoch), {}).items()):
                if op not in seen:
                    seen.add(op)
                    yield msg
            await changed.wait()


class FakeBoard(FakeSignedBoard[Announcement]):
    """The announcement board's stand-in (its reading methods as the real board's)."""

    def get(self, kind: Kind, epoch: int) -> dict[str, Announcement]:
        return self.messages(kind, epoch)

    async def wait_for(self, kind: Kind, epoch: int, count: int) -> dict[str, Announcement]:
        return await self.wait_until(kind, epoch, lambda operators: len(operators) >= count)


class FakeAttestationBoard(FakeSignedBoard[Attestation]):
    """The attestation board's stand-in (its reading methods as the real board's)."""

    def get(self, epoch: int) -> dict[str, Attestation]:
        return self.messages(AVAILABILITY, epoch)

    async def wait_for(self, epoch: int, operators: frozenset[str]) -> dict[str, Attestation]:
        return await self.wait_until(AVAILABILITY, epoch, operators.issubset)


class FakeAttestationSync:
    """Asking peers for an epoch's attestations: the online peers' boards hand what they
    hold to this one (the real sync admits the same through the board's checks)."""

    def __init__(self, swarm: Swarm, pid: ID) -> None:
        self.swarm = swarm
        self.pid = pid
        self.asked: list[int] = []  # the epochs asked for
        self.stats: Counter[str] = Counter()

    async def sync(
        self, epoch: int, peers: Sequence[ID], *, enough: Callable[[], bool], ask: int = 3
    ) -> int:
        await trio.lowlevel.checkpoint()
        self.asked.append(epoch)
        mine = self.swarm.attestation_boards[self.pid]
        before = len(mine.get(epoch))
        for peer in [p for p in peers if p != self.pid][:ask]:
            if enough():
                break
            if peer in self.swarm.online:
                for att in self.swarm.attestation_boards[peer].get(epoch).values():
                    mine.admit(att)
        return len(mine.get(epoch)) - before


class FakeBlobService:
    """Fetches from the stores of the providers that are up (no digest check: the
    stores hold only what their nodes put there). ``fail_announced``: the next fetches
    of an announced blob (``Peer.fetch``, which passes the announced size) raise
    OSError, a fault the fetch path does not wrap."""

    def __init__(self, swarm: Swarm, pid: ID, store: BlobStore) -> None:
        self.swarm = swarm
        self.pid = pid
        self.store = store
        self.fetched: list[bytes] = []
        self.fail_announced = 0
        self.held: set[bytes] = set()  # as BlobService.held: refused to others

    async def fetch(
        self, digest: bytes, providers: list[ID], *, size: int | None = None, rounds: int = 3
    ) -> bytes:
        await trio.lowlevel.checkpoint()
        have = self.store.get(digest)
        if have is not None:
            return have
        if size is not None and self.fail_announced > 0:
            self.fail_announced -= 1
            raise OSError("fetch: connection reset by peer")
        for p in providers:
            if p == self.pid or p not in self.swarm.online or p not in self.swarm.stores:
                continue
            if digest in self.swarm.held.get(p, set()):
                self.swarm.held_requests.append((p, digest))
                continue
            data = self.swarm.stores[p].get(digest)
            if data is not None:
                self.store.put(digest, data)
                self.fetched.append(digest)
                return data
        raise BlobUnavailableError(f"blob {digest.hex()} unavailable: no provider has it")


# ---------------------------------------------------------------------------- training


def fake_update(base: GlobalModel, operator: str, epoch: int, salt: int = 0) -> Update:
    """A small deterministic update of ``operator`` for ``epoch``."""
    rng = np.random.default_rng([int(operator, 16) % (1 << 32), epoch, salt])
    return Update(base.spec, rng.integers(-256, 256, base.spec.dim, dtype=np.int32))


class FakeTrainer(Trainer):
    """Deterministic small updates, no data set (``Trainer.__init__`` loads MNIST)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []  # (operator, epoch) of every update trained

    def update(self, base: GlobalModel, operator: str, epoch: int, n: int, f: int) -> Update:
        self.calls.append((operator, epoch))
        return fake_update(base, operator, epoch)

    def accuracy(self, model: GlobalModel) -> float:
        return 0.5
