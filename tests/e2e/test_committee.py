"""A roster larger than N_max: 5 operators, committees of 4 drawn by stake each epoch
(from the previous epoch's seed); the operator outside a committee sits the epoch out
and watches, and every epoch completes with its committee only."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.chain.epochs import EpochManager
from p2pfl.events import EpochJoined
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_a_committee_smaller_than_the_roster(tmp_path: Path) -> None:
    cfg = TestnetConfig(nodes=5, committee=4, malicious=0, cheat_epochs=[], epochs=2)
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        em = EpochManager(tn.net.chain, tn.net.deployment.avs.epoch_manager)
        assert em.params().committee_size == 4
        everyone = {op.address for op in tn.net.operators}
        for e in (1, 2):
            roster, _ = em.roster(e)
            assert len(roster) == 4
            assert set(roster) < everyone
            rec = tn.history.epochs[e]
            assert set(rec.committed) == set(roster)  # only the committee committed
            (outside,) = everyone - set(roster)
            name = tn.name_of(outside)
            joined = [ev for n, ev in tn.node_events(EpochJoined, e) if n == name]
            assert [ev.stake for ev in joined] == [0]  # it followed the epoch, as a watcher
