"""Availability (DESIGN.md, the epoch, step 5): once the commit phase has closed, every
committed operator fetches every committed update, checks it against its root, and signs
and gossips ``Availability{epoch, heldMask}`` once; the aggregator gathers the
attestations and includes exactly the operators they show available (attested by at
least ``f_c + 1`` others). An update nobody could fetch is left out and nobody is
slashed; fewer than three available: the result is empty and the epoch is skipped."""

from __future__ import annotations

import time
from dataclasses import dataclass

import trio

from p2pfl.events import Attested, Availability, Fault
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.net.errors import AnnouncementError
from p2pfl.protocol.context import NodeContext
from p2pfl.protocol.epochbook import EpochState
from p2pfl.protocol.faults import TRANSIENT, describe


@dataclass(frozen=True)
class Included:
    """The aggregator's view of an epoch's availability: the attestations it posts (valid,
    one per operator, ascending) and the operators they make available (ascending)."""

    attestations: list[Attestation]
    operators: list[str]
    excluded: list[str]


class AvailabilityRole:
    def __init__(self, ctx: NodeContext) -> None:
        self.ctx = ctx

    async def attest(self, st: EpochState, committed: list[str]) -> None:
        """Fetch the committed updates (for at most ``attest_timeout_s``), then sign which
        ones this node holds and gossip it. Run once per epoch, by committed operators,
        after the close; withheld updates make it wait out the timeout."""
        ctx, e = self.ctx, st.epoch
        started = time.perf_counter()
        held, _ = await ctx.blobs.gather(e, committed, ctx.opts.attest_timeout_s, retry=True)
        mask = availability.held_mask(committed, held)
        att = availability.sign_attestation(
            ctx.account.key,
            chain_id=ctx.peer.attestations.chain_id,
            avs=ctx.peer.attestations.avs,
            epoch=e,
            held_mask=mask,
        )
        try:
            await ctx.peer.attestations.publish(att)
        except AnnouncementError as exc:
            if exc.reason != "already-attested":  # e.g. signed before a restart
                raise
        ctx.emit(
            Attested(
                epoch=e,
                held=len(held),
                committed=len(committed),
                seconds=round(time.perf_counter() - started, 3),
                missing=sorted(set(committed) - set(held)),
            )
        )

    async def gather(self, st: EpochState, committed: list[str], f_c: int) -> Included:
        """Wait (at most ``attest_wait_s``) for every committed operator's attestation, or
        until the ones received include every committed operator, then derive the included
        set as ``submitResult`` will."""
        ctx, e = self.ctx, st.epoch
        board = ctx.peer.attestations
        started = time.perf_counter()
        everyone = availability.ordered(committed)
        checked: list[Attestation] = []  # each attestation verified once, as it arrives
        with trio.move_on_after(ctx.opts.attest_wait_s):
            async with trio.open_nursery() as nursery:
                # Until every committed operator attested, or every one is included
                # already: later attestations cannot include anyone more, and with
                # nobody left out there is no exclusion to answer for.
                async def heard(op: str) -> None:
                    att = (await board.wait_for(e, frozenset({op})))[op]
                    checked.extend(
                        availability.valid(
                            [att], chain_id=board.chain_id, avs=board.avs, epoch=e,
                            committed=committed,
                        )
                    )  # fmt: skip
                    if availability.available(committed, checked, f_c) == everyone:
                        nursery.cancel_scope.cancel()

                for op in committed:
                    nursery.start_soon(heard, op)
        atts = held_attestations(ctx, e, committed)
        included = availability.available(committed, atts, f_c)
        excluded = sorted(set(committed) - set(included), key=lambda a: int(a, 16))
        ctx.emit(
            Availability(
                epoch=e,
                attestations=len(atts),
                included=len(included),
                waited_s=round(time.perf_counter() - started, 3),
                excluded=excluded,
            )
        )
        return Included(atts, included, excluded)


def held_attestations(ctx: NodeContext, epoch: int, committed: list[str]) -> list[Attestation]:
    """The valid attestations of ``epoch`` this node has received (its own included), one
    per operator, ascending: what a result posts and an exclusion challenge proves with."""
    board = ctx.peer.attestations
    return availability.valid(
        board.get(epoch).values(),
        chain_id=board.chain_id,
        avs=board.avs,
        epoch=epoch,
        committed=committed,
    )


async def attest_once(role: AvailabilityRole, st: EpochState, committed: list[str]) -> None:
    """The background task of one epoch's attestation (cancelled when the epoch is
    dropped). A fault is reported and the next poll starts it again."""
    with st.attest_scope:
        try:
            await role.attest(st, committed)
        except TRANSIENT as exc:
            role.ctx.emit(Fault(task="attest", error=describe(exc), retry_s=role.ctx.opts.poll_s))
            st.attest_started = False
