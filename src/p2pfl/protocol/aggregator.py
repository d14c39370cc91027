"""The aggregator's part of an epoch (elected on chain, or its stand-in after a
rotation): gather the availability attestations and derive the included operators from
them (:mod:`~p2pfl.protocol.availability`), fetch their updates, sketch them with the
epoch's seed, run Krum / Multi-Krum, build the new model, prove the Krum part with the
circuit of the epoch's ``n``, gossip the model and submit the result with the
attestations. Fewer than three available: an empty result (no proof), which skips the
epoch once its challenge window has passed."""

from __future__ import annotations

import time

from p2pfl import merkle
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import Submitted
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.protocol.aggregate import aggregate
from p2pfl.protocol.availability import AvailabilityRole
from p2pfl.protocol.chainview import Snapshot
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState
from p2pfl.protocol.options import Tamper
from p2pfl.protocol.threads import blocking
from p2pfl.protocol.trainer import Trainer
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import prove_async

MIN_PARTICIPANTS = 3  # EpochManager.MIN_PARTICIPANTS


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
        self.tamper = tamper  # testnet only

    async def aggregate(self, st: EpochState, info: EpochInfo, snap: Snapshot) -> None:
        ctx, e = self.ctx, st.epoch
        k = ctx.view.params.sketch_dim
        tamper = self.tamper or Tamper()
        t0 = time.perf_counter()
        committed = list(snap.committed)
        f_c = await ctx.call(lambda: ctx.em.byzantine_bound(len(committed)))
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
        if len(included) < MIN_PARTICIPANTS:
            await self._submit_empty(e, info, atts, included, bent_atts is not None)
            return
        t_attest = time.perf_counter()
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
        t_prove = time.perf_counter()
        await ctx.announce("model", e, model.digest, size)
        receipt = await ctx.tx(
            "submit",
            lambda: ctx.em.submit_result(
                ctx.account,
                e,
                merkle.leaf_hashes(model.w),
                atts,
                agg.sketches,
                agg.selected_mask,
                agg.flag_mask,
                proof.proof,
            ),
        )
        t_submit = time.perf_counter()
        prog = ctx.state.of(e)
        prog.submitted_attempts.append(info.attempt)
        ctx.state.save()
        trainer = self.trainer
        accuracy = await blocking(lambda: trainer.accuracy(model)) if trainer else None
        ctx.emit(
            Submitted(
                epoch=e,
                attempt=info.attempt,
                cheated=forged is not None or bent is not None or bent_atts is not None,
                n=n,
                f=f,
                operators=agg.operators,
                selected=agg.krum.selected,
                flagged=agg.flagged_operators,
                scores=[int(s) for s in agg.krum.scores],
                suspicious=agg.krum.suspicious,
                model="0x" + model.digest.hex(),
                accuracy=accuracy,
                gas=int(receipt["gasUsed"]),
                attest_s=round(t_attest - t0, 3),
                fetch_s=round(t_fetch - t_attest, 3),
                aggregate_s=round(t_agg - t_fetch, 3),
                prove_s=round(t_prove - t_agg, 3),
                submit_s=round(t_submit - t_prove, 3),
            )
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
