"""6 nodes, 1 Gaussian attacker, 3 epochs, and a cheating aggregator that posts a
backdoored model in epoch 2: the attacker is flagged (so excluded) every epoch and slashed
by an on-chain norm proof of its update, never by the flags (default 0); the wrong model
is challenged at a wrong leaf, the aggregator slashed and the epoch completed by the next;
no honest operator is slashed, and the model improves every epoch."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from p2pfl.chain.deploy import WAD
from p2pfl.chain.slashing import SlashReason
from p2pfl.events import Checked, ElectionMismatch, NormProven
from p2pfl.testnet.cheat import Cheat
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_gaussian_attacker_is_norm_slashed_and_a_wrong_model_is_caught(tmp_path: Path) -> None:
    cfg = TestnetConfig(
        nodes=6,
        malicious=1,
        attack="gaussian",
        cheat_epochs=[2],
        cheat=Cheat.WRONG_MODEL,
        epochs=3,
    )
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        attacker = tn.net.operators[-1].address
        honest = {op.address for op in tn.net.operators[:-1]}
        cheaters = set()
        for e in (1, 2, 3):
            rec = tn.history.epochs[e]
            result = rec.final_result
            assert result is not None
            assert rec.done
            assert result["flagged"] == [attacker], f"epoch {e}: {result['flagged']}"
            assert attacker not in result["selected"]
            norm = [s for s in rec.slashes if s.reason is SlashReason.NORM_VIOLATION]
            assert [s.operator for s in norm] == [attacker], f"epoch {e}: {rec.slashes}"
            cheat = [s for s in rec.slashes if s.reason is SlashReason.WRONG_MODEL]
            if e == 2:
                (slash,) = cheat
                assert slash.operator == rec.aggregators[0]
                assert rec.voided == 1
                assert [c["kind"] for c in rec.challenges if c["upheld"]] == ["model"]
                cheaters.add(slash.operator)
            else:
                assert not cheat
                assert not rec.voided
        # The attacker lost 10 % three times (no flag slash), the epoch-2 aggregator 10 %
        # for its model (and 10 % a time more if it was the attacker); the rest untouched.
        sm = tn.net.chain.contract("P2pflServiceManager", tn.net.deployment.avs.service_manager)
        assert tn.net.chain.call(sm.functions.stakeOf(attacker)) < 24 * WAD
        for op in honest - cheaters:
            assert tn.net.chain.call(sm.functions.stakeOf(op)) == cfg.stake_wad * WAD
        proven = [ev for _, ev in tn.node_events(NormProven)]
        assert {ev.operator for ev in proven} == {attacker}
        accuracy = [row.accuracy or 0.0 for row in tn.rows()]
        assert all(later > earlier for earlier, later in itertools.pairwise(accuracy)), accuracy
        assert not tn.node_events(ElectionMismatch)  # every node computed the same one
        checks = [ev for _, ev in tn.node_events(Checked)]
        assert checks
        # every node rebuilt every standing model and found it right; only the backdoored
        # one (epoch 2, attempt 0) differed
        wrong = {(ev.epoch, ev.attempt) for ev in checks if not ev.model_matches}
        assert wrong == {(2, 0)}
        assert not any(ev.wrong_rows for ev in checks)
