"""The operator's part of an epoch: train an update from the epoch's base model, store
it, record its digest (before the commit transaction: a restart re-sends this very
digest and never trains twice), commit it on chain, and once the epoch's commit phase
has closed, announce and serve it (commit-reveal: until then the blob server answers
"held", so nobody can tune an update to the others'). Every node also fetches every
announced update of its epochs, so an update stays available when its owner goes down."""

from __future__ import annotations

import logging
import time
from functools import partial

import trio

from p2pfl.chain.client import ChainError
from p2pfl.chain.epochs import EpochInfo
from p2pfl.events import CommitFailed, Committed, Trained
from p2pfl.net.announce import Announcement
from p2pfl.net.errors import NetError
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState
from p2pfl.protocol.faults import retrying
from p2pfl.protocol.threads import blocking
from p2pfl.protocol.trainer import Trainer

log = logging.getLogger(__name__)


class OperatorRole:
    def __init__(self, ctx: NodeContext, trainer: Trainer, withhold: bool = False) -> None:
        self.ctx = ctx
        self.trainer = trainer
        self.withhold = withhold  # testnet: commit, then never serve nor announce

    async def before_commit_deadline(self, st: EpochState, info: EpochInfo) -> None:
        """Train (unless an update for the epoch is stored), then commit and announce."""
        ctx, e = self.ctx, st.epoch
        prog = ctx.state.of(e)
        if prog.update_digest is None or bytes.fromhex(prog.update_digest) not in ctx.blobs.store:
            base = await ctx.blobs.model(info.base_model, e)
            n = len(st.members)
            f = await ctx.call(lambda: ctx.em.byzantine_bound(n))
            me, trainer = ctx.me, self.trainer
            started = time.perf_counter()
            update = await blocking(lambda: trainer.update(base, me, e, n, f))
            ctx.peer.blobs.held.add(update.digest)  # before it is servable at all
            ctx.blobs.store.put(update.digest, update.to_safetensors())
            prog.update_digest = update.digest.hex()
            ctx.state.save()  # before the commit: a restart re-sends this very digest
            ctx.emit(
                Trained(
                    epoch=e,
                    seconds=round(time.perf_counter() - started, 3),
                    digest="0x" + update.digest.hex(),
                )
            )
        digest = bytes.fromhex(prog.update_digest)
        started = time.perf_counter()
        try:
            receipt = await ctx.tx("commit", lambda: ctx.em.commit_update(ctx.account, e, digest))
        except ChainError as exc:
            ctx.emit(CommitFailed(epoch=e, error=str(exc)))
            return
        ctx.emit(
            Committed(
                epoch=e,
                seconds=round(time.perf_counter() - started, 3),
                gas=int(receipt["gasUsed"]),
            )
        )

    async def reveal(self, st: EpochState) -> None:
        """Serve and announce this node's committed update of the epoch (once); called
        only after the epoch's commit phase has closed."""
        ctx = self.ctx
        prog = ctx.state.of(st.epoch)
        if prog.update_digest is None or "updates" in st.announced or self.withhold:
            return
        digest = bytes.fromhex(prog.update_digest)
        if not prog.revealed:
            prog.revealed = True
            ctx.state.save()
        ctx.peer.blobs.held.discard(digest)
        data = ctx.blobs.store.get(digest)
        if data is not None:
            await ctx.announce("updates", st.epoch, digest, len(data))


async def prefetch(ctx: NodeContext, st: EpochState) -> None:
    """Fetch every update announced for the epoch (until its state is dropped): each node
    then serves it too, so the aggregator finds it even if its owner is gone. The
    members' peer ids (cached) are read first, while the epoch's training runs."""

    async def watch() -> None:
        for op in sorted(st.members - {ctx.me}):  # read now, not when the fetches start
            await ctx.call(partial(ctx.view.peer_id, op))
        async with trio.open_nursery() as nursery:
            async for ann in ctx.peer.board.watch("updates", st.epoch):
                if ann.operator != ctx.me:
                    nursery.start_soon(_fetch_one, ctx, ann)

    with st.prefetch:
        await retrying(f"prefetch {st.epoch}", watch, ctx.emit, ctx.opts.max_backoff_s)


async def _fetch_one(ctx: NodeContext, ann: Announcement) -> None:
    try:
        await ctx.peer.fetch(ann)
    except NetError as exc:
        log.info("prefetch of %s failed: %s", ann.digest, exc)
