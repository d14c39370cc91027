"""The aggregator's part of an epoch (elected on chain, or its stand-in after a
rotation): gather the availability attestations and derive the included operators from
them (:mod:`~p2pfl.protocol.availability`), fetch their updates, sketch them with the
epoch's seed, run Krum / Multi-Krum, build the new model, prove the Krum part with the
circuit of the epoch's ``n``, gossip the model and submit the result with the
attestations. Fewer than three available: an empty result (no proof), which skips the
epoch once its challenge window has passed.

The result for every committed operator is built (fetched, aggregated, proven) while the
attestations arrive; it is posted if they show every committed operator available, the
usual case, and dropped for one built on the included operators otherwise. The proof's
public inputs are the included operators' roots: it is the same either way."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio

from p2pfl import merkle
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import Submitted
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.protocol.aggregate import Aggregation, aggregate
from p2pfl.protocol.availability import AvailabilityRole
from p2pfl.protocol.chainview import Snapshot
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState
from p2pfl.protocol.faults import describe
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.options import Tamper
from p2pfl.protocol.threads import blocking
from p2pfl.protocol.trainer import Trainer
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import Proof, prove_async

MIN_PARTICIPANTS = 3  # EpochManager.MIN_PARTICIPANTS
HEAD_POLL_S = 0.1  # how often the aggregator reads the head while it waits to submit
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Built:
    """A result ready to post: the aggregation of the included operators' updates, the
    new model, the proof, whether a testnet hook bent it, and how long each part took."""

    n: int
    f: int
    agg: Aggregation
    model: GlobalModel
    model_size: int
    proof: Proof
    cheated: bool
    fetch_s: float
    aggregate_s: float
    prove_s: float


class Ahead:
    """The result built for every committed operator while the attestations are still
    arriving (they usually show everyone available): used if they do, cancelled if not.
    Best effort: a failure leaves ``result`` None and the aggregator builds again."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self.result: Built | None = None
        self.scope = trio.CancelScope()

    async def run(self, build: Callable[[], Awaitable[Built]]) -> None:
        with self.scope:
            try:
                self.result = await build()
            except Exception as exc:  # the regular path builds again and reports it
                log.info("building ahead of the attestations failed: %s", describe(exc))
        self.done.set()

    async def get(self) -> Built | None:
        await self.done.wait()
        return self.result

    def cancel(self) -> None:
        self.scope.cancel()


class AggregatorRole:
    def __init__(
        self,
        ctx: NodeContext,
        availability: AvailabilityRole,
        trainer: Trainer | None,
        tamper: Tamper | None = None,
    ) -> None:
        self.ctx = ctx
        self.availability = availability
        self.trainer = trainer  # to report the new model's test accuracy
        self.tamper = tamper or Tamper()  # testnet only

    async def aggregate(self, st: EpochState, info: EpochInfo, snap: Snapshot) -> None:
        ctx, e, tamper = self.ctx, st.epoch, self.tamper
        t0 = time.perf_counter()
        committed = list(snap.committed)
        everyone = availability.ordered(committed)  # the included set if all are available
        f_c = await ctx.call(lambda: ctx.em.byzantine_bound(len(committed)))
        async with trio.open_nursery() as nursery:
            ahead = Ahead()  # the usual case: every committed update turns out available
            nursery.start_soon(ahead.run, lambda: self._build(st, info, everyone))
            inc = await self.availability.gather(st, committed, f_c)
            atts = inc.attestations
            bent_atts = (
                tamper.attestations(atts, committed, f_c, e, info.attempt)
                if tamper.attestations
                else None
            )
            if bent_atts is not None:
                atts = bent_atts
                included = availability.available(committed, atts, f_c)
            else:
                included = inc.operators
            t_attest = time.perf_counter()
            built = await ahead.get() if included == everyone else None
            ahead.cancel()
        if len(included) < MIN_PARTICIPANTS:
            await self._submit_empty(e, info, atts, included, bent_atts is not None)
            return
        used_ahead = built is not None
        if built is None:
            built = await self._build(st, info, included)
        t_ready = time.perf_counter()
        await self._past(info.close_block)
        await ctx.announce("model", e, built.model.digest, built.model_size)
        receipt = await ctx.tx(
            "submit",
            lambda: ctx.em.submit_result(
                ctx.account,
                e,
                merkle.leaf_hashes(built.model.w),
                atts,
                built.agg.sketches,
                built.agg.selected_mask,
                built.agg.flag_mask,
                built.proof.proof,
            ),
        )
        t_submit = time.perf_counter()
        prog = ctx.state.of(e)
        prog.submitted_attempts.append(info.attempt)
        ctx.state.save()
        trainer, model = self.trainer, built.model
        accuracy = await blocking(lambda: trainer.accuracy(model)) if trainer else None
        agg = built.agg
        ctx.emit(
            Submitted(
                epoch=e,
                attempt=info.attempt,
                cheated=built.cheated or bent_atts is not None,
                n=built.n,
                f=built.f,
                operators=agg.operators,
                selected=agg.krum.selected,
                flagged=agg.flagged_operators,
                scores=[int(s) for s in agg.krum.scores],
                suspicious=agg.krum.suspicious,
                model="0x" + model.digest.hex(),
                accuracy=accuracy,
                gas=int(receipt["gasUsed"]),
                attest_s=round(t_attest - t0, 3),
                fetch_s=built.fetch_s,
                aggregate_s=built.aggregate_s,
                prove_s=built.prove_s,
                submit_s=round(t_submit - t_ready, 3),
                ahead=used_ahead,
                ready_s=round(t_ready - t0, 3),
            )
        )

    async def _past(self, block: int) -> None:
        """Wait until the chain's head is past ``block`` (the close): a transaction's gas
        is estimated at the head's number, where ``recordSeed`` (inside ``submitResult``)
        would still see the commit phase open. The result is built meanwhile."""
        view = self.ctx.view
        while await self.ctx.call(view.head) <= block:
            await trio.sleep(HEAD_POLL_S)

    async def _build(self, st: EpochState, info: EpochInfo, included: list[str]) -> Built:
        """Fetch ``included``'s updates, sketch them with the epoch's seed, run Krum /
        Multi-Krum, step the model and prove the Krum part (testnet hooks applied)."""
        ctx, e, tamper = self.ctx, st.epoch, self.tamper
        k = ctx.view.params.sketch_dim
        t0 = time.perf_counter()
        updates = await ctx.blobs.updates(e, included)
        t_fetch = time.perf_counter()
        seed = await ctx.call(lambda: ctx.view.seed(info))
        n = len(updates)
        f = await ctx.call(lambda: ctx.em.byzantine_bound(n))
        rho = ctx.view.params.rho
        agg = await blocking(lambda: aggregate(updates, seed, f, k, rho))
        forged = tamper.result(agg, e, info.attempt, ctx.me) if tamper.result else None
        if forged is not None:
            agg = forged
        base = await ctx.blobs.model(info.base_model, e)
        model = base.step(agg.selected_updates(updates))
        bent = tamper.model(model, e, info.attempt) if tamper.model else None
        if bent is not None:
            model = bent
        size = ctx.blobs.keep(model)
        t_agg = time.perf_counter()
        krum = agg.krum
        inputs = krum_inputs(e, seed, f, agg.sketches, krum.selected, krum.flagged, krum.rho)
        proof = await prove_async(n, k, inputs, timeout=ctx.opts.prove_timeout_s)
        return Built(
            n=n,
            f=f,
            agg=agg,
            model=model,
            model_size=size,
            proof=proof,
            cheated=forged is not None or bent is not None,
            fetch_s=round(t_fetch - t0, 3),
            aggregate_s=round(t_agg - t_fetch, 3),
            prove_s=round(time.perf_counter() - t_agg, 3),
        )

    async def _submit_empty(
        self,
        e: int,
        info: EpochInfo,
        atts: list[Attestation],
        included: list[str],
        cheated: bool,
    ) -> None:
        """Fewer than three operators available: post the attestations alone (no model,
        sketches or proof); the epoch is skipped once the result's window has passed."""
        ctx = self.ctx
        t0 = time.perf_counter()
        await self._past(info.close_block)
        receipt = await ctx.tx(
            "submit", lambda: ctx.em.submit_result(ctx.account, e, [], atts, [], 0, 0, b"")
        )
        prog = ctx.state.of(e)
        prog.submitted_attempts.append(info.attempt)
        ctx.state.save()
        ctx.emit(
            Submitted(
                epoch=e,
                attempt=info.attempt,
                cheated=cheated,
                n=len(included),
                f=0,
                operators=included,
                model="0x" + info.base_model.hex(),
                gas=int(receipt["gasUsed"]),
                fetch_s=0.0,
                aggregate_s=0.0,
                prove_s=0.0,
                submit_s=round(time.perf_counter() - t0, 3),
            )
        )
