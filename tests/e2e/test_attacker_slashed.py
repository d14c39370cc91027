"""6 nodes, 1 Gaussian attacker, 3 epochs: the attacker is flagged and slashed in every
epoch, no honest operator is slashed, and the model improves every epoch."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from p2pfl.chain.deploy import WAD
from p2pfl.events import Checked, ElectionMismatch
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_gaussian_attacker_is_flagged_and_slashed(tmp_path: Path) -> None:
    # IID shards: the one setting where a deployment may slash flags (default 0)
    cfg = TestnetConfig(
        nodes=6, malicious=1, attack="gaussian", cheat_epochs=[], epochs=3, flag_slash_pct=50
    )
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        attacker = tn.net.operators[-1].address
        honest = {op.address for op in tn.net.operators[:-1]}
        for e in (1, 2, 3):
            rec = tn.history.epochs[e]
            result = rec.final_result
            assert result is not None
            assert rec.done
            assert result["flagged"] == [attacker], f"epoch {e}: {result['flagged']}"
            assert attacker not in result["selected"]
            assert {s.operator for s in rec.slashes} == {attacker}
        # slashed three times by half: 32 -> 4 stake; honest stakes untouched
        sm = tn.net.chain.contract("P2pflServiceManager", tn.net.deployment.avs.service_manager)
        assert tn.net.chain.call(sm.functions.stakeOf(attacker)) == 4 * WAD
        for op in honest:
            assert tn.net.chain.call(sm.functions.stakeOf(op)) == cfg.stake_wad * WAD
        accuracy = [row.accuracy or 0.0 for row in tn.rows()]
        assert all(later > earlier for earlier, later in itertools.pairwise(accuracy)), accuracy
        # every node (and the watcher) rebuilt every epoch's model and found it right
        assert not tn.node_events(ElectionMismatch)  # every node computed the same one
        checks = tn.node_events(Checked)
        assert checks
        assert all(ev.model_matches and not ev.wrong_rows for _, ev in checks)
