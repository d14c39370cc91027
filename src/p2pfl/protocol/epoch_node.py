"""The epoch node: DESIGN.md's epoch as a loop over chain snapshots, handing each phase
to its role.

Every ``poll`` the node reads the epoch from the chain (the authority on what happened)
and does what its roles ask at that point:

- **operator** (:mod:`~p2pfl.protocol.operator`): train, commit, and once the commit
  phase has closed (its deadline passed, or every roster member committed) announce
  and serve;
- **aggregator** (:mod:`~p2pfl.protocol.aggregator`): when drawn from the seed
  (``blockhash(closeBlock)``, :mod:`~p2pfl.protocol.election`), aggregate, prove and
  submit;
- **watcher** (:mod:`~p2pfl.protocol.watcher`): check a posted result;
- **challenger** (:mod:`~p2pfl.protocol.challenger`): challenge what is wrong in it, in
  transactions under 128 KB, and prove updates above the norm bound;
- **chores** (open the next epoch, skip, report a silent aggregator, finalize): anyone
  may do them; the designated operator at once, the others after a grace period
  (:mod:`~p2pfl.protocol.duties`).

A fault (a refused transaction, an RPC endpoint down, a peer that does not answer) is
reported and the step retried at the next poll, with back-off while faults repeat; it
never stops the node. What only the node knows is written to its data directory before
it acts on it (:mod:`~p2pfl.protocol.state`); an epoch's in-memory state is dropped once
the epoch is final (:mod:`~p2pfl.protocol.epochbook`).
"""

from __future__ import annotations

import trio
from eth_account.signers.local import LocalAccount
from requests.exceptions import RequestException

from p2pfl import memory
from p2pfl.chain.epochs import NO_AGGREGATOR, EpochInfo, Status
from p2pfl.events import (
    ChainUnreachable,
    Done,
    ElectionMismatch,
    Emit,
    EpochJoined,
    Fault,
    Finalized,
    Opened,
    Skipped,
    TimeoutReported,
)
from p2pfl.net.peer import Peer
from p2pfl.protocol import attestfile
from p2pfl.protocol.aggregator import AggregatorRole
from p2pfl.protocol.availability import AvailabilityRole, attest_once
from p2pfl.protocol.blobs import Blobs
from p2pfl.protocol.chainview import ChainView, Snapshot
from p2pfl.protocol.challenger import ChallengerRole
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.duties import Duties
from p2pfl.protocol.election import candidates, elect
from p2pfl.protocol.epochbook import EpochBook, EpochState
from p2pfl.protocol.faults import TRANSIENT, backoff, describe
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.operator import OperatorRole, prefetch
from p2pfl.protocol.options import NodeOptions, Tamper
from p2pfl.protocol.state import StateFile
from p2pfl.protocol.trainer import Trainer
from p2pfl.protocol.watcher import WatcherRole

MIN_PARTICIPANTS = 3  # EpochManager.MIN_PARTICIPANTS


def phase_of(snap: Snapshot, roster_size: int = 0) -> str:
    """Where the chain's latest epoch is: ``idle`` (none open), ``commit`` (updates are
    committed), ``aggregate`` (the commit phase closed: the aggregator's turn),
    ``challenge`` (a result is posted, its challenge window open), ``finalize`` (the
    window closed, not yet finalized). ``roster_size``: the epoch's, when known (0: not)."""
    info = snap.info
    if info is None or info.status in (Status.NONE, Status.FINALIZED):
        return "idle"
    if info.status == Status.OPEN:
        closed = info.commit_closed(snap.block, len(snap.committed), roster_size)
        return "aggregate" if closed else "commit"
    return "challenge" if snap.block <= info.challenge_deadline else "finalize"


class EpochNode:
    def __init__(
        self,
        view: ChainView,
        account: LocalAccount,
        peer: Peer,
        trainer: Trainer | None,
        opts: NodeOptions,
        emit: Emit,
        tamper: Tamper | None = None,
        *,
        state: StateFile | None = None,
        genesis: GlobalModel | None = None,
    ) -> None:
        """``state`` and ``genesis``, when the caller has them already, are not read or
        built a second time."""
        genesis = genesis or GlobalModel.genesis(opts.model_seed)
        self.ctx = ctx = NodeContext(
            view=view,
            account=account,
            peer=peer,
            blobs=Blobs(peer, view, genesis, opts.fetch_timeout_s),
            book=EpochBook(),
            state=state or StateFile(opts.data_dir, account.address, view.epochs.address),
            opts=opts,
            emit=emit,
        )
        self.duties = Duties(ctx.me, opts.grace_s)
        withhold = tamper is not None and tamper.withhold
        self.operator = (
            OperatorRole(ctx, trainer, withhold) if trainer and opts.participate else None
        )
        self.availability = AvailabilityRole(ctx)
        self.aggregator = AggregatorRole(ctx, self.availability, trainer, tamper)
        self.watcher = WatcherRole(ctx)
        self.challenger = ChallengerRole(ctx, self.duties)
        self._nursery: trio.Nursery | None = None
        self.phase = "starting"  # of the latest snapshot (see phase_of), for the metrics
        self._floor = 0  # every epoch before this one has been dropped

    @property
    def book(self) -> EpochBook:
        return self.ctx.book

    def is_member(self, operator: str, epoch: int) -> bool:
        return self.ctx.book.is_member(operator, epoch)

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        """Follow the epochs until cancelled, or until ``stop_after`` is finalized."""
        ctx = self.ctx
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            failures = 0
            while True:
                try:
                    snap = await ctx.call(ctx.view.snapshot)
                    if await self._step(snap):
                        break
                    failures = 0
                except* RequestException as group:  # the endpoint is down or slow
                    failures += 1
                    wait = backoff(failures, cap=ctx.opts.max_backoff_s)
                    ctx.emit(ChainUnreachable(error=describe(group.exceptions[0]), retry_s=wait))
                    await trio.sleep(wait)
                except* TRANSIENT as group:
                    failures += 1
                    wait = backoff(failures, cap=ctx.opts.max_backoff_s)
                    for exc in group.exceptions:
                        ctx.emit(Fault(task="epoch", error=describe(exc), retry_s=wait))
                    await trio.sleep(wait)
                await trio.sleep(ctx.opts.poll_s)
            nursery.cancel_scope.cancel()

    async def _step(self, snap: Snapshot) -> bool:
        e, info = snap.epoch, snap.info
        self.phase = phase_of(snap)
        if info is None or info.status == Status.FINALIZED:
            self._drop_before(e + 1)
            if e and self._stopping_after(e):
                self.ctx.emit(Done(epoch=e))
                return True
            await self._open_next(e, info)
            return False
        st = await self._join(e)
        self.phase = phase_of(snap, len(st.members))
        if self._closed(st, snap, info):
            if st.committed is None:  # final once the phase has closed
                st.committed = list(snap.committed)
            if st.seed is None:
                st.seed = await self.ctx.call(lambda: self.ctx.view.seed(info))
        self._check_election(st, info)
        if info.status == Status.OPEN:
            await self._open_phase(st, snap, info)
        elif info.status == Status.SUBMITTED:
            await self._submitted_phase(st, snap, info)
        return False

    # ------------------------------------------------------------------ epochs
    async def _join(self, e: int) -> EpochState:
        ctx = self.ctx
        if e in ctx.book:
            return ctx.book.get(e)
        ops, stakes = await ctx.call(lambda: ctx.view.roster(e))
        await ctx.peer.join(e)
        st = ctx.book.open(e, frozenset(ops))
        assert self._nursery is not None
        self._nursery.start_soon(prefetch, ctx, st)
        self._drop_before(e)
        stake = stakes[ops.index(ctx.me)] if ctx.me in ops else 0
        ctx.emit(EpochJoined(epoch=e, members=len(st.members), stake=int(stake)))
        return st

    def _drop_before(self, e: int) -> None:
        """Everything the node holds about epochs before ``e`` goes, in one place: their
        state and prefetch tasks, gossip topics before ``e - 1``, cached rosters, chore
        timers, progress records, and blobs past retention."""
        if e <= self._floor:
            return
        self._floor = e
        ctx = self.ctx
        ctx.book.drop_before(e)
        for old in ctx.peer.board.joined_epochs():
            if old < e - 1:
                self._nursery_leave(old)
        ctx.view.forget_before(e)
        self.duties.forget_before(e)
        attestfile.prune(ctx.opts.data_dir, e)
        if ctx.state.forget_before(e - 1):
            ctx.state.save()
        mine = ctx.state.of(e).update_digest if e in ctx.state.state.epochs else None
        ctx.blobs.prune(bytes.fromhex(mine) if mine else None, ctx.opts.blob_retention_s)
        memory.release()

    def _nursery_leave(self, epoch: int) -> None:
        assert self._nursery is not None
        self._nursery.start_soon(self.ctx.peer.leave, epoch)

    @staticmethod
    def _closed(st: EpochState, snap: Snapshot, info: EpochInfo) -> bool:
        """The commit phase is over: past the close block, or every member committed."""
        return info.commit_closed(snap.block, len(snap.committed), len(st.members))

    def _aggregator_at(self, st: EpochState, attempt: int) -> str | None:
        """The aggregator of the epoch at rotation ``attempt``, drawn by this node by stake
        from the seed among the roster members that committed; None before the commit
        phase has closed (nobody can know it then) or when nobody committed."""
        if st.seed is None or st.committed is None:
            return None
        if attempt not in st.elected:
            ops, stakes = candidates(*self.ctx.view.roster(st.epoch), st.committed)
            st.elected[attempt] = elect(st.seed, ops, stakes, attempt) if ops else None
        return st.elected[attempt]

    def _check_election(self, st: EpochState, info: EpochInfo) -> None:
        """Report a chain whose aggregator is not the one this node computes (once the
        chain has drawn one: it does when the seed is recorded)."""
        if info.attempt in st.election_checked or info.aggregator == NO_AGGREGATOR:
            return
        computed = self._aggregator_at(st, info.attempt)
        if computed is None:
            return
        st.election_checked.add(info.attempt)
        if computed != info.aggregator:
            self.ctx.emit(
                ElectionMismatch(epoch=st.epoch, computed=computed, chain=info.aggregator)
            )

    # ------------------------------------------------------------------ phases
    async def _open_phase(self, st: EpochState, snap: Snapshot, info: EpochInfo) -> None:
        ctx, e = self.ctx, st.epoch
        closed = self._closed(st, snap, info)
        if self.operator is not None and ctx.me in st.members:
            if ctx.me not in snap.committed and not closed and snap.block < info.close_block:
                await self.operator.before_commit_deadline(st, info)
            elif ctx.me in snap.committed and closed:
                await self.operator.reveal(st)  # commit-reveal: not before the phase closed
        if not closed:
            return
        if ctx.me in snap.committed and not st.attest_started:
            st.attest_started = True  # fetch, check and attest in the background
            assert self._nursery is not None
            self._nursery.start_soon(attest_once, self.availability, st, list(snap.committed))
        if len(snap.committed) < MIN_PARTICIPANTS:
            if self.duties.ready("skip", e, 0, self._aggregator_at(st, 0)):
                await ctx.tx("finalize", lambda: ctx.em.finalize(ctx.account, e))
                ctx.emit(Skipped(epoch=e, committed=len(snap.committed)))
            return
        drawn = self._aggregator_at(st, info.attempt)
        if drawn != ctx.me and ctx.opts.challenge:  # norm proofs start at the close
            await self.watcher.scan_norms(st, snap.committed)
            await self.challenger.prove_norms(st)
        if drawn == ctx.me and info.attempt not in ctx.state.of(e).submitted_attempts:
            if snap.block <= info.submit_deadline:  # (submits from the block after the close)
                await self.aggregator.aggregate(st, info, snap)
            return
        if snap.block > info.submit_deadline:
            nxt = self._aggregator_at(st, info.attempt + 1)
            if self.duties.ready("timeout", e, info.attempt, nxt):
                await ctx.tx("timeout", lambda: ctx.em.report_timeout(ctx.account, e))
                ctx.emit(TimeoutReported(epoch=e, aggregator=drawn or NO_AGGREGATOR))

    async def _submitted_phase(self, st: EpochState, snap: Snapshot, info: EpochInfo) -> None:
        ctx, e = self.ctx, st.epoch
        in_window = snap.block <= info.challenge_deadline
        if in_window:
            verdict = await self.watcher.check(st, info)
        else:  # past the window only running sketch challenges are still proven
            verdict = st.verdicts.get(info.attempt)
        await self.challenger.act(st, info, snap.block, verdict)
        if not in_window and self.duties.ready("finalize", e, info.attempt, info.aggregator):
            if not await self.challenger.ready_to_finalize(e, snap.block):
                return  # a sketch challenge still runs: the result cannot finalize yet
            await ctx.tx("finalize", lambda: ctx.em.finalize(ctx.account, e))
            after = await ctx.call(lambda: ctx.em.epoch(e))
            ctx.emit(
                Finalized(epoch=e, model="0x" + after.model_digest.hex(), flag_mask=after.flag_mask)
            )
            if after.status == Status.FINALIZED and not self._stopping_after(e):
                await self._open_next(e, after)  # the finalizer opens next: no poll between

    def _stopping_after(self, e: int) -> bool:
        return self.ctx.opts.stop_after is not None and e >= self.ctx.opts.stop_after

    # ------------------------------------------------------------------ chores
    async def _open_next(self, e: int, info: EpochInfo | None) -> None:
        ctx = self.ctx
        designated: str | None
        if info is None:
            if not ctx.opts.open_first:
                return
            ops, _ = await ctx.call(ctx.view.operators)
            if not ops:
                return
            designated = min(ops, key=lambda a: int(a, 16))
        else:  # the last aggregator; none was drawn if the epoch was skipped before
            designated = info.aggregator if info.aggregator != NO_AGGREGATOR else None
        if self.duties.ready("open", e + 1, 0, designated):
            epoch, _ = await ctx.tx("open", lambda: ctx.em.open_epoch(ctx.account))
            ctx.emit(Opened(epoch=epoch))
