"""The aggregator's part of an epoch (elected on chain, or its stand-in after a
rotation): fetch every committed update, sketch them with the epoch's seed, run Krum /
Multi-Krum, build the new model, prove the Krum part with the circuit of the epoch's
``n``, gossip the model and submit the result."""

from __future__ import annotations

import time

from p2pfl import merkle
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import Submitted
from p2pfl.protocol.aggregate import aggregate
from p2pfl.protocol.chainview import Snapshot
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.options import Tamper
from p2pfl.protocol.threads import blocking
from p2pfl.protocol.trainer import Trainer
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import prove_async


class AggregatorRole:
    def __init__(
        self, ctx: NodeContext, trainer: Trainer | None, tamper: Tamper | None = None
    ) -> None:
        self.ctx = ctx
        self.trainer = trainer  # to report the new model's test accuracy
        self.tamper = tamper  # testnet only

    async def aggregate(self, e: int, info: EpochInfo, snap: Snapshot) -> None:
        ctx = self.ctx
        k = ctx.view.params.sketch_dim
        t0 = time.perf_counter()
        updates = await ctx.blobs.updates(e, snap.committed)
        t_fetch = time.perf_counter()
        seed = await ctx.call(lambda: ctx.view.seed(info))
        n = len(updates)
        f = await ctx.call(lambda: ctx.em.byzantine_bound(n))
        rho = ctx.view.params.rho
        agg = await blocking(lambda: aggregate(updates, seed, f, k, rho))
        tamper = self.tamper or Tamper()
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
                agg.operators,
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
                cheated=forged is not None or bent is not None,
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
                fetch_s=round(t_fetch - t0, 3),
                aggregate_s=round(t_agg - t_fetch, 3),
                prove_s=round(t_prove - t_agg, 3),
                submit_s=round(t_submit - t_prove, 3),
            )
        )
