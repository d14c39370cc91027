"""The challenger's part of an epoch (every node, and ``p2pfl challenge watch``): DESIGN.md's
challenge window on chain, every transaction under 128 KB.

- **Sketch**: a posted row that is not the sketch of its operator's committed update is
  challenged in chunks: ``openSketchChallenge`` with this node's partial sketches of the
  update (and the bond), then ``proveChunk`` for every chunk that holds entries, one
  transaction each, against the operator's root. Anyone may prove a chunk: a node proves
  the chunks still missing of every open challenge on the standing result whose row it
  also found wrong (its partials are then the challenger's, since both are computed from
  the same bytes), at once if it opened the challenge, after the grace period otherwise
  (a challenger that went silent does not lose the challenge). One challenge per result:
  a node opens one only when none is open on it.
- **Model**: a posted model that is not the model step of the base model and the
  selected updates is challenged at its first wrong leaf (``challengeModel``), proven
  from the posted model's leaf hashes (the result carries them).
- **Exclusion**: a committed operator the result left out although at least the exclusion
  quorum (``2·f_c + 1``) of others attest its update is proven with those attestations
  (``challengeExclusion``, one transaction).
- **Norm**: every committed update above the norm bound is proven on chain chunk by chunk,
  largest ``Σ q²`` first, until its owner is slashed.
- **Before finalize**: sketch challenges past their deadline are closed (their bond goes
  to the aggregator); finalize waits for the others.

A transaction the chain refuses (someone else was first, the result was voided meanwhile)
is reported and the state re-read at the next poll."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from p2pfl import evidence
from p2pfl.chain.client import ChainError
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import (
    Challenged,
    ChallengeFailed,
    ChallengeOpened,
    ChunkProven,
    ModelMismatch,
    NormProven,
    WrongfulExclusion,
)
from p2pfl.learn.codec import Update
from p2pfl.net import availability
from p2pfl.protocol.aggregate import selected_updates
from p2pfl.protocol.availability import held_attestations
from p2pfl.protocol.check import Verdict
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.duties import Duties
from p2pfl.protocol.epochbook import EpochState, Evidence
from p2pfl.protocol.threads import blocking


class ChallengerRole:
    def __init__(self, ctx: NodeContext, duties: Duties) -> None:
        self.ctx = ctx
        self.duties = duties

    def _designated(self) -> str | None:
        """A dedicated watcher acts at once; an operator after the grace period."""
        return self.ctx.me if self.ctx.opts.challenge_first else None

    # ------------------------------------------------------------------ the step
    async def act(
        self, st: EpochState, info: EpochInfo, block: int, verdict: Verdict | None
    ) -> None:
        """Everything this node has to do on chain about the standing result of ``st``."""
        ctx = self.ctx
        if not ctx.opts.challenge:
            return
        in_window = block <= info.challenge_deadline
        if in_window:
            await self.prove_norms(st)
        ev = st.evidence.get(info.attempt)
        if info.aggregator == ctx.me:
            return
        if verdict is None or ev is None:
            return
        if in_window and verdict.excluded:
            await self.exclusion(st, info, verdict, ev)
        elif verdict.wrong_rows:
            await self.sketch(st, info, block, verdict, ev)
        elif in_window and not verdict.model_matches and verdict.model is not None:
            await self.model(st, info, ev)

    # ------------------------------------------------------------------ sketch
    async def sketch(
        self, st: EpochState, info: EpochInfo, block: int, verdict: Verdict, ev: Evidence
    ) -> None:
        ctx, e, ch = self.ctx, st.epoch, st.challenges
        standing = await self._open_challenges(e, info.attempt)
        mine_open = False
        for cid, c in standing:
            if cid in ch.foreign or block > c.deadline:
                continue
            if c.index not in verdict.wrong_rows:
                ch.foreign.add(cid)  # a challenge of a row this node found right: it forfeits
                continue
            mine_open = True
            who = ctx.me if cid in ch.mine else None
            if self.duties.ready("prove", e, info.attempt, who):
                await self._prove_chunks(st, info, cid, c.index, c.proven_mask, ev)
        if mine_open or block > info.challenge_deadline:
            return
        if any(cid not in ch.foreign for cid, _ in standing):
            return  # another challenge is running: help prove it rather than open a second
        if not self.duties.ready("challenge", e, info.attempt, self._designated()):
            return
        row = verdict.wrong_rows[0]
        op = ev.posted.operators[row]
        k = ctx.view.params.sketch_dim
        q = ev.updates[op].q
        sk = await blocking(
            lambda: evidence.sketch_evidence(q, row, ev.posted.sketches[row], ev.posted.seed, k)
        )
        if sk is None:  # the check found it wrong: cannot happen unless the check is broken
            return
        try:
            cid, receipt = await ctx.tx(
                "open sketch challenge", lambda: ctx.em.open_sketch_challenge(ctx.account, e, sk)
            )
        except ChainError as exc:
            ctx.emit(ChallengeFailed(epoch=e, error=str(exc)))
            return
        ch.mine.add(cid)
        ctx.emit(
            ChallengeOpened(
                epoch=e,
                attempt=info.attempt,
                id=cid,
                row=row,
                operator=op,
                aggregator=ev.posted.aggregator,
                gas=int(receipt["gasUsed"]),
                calldata=_calldata_size(sk),
            )
        )
        await self._prove_chunks(st, info, cid, row, 0, ev)

    async def _open_challenges(self, epoch: int, attempt: int) -> list[tuple[int, _Open]]:
        em = self.ctx.em
        ids = await self.ctx.call(lambda: em.sketch_challenge_ids(epoch))
        out: list[tuple[int, _Open]] = []
        for cid in ids:
            c = await self.ctx.call(partial(em.sketch_challenge, cid))
            if not c.closed and c.attempt == attempt:
                out.append((cid, _Open(c.index, c.deadline, c.proven_mask)))
        return out

    async def _prove_chunks(
        self, st: EpochState, info: EpochInfo, cid: int, row: int, proven: int, ev: Evidence
    ) -> None:
        ctx, e = self.ctx, st.epoch
        op = ev.posted.operators[row]
        q = ev.updates[op].q
        for c in range(evidence.live_chunks(q.shape[0])):
            if proven >> c & 1:
                continue
            chunk = await blocking(partial(evidence.chunk_evidence, q, c))
            try:
                upheld, receipt = await ctx.tx(
                    "prove chunk", partial(ctx.em.prove_chunk, ctx.account, e, cid, chunk)
                )
            except ChainError as exc:  # proven by someone else meanwhile, or voided
                ctx.emit(ChallengeFailed(epoch=e, error=str(exc)))
                return
            gas = int(receipt["gasUsed"])
            ctx.emit(ChunkProven(epoch=e, id=cid, chunk=c, gas=gas))
            if upheld:
                ctx.emit(
                    Challenged(
                        epoch=e,
                        attempt=info.attempt,
                        row=row,
                        operator=op,
                        aggregator=ev.posted.aggregator,
                        upheld=True,
                        gas=gas,
                        subject="sketch",
                    )
                )
                return

    # ------------------------------------------------------------------ model
    async def model(self, st: EpochState, info: EpochInfo, ev: Evidence) -> None:
        """Challenge the posted model at its first leaf whose posted hash is not the hash
        of the model step's leaf. The posted leaf hashes give every proof: the posted
        model's bytes are not needed (an aggregator that withholds them changes nothing)."""
        ctx, e, ch = self.ctx, st.epoch, st.challenges
        if info.attempt in ch.model_tried:
            return
        if not self.duties.ready("challenge", e, info.attempt, self._designated()):
            return
        ch.model_tried.add(info.attempt)
        posted = ev.posted
        base = await ctx.blobs.model(info.base_model, e)
        sel = [u.q for u in selected_updates(ev.updates, posted.operators, posted.selected_mask)]
        hashes = list(posted.model_leaf_hashes)
        try:
            wrong = await blocking(lambda: evidence.wrong_model_leaves(base.w, sel, hashes))
        except ValueError as exc:  # not one hash per leaf: the contract would have refused
            ctx.emit(ChallengeFailed(epoch=e, error=f"posted leaf hashes: {exc}"))
            return
        ctx.emit(ModelMismatch(epoch=e, aggregator=posted.aggregator, wrong_leaves=len(wrong)))
        if not wrong:  # cannot happen: the posted root is the root of the posted hashes
            return
        leaf = wrong[0]
        me = await blocking(lambda: evidence.model_evidence(base.w, sel, hashes, leaf))
        try:
            upheld, receipt = await ctx.tx(
                "challenge model", lambda: ctx.em.challenge_model(ctx.account, e, me)
            )
        except ChainError as exc:
            ctx.emit(ChallengeFailed(epoch=e, error=str(exc)))
            return
        ctx.emit(
            Challenged(
                epoch=e,
                attempt=info.attempt,
                row=leaf,
                operator="",
                aggregator=posted.aggregator,
                upheld=upheld,
                gas=int(receipt["gasUsed"]),
                subject="model",
            )
        )

    # ------------------------------------------------------------------ exclusion
    async def exclusion(
        self, st: EpochState, info: EpochInfo, verdict: Verdict, ev: Evidence
    ) -> None:
        """Prove that the result left out an available operator (once per attempt)."""
        ctx, e = self.ctx, st.epoch
        if info.attempt in st.exclusions_tried:
            return
        if not self.duties.ready("challenge", e, info.attempt, self._designated()):
            return
        st.exclusions_tried.add(info.attempt)
        op = verdict.excluded[0]
        committed = await ctx.committed(st)
        atts = availability.supporters(committed, held_attestations(ctx, e, committed), op)
        ctx.emit(
            WrongfulExclusion(
                epoch=e, aggregator=ev.posted.aggregator, operator=op, attestations=len(atts)
            )
        )
        try:
            receipt = await ctx.tx(
                "challenge exclusion",
                lambda: ctx.em.challenge_exclusion(ctx.account, e, op, atts),
            )
        except ChainError as exc:  # voided meanwhile, or another node was first
            ctx.emit(ChallengeFailed(epoch=e, error=f"exclusion of {op}: {exc}"))
            return
        ctx.emit(
            Challenged(
                epoch=e,
                attempt=info.attempt,
                row=0,
                operator=op,
                aggregator=ev.posted.aggregator,
                upheld=True,
                gas=int(receipt["gasUsed"]),
                subject="exclusion",
            )
        )

    # ------------------------------------------------------------------ norm
    async def prove_norms(self, st: EpochState) -> None:
        ctx, e, ch = self.ctx, st.epoch, st.challenges
        for op in sorted(ch.over_bound):
            if op in ch.norm_settled or op == ctx.me:
                continue
            if not self.duties.ready(f"norm {op}", e, 0, self._designated()):
                continue
            await self._prove_norm(st, op, ch.over_bound[op])

    async def _prove_norm(self, st: EpochState, op: str, update: Update) -> None:
        ctx, e, ch = self.ctx, st.epoch, st.challenges
        state = await ctx.call(lambda: ctx.em.norm_proof(e, op))
        if state.slashed:
            ch.norm_settled.add(op)
            return
        q = update.q
        order = await blocking(lambda: evidence.chunks_by_weight(q))
        for _, c in order:
            if state.proven_mask >> c & 1:
                continue
            chunk = await blocking(partial(evidence.chunk_evidence, q, c))
            try:
                slashed, receipt = await ctx.tx(
                    "prove norm", partial(ctx.em.prove_norm_chunk, ctx.account, e, op, chunk)
                )
            except ChainError as exc:  # proven by another node meanwhile, or too late
                ctx.emit(ChallengeFailed(epoch=e, error=f"norm proof of {op}: {exc}"))
                return
            state = await ctx.call(lambda: ctx.em.norm_proof(e, op))
            ctx.emit(
                NormProven(
                    epoch=e,
                    operator=op,
                    chunk=c,
                    total=str(state.sum_of_squares),
                    slashed=slashed,
                    gas=int(receipt["gasUsed"]),
                )
            )
            if slashed or state.slashed:
                ch.norm_settled.add(op)
                return
        ch.norm_settled.add(op)  # every chunk proven and within the bound: nothing to prove

    # ------------------------------------------------------------------ finalize
    async def ready_to_finalize(self, e: int, block: int) -> bool:
        """Close the epoch's sketch challenges past their deadline; True when none is open."""
        ctx = self.ctx
        if await ctx.call(lambda: ctx.em.open_sketch_challenges(e)) == 0:
            return True
        running = False
        for cid in await ctx.call(lambda: ctx.em.sketch_challenge_ids(e)):
            c = await ctx.call(partial(ctx.em.sketch_challenge, cid))
            if c.closed:
                continue
            if block <= c.deadline:
                running = True
                continue
            try:
                await ctx.tx(
                    "close sketch challenge",
                    partial(ctx.em.close_sketch_challenge, ctx.account, e, cid),
                )
            except ChainError as exc:  # closed by someone else meanwhile
                ctx.emit(ChallengeFailed(epoch=e, error=str(exc)))
        return not running and await ctx.call(lambda: ctx.em.open_sketch_challenges(e)) == 0


@dataclass(frozen=True)
class _Open:
    index: int
    deadline: int
    proven_mask: int


def _calldata_size(sk: evidence.SketchEvidence) -> int:
    """The ABI-encoded size of ``openSketchChallenge``'s arguments (32 bytes a word)."""
    return 4 + 32 * (4 + 2 + len(sk.posted) + len(sk.partials))
