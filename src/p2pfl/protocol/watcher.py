"""The watcher's part of an epoch (every node, and ``p2pfl challenge watch``): check a
posted result against the committed update bytes, challenge a wrong sketch on chain,
and keep the rebuilt model (the node then serves it as the next epoch's base)."""

from __future__ import annotations

from p2pfl.chain.client import ChainError
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import (
    Challenged,
    ChallengeFailed,
    Checked,
    KrumMismatch,
    ModelMismatch,
    NormViolation,
)
from p2pfl.learn.codec import norm_bound_sq
from p2pfl.protocol.check import Verdict, check_result
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState, Evidence
from p2pfl.protocol.threads import blocking

SETTLED = Verdict([], None, False)  # a result already challenged (won, lost or beaten to)


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
        updates = await ctx.blobs.updates(e, posted.operators)
        bound = norm_bound_sq(ctx.opts.clip, ctx.blobs.spec.dim)
        for op in posted.operators:  # an objective fault, reported (DESIGN.md "Norm bound")
            if updates[op].norm_sq > bound:
                ctx.emit(
                    NormViolation(
                        epoch=e, operator=op, norm_sq=str(updates[op].norm_sq), bound_sq=str(bound)
                    )
                )
        base = await ctx.blobs.model(info.base_model, e)
        k = ctx.view.params.sketch_dim
        n = len(posted.operators)
        f = await ctx.call(lambda: ctx.em.byzantine_bound(n))
        rho = ctx.view.params.rho
        verdict = await blocking(lambda: check_result(posted, updates, base, k, f, rho))
        st.verdicts[info.attempt] = verdict
        st.evidence[info.attempt] = Evidence(posted, updates)
        if verdict.model is not None and verdict.model_matches:
            ctx.blobs.keep(verdict.model)
        ctx.emit(
            Checked(
                epoch=e,
                attempt=info.attempt,
                aggregator=posted.aggregator,
                wrong_rows=verdict.wrong_rows,
                model_matches=verdict.model_matches,
            )
        )
        if not verdict.krum_matches:
            # The proof verified, yet Krum on the posted sketches disagrees: a circuit bug.
            ctx.emit(KrumMismatch(epoch=e, aggregator=posted.aggregator))
        if not verdict.wrong_rows and not verdict.model_matches:
            # No on-chain challenge covers the model digest yet (docs/protocol.md).
            ctx.emit(ModelMismatch(epoch=e, aggregator=posted.aggregator))
        return verdict

    async def challenge(self, st: EpochState, info: EpochInfo) -> None:
        """Challenge the first wrong row of the checked result (once per result)."""
        ctx, e = self.ctx, st.epoch
        verdict = st.verdicts.get(info.attempt)
        evidence = st.evidence.get(info.attempt)
        if verdict is None or not verdict.wrong_rows or evidence is None:
            return
        posted, row = evidence.posted, verdict.wrong_rows[0]
        op = posted.operators[row]
        update_bytes = evidence.updates[op].canonical_bytes()
        try:
            upheld, receipt = await ctx.tx(
                "challenge",
                lambda: ctx.em.challenge_sketch(
                    ctx.account, e, row, update_bytes, posted.sketches[row]
                ),
            )
        except ChainError as exc:
            # Someone else's challenge voided it first, or the window closed. (Any other
            # fault, an RPC one, leaves the evidence in place: the next poll retries.)
            self._settle(st, info.attempt)
            ctx.emit(ChallengeFailed(epoch=e, error=str(exc)))
            return
        self._settle(st, info.attempt)
        ctx.emit(
            Challenged(
                epoch=e,
                attempt=info.attempt,
                row=row,
                operator=op,
                aggregator=posted.aggregator,
                upheld=upheld,
                gas=int(receipt["gasUsed"]),
            )
        )

    @staticmethod
    def _settle(st: EpochState, attempt: int) -> None:
        """One challenge per result: won, lost, or beaten to it by another watcher."""
        st.verdicts[attempt] = SETTLED
        st.evidence.pop(attempt, None)
