"""The watcher's part of an epoch (every node, and ``p2pfl challenge watch``): check a
posted result against the committed update bytes, note the updates above the norm bound,
and keep the rebuilt model (the node then serves it as the next epoch's base). What is
wrong is challenged on chain by :mod:`~p2pfl.protocol.challenger`."""

from __future__ import annotations

import logging
from dataclasses import replace

import trio

from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import Checked, KrumMismatch, NormViolation
from p2pfl.learn.codec import Update
from p2pfl.net import availability
from p2pfl.protocol import attestfile
from p2pfl.protocol.availability import held_attestations
from p2pfl.protocol.check import Verdict, check_result
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState, Evidence
from p2pfl.protocol.faults import TRANSIENT
from p2pfl.protocol.threads import blocking

log = logging.getLogger(__name__)

MIN_PARTICIPANTS = 3  # EpochManager.MIN_PARTICIPANTS
SCAN_S = 3.0  # how long a poll waits for the committed updates when scanning norms
SYNC_S = 5.0  # how long a result check asks peers for attestations it lacks


class WatcherRole:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    async def check(self, st: EpochState, info: EpochInfo) -> Verdict | None:
        """This node's verdict on the result posted at ``info.attempt`` (computed once)."""
        if info.attempt in st.verdicts:
            return st.verdicts[info.attempt]
        ctx, e = self.ctx, st.epoch
        posted = await ctx.call(lambda: ctx.view.result(e, info.open_block))
        if posted is None:
            return None
        if posted.aggregator == ctx.me:
            verdict = st.verdicts[info.attempt] = Verdict(
                [], ctx.blobs.models.get(posted.model_digest), True
            )
            return verdict
        excluded = await self.wrongly_excluded(st, posted.operators)
        if len(posted.operators) < MIN_PARTICIPANTS:  # an empty result: nothing to recompute
            verdict = Verdict([], None, posted.model_digest == info.base_model, True, excluded)
            st.verdicts[info.attempt] = verdict
            st.evidence[info.attempt] = Evidence(posted, {})
            self._report(e, info.attempt, posted.aggregator, verdict)
            return verdict
        updates = await ctx.blobs.updates(e, posted.operators)
        self.note_norms(st, updates)
        base = await ctx.blobs.model(info.base_model, e)
        k = ctx.view.params.sketch_dim
        n = len(posted.operators)
        f = await ctx.call(lambda: ctx.em.byzantine_bound(n))
        rho = ctx.view.params.rho
        verdict = await blocking(lambda: check_result(posted, updates, base, k, f, rho))
        verdict = replace(verdict, excluded=excluded)
        st.verdicts[info.attempt] = verdict
        st.evidence[info.attempt] = Evidence(posted, updates)
        if verdict.model is not None and verdict.model_matches:
            ctx.blobs.keep(verdict.model)
        self._report(e, info.attempt, posted.aggregator, verdict)
        if not verdict.krum_matches:
            # The proof verified, yet Krum on the posted sketches disagrees: a circuit bug.
            ctx.emit(KrumMismatch(epoch=e, aggregator=posted.aggregator))
        return verdict

    def _report(self, e: int, attempt: int, aggregator: str, verdict: Verdict) -> None:
        self.ctx.emit(
            Checked(
                epoch=e,
                attempt=attempt,
                aggregator=aggregator,
                wrong_rows=verdict.wrong_rows,
                model_matches=verdict.model_matches,
                excluded=list(verdict.excluded),
            )
        )

    async def wrongly_excluded(self, st: EpochState, operators: list[str]) -> tuple[str, ...]:
        """The committed operators a result with ``operators`` left out although at least
        the exclusion quorum of others attest them, by the attestations this node holds.
        Where the attestations it lacks could make that quorum (it restarted, or joined
        after they were gossiped), it first asks peers for them (``/p2pfl/attest/1``)."""
        ctx, e = self.ctx, st.epoch
        committed = await ctx.committed(st)
        f_c = await ctx.call(lambda: ctx.em.byzantine_bound(len(committed)))
        quorum = availability.exclusion_quorum(f_c)
        left_out = set(committed) - set(operators)
        atts = held_attestations(ctx, e, committed)
        if availability.undecided(committed, atts, left_out, quorum):
            with trio.move_on_after(SYNC_S):
                new = await ctx.peer.sync_attestations(e, frozenset(committed))
                log.info("epoch %d: %d attestations synced from peers", e, new)
            atts = held_attestations(ctx, e, committed)
        try:  # the evidence of `p2pfl challenge exclusion`, for as long as it is of use
            attestfile.save(ctx.opts.data_dir, e, atts)
        except OSError as exc:
            log.warning("cannot save the attestations of epoch %d: %s", e, exc)
        return tuple(
            op
            for op in availability.ordered(left_out)
            if len(availability.supporters(committed, atts, op)) >= quorum
        )

    async def scan_norms(self, st: EpochState, committed: list[str]) -> None:
        """Once the commit phase has closed: note the committed updates above the norm
        bound (their norm proofs can start before any result is posted). Updates not at
        hand within ``SCAN_S`` are left to the result's check."""
        ch = st.challenges
        if ch.scanned or not committed:
            return
        ctx, e = self.ctx, st.epoch
        updates: dict[str, Update] = {}
        with trio.move_on_after(SCAN_S):
            try:
                updates = await ctx.blobs.updates(e, committed)
            except TRANSIENT:
                return  # not all served yet: the next poll tries again
        if not updates:
            return
        ch.scanned = True
        self.note_norms(st, updates)

    def note_norms(self, st: EpochState, updates: dict[str, Update]) -> None:
        """Remember the updates above the deployment's norm bound, to prove on chain
        (:mod:`~p2pfl.protocol.challenger`), and report each once: an objective fault
        (DESIGN.md "Norm bound")."""
        bound = self.ctx.view.params.norm_bound_sq
        ch = st.challenges
        for op, u in updates.items():
            if u.norm_sq > bound and op not in ch.over_bound:
                ch.over_bound[op] = u
                self.ctx.emit(
                    NormViolation(
                        epoch=st.epoch, operator=op, norm_sq=str(u.norm_sq), bound_sq=str(bound)
                    )
                )
