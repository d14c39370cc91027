"""6 nodes, 1 Gaussian attacker, 3 epochs: the attacker is flagged and slashed in every
epoch, no honest operator is slashed, and the model improves every epoch."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.chain.deploy import WAD
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_gaussian_attacker_is_flagged_and_slashed(tmp_path: Path) -> None:
    cfg = TestnetConfig(nodes=6, malicious=1, attack="gaussian", cheat_epochs=[], epochs=3)
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        attacker = tn.net.operators[-1].address
        honest = {op.address for op in tn.net.operators[:-1]}
        for e in (1, 2, 3):
            rec = tn.history.epochs[e]
            result = rec.final_result
            assert result is not None and rec.done
            assert result["flagged"] == [attacker], f"epoch {e}: {result['flagged']}"
            assert attacker not in result["selected"]
            assert {s.operator for s in rec.slashes} == {attacker}
        # slashed three times by half: 32 -> 4 stake; honest stakes untouched
        sm = tn.net.chain.contract("P2pflServiceManager", tn.net.deployment.avs.service_manager)
        assert tn.net.chain.call(sm.functions.stakeOf(attacker)) == 4 * WAD
        for op in honest:
            assert tn.net.chain.call(sm.functions.stakeOf(op)) == cfg.stake_wad * WAD
        accuracy = [row.accuracy for row in tn.rows()]
        assert all(a is not None for a in accuracy)
        assert accuracy == sorted(accuracy) and len(set(accuracy)) == 3, accuracy
        # every node (and the watcher) rebuilt every epoch's model and found it right
        checks = tn.node_events("checked")
        assert checks and all(ev["model_matches"] and not ev["wrong_rows"] for _, ev in checks)
