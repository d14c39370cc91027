"""Crashes: the drawn aggregator is killed (SIGKILL) mid-epoch, as soon as the commit
phase has closed (nobody knows it before) and before its result; another node is killed
right after training and restarted at once.
The network finishes the epoch under the next aggregator in rotation (the silent one is
reported and slashed for the timeout), the restarted node commits the very update it
trained before the crash (nothing trained or committed twice), and the restarted
aggregator takes part in the next epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from p2pfl.chain.epochs import EpochManager, Status
from p2pfl.chain.slashing import SlashReason
from p2pfl.events import CommitFailed, Event, Trained
from p2pfl.protocol.election import candidates, elect
from p2pfl.testnet.network import TestnetConfig
from p2pfl.testnet.runner import Testnet
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow
EPOCH = 2


def test_network_survives_a_killed_aggregator_and_a_restarted_node(tmp_path: Path) -> None:
    # A longer commit window leaves a restarted node time to start up and still commit.
    # 7 nodes: the killed aggregator (down before it reveals) and the restarted node (back
    # after the others attested) may both be left out of the epoch as unavailable; the
    # 5 left keep n >= 2f + 3 with f = 1, so the attacker is still flagged.
    cfg = TestnetConfig(nodes=7, malicious=1, cheat_epochs=[], epochs=3, commit_blocks=20)
    plan: dict[str, Any] = {}

    def drawn(tn: Testnet) -> str | None:
        """The aggregator the seed draws for attempt 0, once the commit phase has closed."""
        chain = tn.net.chain
        em = EpochManager(chain, tn.net.deployment.avs.epoch_manager)
        if em.current_epoch() != EPOCH or (info := em.epoch(EPOCH)).status != Status.OPEN:
            return None
        roster, stakes = em.roster(EPOCH)
        block = int(chain.w3.eth.block_number)
        committed = em.committed(EPOCH)
        if not info.commit_closed(block, len(committed), len(roster)):
            return None
        if info.close_block > block:  # the last commit landed after `info` was read
            return None
        seed = bytes(chain.w3.eth.get_block(info.close_block)["hash"])
        return elect(seed, *candidates(roster, stakes, committed), 0)

    def on_event(tn: Testnet, name: str, event: Event) -> None:
        if not isinstance(event, Trained) or event.epoch != EPOCH or "restarted" in plan:
            return
        if name in ("node0", "node6"):
            return  # node0 is everyone's bootstrap; node6 is the attacker
        plan["restarted"] = name
        plan["trained"] = event.digest
        tn.procs[name].restart()  # SIGKILL, then start again on the same data directory

    def on_tick(tn: Testnet) -> None:
        rec = tn.history.epochs.get(EPOCH)
        if rec is None:
            return
        if "killed" not in plan and (agg := drawn(tn)) is not None:
            victim = tn.process_of(agg)
            assert victim is not None
            plan["killed"] = victim.name
            plan["aggregator"] = agg
            victim.kill()
        if "killed" in plan and rec.timeouts and "revived" not in plan:
            plan["revived"] = True
            tn.procs[plan["killed"]].start()

    with run_testnet(tmp_path, cfg, hooks=[on_event], on_tick=on_tick) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        assert {"restarted", "killed", "revived"} <= set(plan), plan
        rec = tn.history.epochs[EPOCH]
        agg = plan["aggregator"]

        def address_of(name: str) -> str:
            return next(op.address for op in tn.net.operators if f"node{op.index}" == name)

        assert rec.timeouts == [agg]
        assert rec.aggregators[0] == agg
        assert len(rec.aggregators) == 2
        assert rec.aggregators[1] != agg  # the silent aggregator never gets the epoch back
        (result,) = rec.results
        assert result["aggregator"] == rec.aggregators[1]
        # The killed aggregator (killed at the close, maybe before it revealed) and the
        # restarted node (maybe back only after the others attested) may be left out as
        # unavailable, never slashed for it; the others are all included.
        assert set(result["operators"]) <= set(rec.committed)
        assert len(result["operators"]) >= cfg.nodes - 2
        assert set(rec.committed) - set(result["operators"]) <= {agg, address_of(plan["restarted"])}
        # slashed for the timeout (and, if it is the attacker, also flagged)
        assert SlashReason.MISSED_DEADLINE in [s.reason for s in rec.slashes if s.operator == agg]
        # the restarted node trained once and committed exactly that update
        name = plan["restarted"]
        address = address_of(name)
        trained = [ev for n, ev in tn.node_events(Trained, EPOCH) if n == name]
        assert [ev.digest for ev in trained] == [plan["trained"]]
        em = tn.net.chain.contract("EpochManager", tn.net.deployment.avs.epoch_manager)
        committed = tn.net.chain.call(em.functions.commitmentOf(EPOCH, address))
        assert "0x" + bytes(committed).hex() == plan["trained"]
        assert tn.procs[name].restarts == 1
        assert not tn.node_events(CommitFailed)
        for e, r in tn.history.epochs.items():
            assert len(r.committed) == len(set(r.committed)), f"epoch {e}: {r.committed}"
        # the revived aggregator rejoined and committed in the next epoch
        assert agg in tn.history.epochs[EPOCH + 1].committed
