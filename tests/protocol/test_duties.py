"""Chores: the designated operator acts at once, stand-ins only after their grace period
(checked on trio's mock clock, no sleeping)."""

from __future__ import annotations

import trio
import trio.testing

from p2pfl.protocol.duties import Duties

ME = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_designated_at_once_stand_in_after_grace() -> None:
    clock = trio.testing.MockClock()

    async def main() -> None:
        duties = Duties(ME, grace=3.0)
        assert duties.ready("open", 2, 0, ME.lower())
        assert not duties.ready("open", 2, 0, OTHER)  # marks it due now
        wait = 3.0 * (1 + (int(ME, 16) % 997) / 997)
        clock.jump(wait - 0.01)
        assert not duties.ready("open", 2, 0, OTHER)
        clock.jump(0.02)
        assert duties.ready("open", 2, 0, OTHER)
        assert not duties.ready("open", 3, 0, OTHER)  # another chore has its own clock
        assert not duties.ready("open", 2, 1, OTHER)

    trio.run(main, clock=clock)


def test_stand_ins_wait_for_different_times() -> None:
    waits = {
        (int(a, 16) % 997) / 997 for a in (ME, OTHER, "0x90F79bf6EB2c4f870365E785982E1f101E93b906")
    }
    assert len(waits) == 3
    assert all(0 <= w < 1 for w in waits)
