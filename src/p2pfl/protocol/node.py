"""The operator node: DESIGN.md's epoch as a loop over chain snapshots and gossip.

Every ``poll`` the node reads the epoch from the chain (the authority on what happened)
and does what its role asks at that point of the epoch:

- **open / finalize / timeout**: chores anyone may do; the designated operator does them
  at once, the others after a grace period (:mod:`p2pfl.protocol.duties`).
- **operator**: before the commit deadline, train on the local shard from the epoch's
  base model, store the update, commit its digest on chain, announce it on gossip and
  serve it over ``/p2pfl/blob/1``. Every node also fetches every announced update of
  the epoch, so an update stays available when its owner goes down.
- **aggregator** (elected on chain, possibly after rotation): after the commit deadline,
  fetch every committed update, sketch with the seed, run Krum / Multi-Krum, build the
  new model, prove with the Noir circuit, gossip the model and submit the result.
- **watcher**: recompute every posted result from the update bytes, challenge a wrong
  sketch on chain, and rebuild the new model (which is then served to the others).

What the node built and did is written to its data directory before it acts on it
(:mod:`p2pfl.protocol.state`), so a restarted node neither trains a second update nor
commits twice; the chain says what is already done.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import trio
from eth_account.signers.local import LocalAccount
from libp2p.peer.id import ID
from requests.exceptions import RequestException

from p2pfl.chain.client import ChainError
from p2pfl.chain.epochs import EpochInfo, Status
from p2pfl.errors import P2pflError
from p2pfl.learn.codec import Update
from p2pfl.net.errors import NetError
from p2pfl.net.peer import Peer
from p2pfl.net.topics import Kind
from p2pfl.protocol.aggregate import Aggregation, aggregate
from p2pfl.protocol.chainview import ChainView, PostedResult, Snapshot
from p2pfl.protocol.duties import Duties
from p2pfl.protocol.election import elect
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.state import StateFile
from p2pfl.protocol.trainer import Trainer
from p2pfl.protocol.watcher import Verdict, check_result
from p2pfl.robust.sketch_krum import sketch_krum
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import prove

log = logging.getLogger(__name__)

MIN_PARTICIPANTS = 3  # EpochManager.MIN_PARTICIPANTS
MODEL_CACHE = 4
Emit = Callable[[dict[str, Any]], None]
T = TypeVar("T")


@dataclass(frozen=True)
class NodeOptions:
    data_dir: Path
    model_seed: int = 0  # the genesis model's seed: must give the deployed genesis digest
    poll_s: float = 0.5
    grace_s: float = 3.0  # others do a designated operator's chore after this long
    participate: bool = True  # train and commit (an operator); False: a pure watcher
    challenge: bool = True  # challenge wrong results
    challenge_first: bool = False  # challenge at once (a dedicated watcher) or after grace
    stop_after: int | None = None  # stop once this epoch is finalized
    open_first: bool = True  # may open the very first epoch (a testnet opens it itself)
    fetch_timeout_s: float = 30.0
    prove_timeout_s: float = 300.0
    cheat_epochs: frozenset[int] = frozenset()  # testnet only: post a wrong sketch
    blob_retention_s: float = 900.0  # older updates and models leave memory and disk


class EpochNode:
    def __init__(
        self,
        view: ChainView,
        account: LocalAccount,
        peer: Peer,
        trainer: Trainer | None,
        opts: NodeOptions,
        emit: Emit,
    ) -> None:
        self.view = view
        self.em = view.epochs
        self.account = account
        self.me = account.address
        self.peer = peer
        self.trainer = trainer
        self.opts = opts
        self.emit = emit
        self.genesis = GlobalModel.genesis(opts.model_seed)
        self.spec = self.genesis.spec
        self.models: dict[bytes, GlobalModel] = {self.genesis.digest: self.genesis}
        self.state = StateFile(opts.data_dir, self.me, self.em.address)
        self.duties = Duties(self.me, opts.grace_s)
        self.members: dict[int, set[str]] = {}
        self.announced: set[tuple[str, int]] = set()
        self.verdicts: dict[tuple[int, int], Verdict] = {}
        self.elected: dict[tuple[int, int], str] = {}
        self.evidence: dict[tuple[int, int], tuple[PostedResult, dict[str, Update]]] = {}
        self.joined: dict[int, trio.CancelScope] = {}  # per epoch: its prefetch task
        self._nursery: trio.Nursery | None = None

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        """Follow the epochs until cancelled, or until ``stop_after`` is finalized."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            failures = 0
            while True:
                try:
                    snap = await self._chain(self.view.snapshot)
                    if await self._step(snap):
                        break
                    failures = 0
                except (ChainError, NetError, P2pflError) as exc:
                    self.emit({"event": "error", "error": str(exc)})
                except RequestException as exc:
                    failures += 1
                    self.emit({"event": "chain-unreachable", "error": type(exc).__name__})
                    await trio.sleep(min(10.0, 0.5 * 2**failures))
                await trio.sleep(self.opts.poll_s)
            nursery.cancel_scope.cancel()

    def is_member(self, operator: str, epoch: int) -> bool:
        """Gossip's operator check: in the epoch's roster (or, for an epoch this node has
        not seen open yet, in any roster it knows)."""
        if epoch in self.members:
            return operator in self.members[epoch]
        return any(operator in m for m in self.members.values())

    async def _step(self, snap: Snapshot) -> bool:
        e, info = snap.epoch, snap.info
        if info is None or info.status == Status.FINALIZED:
            if e and self.opts.stop_after is not None and e >= self.opts.stop_after:
                self.emit({"event": "done", "epoch": e})
                return True
            await self._open_next(e, info)
            return False
        await self._join(e)
        self._check_election(e, info)
        if info.status == Status.OPEN:
            await self._open_phase(snap, info)
        elif info.status == Status.SUBMITTED:
            await self._submitted_phase(snap, info)
        return False

    def _aggregator_at(self, e: int, info: EpochInfo, attempt: int) -> str:
        """The aggregator of ``e`` at rotation ``attempt``, computed by this node (stake-
        weighted, from the open block's randomness; the roster is cached by ``_join``)."""
        key = (e, attempt)
        if key not in self.elected:
            ops, stakes = self.view.roster(e)
            self.elected[key] = elect(info.randomness, e, ops, stakes, attempt)
        return self.elected[key]

    def _check_election(self, e: int, info: EpochInfo) -> None:
        """Report a chain whose aggregator is not the one this node computes."""
        if (e, info.attempt) in self.elected:
            return
        computed = self._aggregator_at(e, info, info.attempt)
        if computed != info.aggregator:
            self.emit(
                {
                    "event": "election-mismatch",
                    "epoch": e,
                    "computed": computed,
                    "chain": info.aggregator,
                }
            )

    async def _open_next(self, e: int, info: EpochInfo | None) -> None:
        if info is None:
            if not self.opts.open_first:
                return
            ops, _ = await self._chain(self.view.operators)
            if not ops:
                return
            designated = min(ops, key=lambda a: int(a, 16))
        else:
            designated = info.aggregator
        if self.duties.ready("open", e + 1, 0, designated):
            epoch, _ = await self._tx("open", lambda: self.em.open_epoch(self.account))
            self.emit({"event": "opened", "epoch": epoch})

    async def _open_phase(self, snap: Snapshot, info: EpochInfo) -> None:
        e = snap.epoch
        if self.opts.participate and self.me in self.members.get(e, set()):
            if self.me not in snap.committed and snap.block < info.commit_deadline:
                await self._participate(e, info)
            elif self.me in snap.committed:
                await self._announce_update(e)
        if snap.block <= info.commit_deadline:
            return
        if len(snap.committed) < MIN_PARTICIPANTS:
            if self.duties.ready("skip", e, 0, info.aggregator):
                await self._tx("finalize", lambda: self.em.finalize(self.account, e))
                self.emit({"event": "skipped", "epoch": e, "committed": len(snap.committed)})
            return
        mine = info.aggregator == self.me
        prog = self.state.of(e)
        if mine and info.attempt not in prog.submitted_attempts:
            if snap.block <= info.submit_deadline:
                await self._aggregate(e, info, snap)
            return
        if snap.block > info.submit_deadline:
            nxt = self._aggregator_at(e, info, info.attempt + 1)
            if self.duties.ready("timeout", e, info.attempt, nxt):
                await self._tx("timeout", lambda: self.em.report_timeout(self.account, e))
                self.emit({"event": "timeout-reported", "epoch": e, "aggregator": info.aggregator})

    async def _submitted_phase(self, snap: Snapshot, info: EpochInfo) -> None:
        e = snap.epoch
        key = (e, info.attempt)
        if key not in self.verdicts and snap.block <= info.challenge_deadline:
            await self._check(e, info)
        verdict = self.verdicts.get(key)
        if (
            verdict is not None
            and verdict.wrong_rows
            and self.opts.challenge
            and snap.block <= info.challenge_deadline
            and info.aggregator != self.me
            and self.duties.ready(
                "challenge", e, info.attempt, self.me if self.opts.challenge_first else None
            )
        ):
            await self._challenge(e, info, verdict)
        if snap.block > info.challenge_deadline and self.duties.ready(
            "finalize", e, info.attempt, info.aggregator
        ):
            await self._tx("finalize", lambda: self.em.finalize(self.account, e))
            after = await self._chain(lambda: self.em.epoch(e))
            self.emit(
                {
                    "event": "finalized",
                    "epoch": e,
                    "model": "0x" + after.model_digest.hex(),
                    "flag_mask": after.flag_mask,
                }
            )

    # ------------------------------------------------------------------ epochs and gossip
    async def _join(self, e: int) -> None:
        if e not in self.members:
            ops, _ = await self._chain(lambda: self.view.roster(e))
            self.members[e] = set(ops)
        if e in self.joined:
            return
        await self.peer.join(e)
        scope = self.joined[e] = trio.CancelScope()
        assert self._nursery is not None
        self._nursery.start_soon(self._prefetch, e, scope)
        for old in [x for x in self.joined if x < e - 1]:
            self.joined.pop(old).cancel()
            await self.peer.board.leave(old)
        self._prune(e)
        self.emit({"event": "epoch", "epoch": e, "members": len(self.members[e])})

    async def _prefetch(self, e: int, scope: trio.CancelScope) -> None:
        """Fetch every update announced for ``e``: each node then serves it too, so the
        aggregator (or its successor) finds it even if its owner is gone."""
        with scope:
            async with trio.open_nursery() as nursery:
                async for ann in self.peer.board.watch("updates", e):
                    if ann.operator != self.me:
                        nursery.start_soon(self._prefetch_one, ann)

    async def _prefetch_one(self, ann: Any) -> None:
        try:
            await self.peer.fetch(ann)
        except NetError as exc:
            log.info("prefetch of %s failed: %s", ann.digest, exc)

    async def _announce(self, kind: Kind, e: int, digest: bytes, size: int) -> None:
        await self.peer.board.publish(self.peer.sign(self.account.key, kind, e, digest, size))
        self.announced.add((kind, e))

    async def _announce_update(self, e: int) -> None:
        digest = self.state.of(e).update_digest
        if ("updates", e) in self.announced or digest is None:
            return
        data = self.peer.blobs.store.get(bytes.fromhex(digest))
        if data is not None:
            await self._announce("updates", e, bytes.fromhex(digest), len(data))

    # ------------------------------------------------------------------ operator
    async def _participate(self, e: int, info: EpochInfo) -> None:
        prog = self.state.of(e)
        store = self.peer.blobs.store
        if prog.update_digest is None or bytes.fromhex(prog.update_digest) not in store:
            assert self.trainer is not None
            trainer = self.trainer
            base = await self._model(info.base_model, e)
            n = len(self.members[e])
            f = await self._chain(lambda: self.em.byzantine_bound(n))
            started = time.perf_counter()
            update = await trio.to_thread.run_sync(lambda: trainer.update(base, self.me, e, n, f))
            store.put(update.digest, update.to_safetensors())
            prog.update_digest = update.digest.hex()
            self.state.save()  # before the commit: a restart re-sends this very digest
            self.emit(
                {
                    "event": "trained",
                    "epoch": e,
                    "seconds": round(time.perf_counter() - started, 3),
                    "digest": "0x" + update.digest.hex(),
                }
            )
        digest = bytes.fromhex(prog.update_digest)
        started = time.perf_counter()
        try:
            receipt = await self._tx(
                "commit", lambda: self.em.commit_update(self.account, e, digest)
            )
        except ChainError as exc:
            self.emit({"event": "commit-failed", "epoch": e, "error": str(exc)})
            return
        self.emit(
            {
                "event": "committed",
                "epoch": e,
                "seconds": round(time.perf_counter() - started, 3),
                "gas": int(receipt["gasUsed"]),
            }
        )
        await self._announce_update(e)

    # ------------------------------------------------------------------ aggregator
    async def _aggregate(self, e: int, info: EpochInfo, snap: Snapshot) -> None:
        prog = self.state.of(e)
        k = self.view.params.sketch_dim
        t0 = time.perf_counter()
        updates = await self._updates(e, snap.committed)
        t_fetch = time.perf_counter()
        seed = await self._chain(lambda: self.view.seed(info))
        n = len(updates)
        f = await self._chain(lambda: self.em.byzantine_bound(n))
        agg = await trio.to_thread.run_sync(lambda: aggregate(updates, seed, f, k))
        cheat = e in self.opts.cheat_epochs and info.attempt == 0
        if cheat:
            agg = _frame_an_honest_operator(agg, f, self.me)
        base = await self._model(info.base_model, e)
        model = base.step(agg.mean_update(updates))
        size = self._keep(model)
        t_agg = time.perf_counter()
        inputs = krum_inputs(e, seed, f, agg.sketches, agg.krum.selected, agg.krum.flagged)
        proof = await trio.to_thread.run_sync(
            lambda: prove(n, k, inputs, timeout=self.opts.prove_timeout_s)
        )
        t_prove = time.perf_counter()
        await self._announce("model", e, model.digest, size)
        receipt = await self._tx(
            "submit",
            lambda: self.em.submit_result(
                self.account,
                e,
                model.digest,
                agg.operators,
                agg.sketches,
                agg.selected_mask,
                agg.flag_mask,
                proof.proof,
            ),
        )
        t_submit = time.perf_counter()
        prog.submitted_attempts.append(info.attempt)
        self.state.save()
        trainer = self.trainer
        accuracy = (
            await trio.to_thread.run_sync(lambda: trainer.accuracy(model)) if trainer else None
        )
        self.emit(
            {
                "event": "submitted",
                "epoch": e,
                "attempt": info.attempt,
                "cheated": cheat,
                "n": n,
                "f": f,
                "operators": agg.operators,
                "selected": agg.krum.selected,
                "flagged": agg.flagged_operators,
                "scores": [int(s) for s in agg.krum.scores],
                "suspicious": agg.krum.suspicious,
                "model": "0x" + model.digest.hex(),
                "accuracy": accuracy,
                "gas": int(receipt["gasUsed"]),
                "fetch_s": round(t_fetch - t0, 3),
                "aggregate_s": round(t_agg - t_fetch, 3),
                "prove_s": round(t_prove - t_agg, 3),
                "submit_s": round(t_submit - t_prove, 3),
            }
        )

    async def _updates(self, e: int, operators: list[str]) -> dict[str, Update]:
        """The committed update of every operator in ``operators``, from the store or the
        network (its owner's registered peer and every connected peer), digest-checked."""
        out: dict[str, Update] = {}
        failed: dict[str, str] = {}

        async def one(op: str) -> None:
            digest = await self._chain(lambda: self.em.commitment(e, op))
            try:
                data = await self.peer.blobs.fetch(digest, await self._providers(op))
                out[op] = Update.from_safetensors(data, self.spec)
            except (NetError, P2pflError) as exc:
                failed[op] = str(exc)

        with trio.move_on_after(self.opts.fetch_timeout_s):
            async with trio.open_nursery() as nursery:
                for op in operators:
                    nursery.start_soon(one, op)
        missing = [op for op in operators if op not in out]
        if missing:
            why = "; ".join(f"{op}: {failed.get(op, 'timed out')}" for op in missing)
            raise NetError(f"epoch {e}: updates unavailable: {why}")
        return out

    async def _providers(self, owner: str | None) -> list[ID]:
        peers = list(self.peer.net.connected_peers())
        if owner is not None:
            raw = await self._chain(lambda: self.view.peer_id(owner))
            if raw:
                try:
                    pid = ID(raw)
                except Exception:
                    pid = None
                if pid is not None and pid not in peers:
                    peers.append(pid)
        return peers

    async def _model(self, digest: bytes, e: int) -> GlobalModel:
        """The model with ``digest``: cached, stored, or fetched from the network."""
        if digest in self.models:
            return self.models[digest]
        data = self.peer.blobs.store.get(digest)
        if data is None:
            providers = await self._providers(None)
            for x in range(e - 1, 0, -1):
                for ann in self.peer.board.get("model", x).values():
                    if ann.digest_bytes == digest:
                        providers.append(ID.from_base58(ann.peer))
            data = await self.peer.blobs.fetch(digest, providers)
        model = GlobalModel.from_safetensors(data, self.spec)
        self._keep(model)
        return model

    # ------------------------------------------------------------------ watcher
    async def _check(self, e: int, info: EpochInfo) -> None:
        posted = await self._chain(lambda: self.view.result(e, info.open_block))
        if posted is None:
            return
        if posted.aggregator == self.me:
            self.verdicts[(e, info.attempt)] = Verdict(
                [], self.models.get(posted.model_digest), True
            )
            return
        updates = await self._updates(e, posted.operators)
        base = await self._model(info.base_model, e)
        k = self.view.params.sketch_dim
        verdict = await trio.to_thread.run_sync(lambda: check_result(posted, updates, base, k))
        self.verdicts[(e, info.attempt)] = verdict
        self.evidence[(e, info.attempt)] = (posted, updates)
        if verdict.model is not None and verdict.model_matches:
            self._keep(verdict.model)
        self.emit(
            {
                "event": "checked",
                "epoch": e,
                "attempt": info.attempt,
                "aggregator": posted.aggregator,
                "wrong_rows": verdict.wrong_rows,
                "model_matches": verdict.model_matches,
            }
        )
        if not verdict.wrong_rows and not verdict.model_matches:
            # No on-chain challenge covers the model digest (see README, trust limits).
            self.emit({"event": "model-mismatch", "epoch": e, "aggregator": posted.aggregator})

    async def _challenge(self, e: int, info: EpochInfo, verdict: Verdict) -> None:
        posted, updates = self.evidence.pop((e, info.attempt))
        # One challenge per result: won, lost, or beaten to it by another watcher.
        self.verdicts[(e, info.attempt)] = Verdict([], None, False)
        row = verdict.wrong_rows[0]
        op = posted.operators[row]
        update_bytes = updates[op].canonical_bytes()
        try:
            upheld, receipt = await self._tx(
                "challenge",
                lambda: self.em.challenge_sketch(
                    self.account, e, row, update_bytes, posted.sketches[row]
                ),
            )
        except ChainError as exc:
            # Someone else's challenge voided it first, or the window closed.
            self.emit({"event": "challenge-failed", "epoch": e, "error": str(exc)})
            return
        self.emit(
            {
                "event": "challenged",
                "epoch": e,
                "attempt": info.attempt,
                "row": row,
                "operator": op,
                "aggregator": posted.aggregator,
                "upheld": upheld,
                "gas": int(receipt["gasUsed"]),
            }
        )

    def _prune(self, e: int) -> None:
        """Drop old blobs, keeping the models this node may still serve or need and its
        own update of the current epoch."""
        keep = set(self.models)
        mine = self.state.of(e).update_digest
        if mine:
            keep.add(bytes.fromhex(mine))
        removed = self.peer.blobs.store.prune(keep, self.opts.blob_retention_s)
        if removed:
            log.info("pruned %d old blobs", removed)

    def _keep(self, model: GlobalModel) -> int:
        """Serve ``model`` from the blob store and cache it in memory (the genesis and the
        last few; older ones stay on disk until pruned). Returns its size in bytes."""
        store = self.peer.blobs.store
        data = store.get(model.digest)
        if data is None:
            data = model.to_safetensors()
            store.put(model.digest, data)
        self.models[model.digest] = model
        while len(self.models) > MODEL_CACHE:
            oldest = next(d for d in self.models if d != self.genesis.digest)
            del self.models[oldest]
        return len(data)

    # ------------------------------------------------------------------ chain access
    async def _chain(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn)

    async def _tx(self, what: str, fn: Callable[[], T]) -> T:
        log.info("sending %s", what)
        return await self._chain(fn)


def _frame_an_honest_operator(agg: Aggregation, f: int, me: str) -> Aggregation:
    """Testnet only: the cheating aggregator's result. It posts a wrong sketch for the
    first operator it did not flag (itself excepted), pushed far from the others so that
    operator is flagged, and proves Krum honestly over the wrong sketches: the proof
    verifies, and only a watcher who recomputes the sketch from the update catches it."""
    victim = next(
        i for i in range(len(agg.operators)) if i not in agg.krum.flagged and agg.operators[i] != me
    )
    sketches = [list(row) for row in agg.sketches]
    sketches[victim] = [
        x + (1 << 30) * (1 if b % 2 else -1) for b, x in enumerate(sketches[victim])
    ]
    return Aggregation(agg.operators, sketches, sketch_krum(sketches, f))
