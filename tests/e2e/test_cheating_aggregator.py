"""A cheating aggregator posts a wrong sketch for an honest operator (framing it as an
outlier, with a valid proof over the wrong sketches): the watcher opens a chunked sketch
challenge inside the window and proves every chunk, each transaction under 128 KB; the
result is voided, the aggregator slashed, and the epoch completes under the next
aggregator without slashing the framed operator."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.chain.slashing import SlashReason
from p2pfl.events import ChallengeOpened, Submitted
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_watcher_catches_a_cheating_aggregator(tmp_path: Path) -> None:
    # One Gaussian attacker keeps the flags meaningful (see README, trust limits: with no
    # outlier at all, the z-score rule can flag the most distant honest operator).
    cfg = TestnetConfig(nodes=6, malicious=1, cheat_epochs=[1], epochs=1)
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        rec = tn.history.epochs[1]
        cheater = rec.aggregators[0]
        assert len(rec.results) == 2  # the voided result and the honest one
        posted_wrong = rec.results[0]
        attacker = tn.net.operators[-1].address
        # the lie flags one honest operator (and may let the attacker pass)
        framed = [v for v in posted_wrong["flagged"] if v not in (cheater, attacker)]
        assert len(framed) == 1
        (challenge,) = rec.challenges
        assert (challenge["kind"], challenge["upheld"]) == ("sketch", True)
        assert challenge["challenger"] == tn.net.watcher.address
        assert rec.voided == 1
        # the cheater loses 10 %; the flagged attacker is excluded, not slashed for the flag
        # (default 0), but for its update above the norm bound (proven on chain)
        assert sorted((s.operator, s.reason) for s in rec.slashes) == sorted(
            [(cheater, SlashReason.WRONG_SKETCH), (attacker, SlashReason.NORM_VIOLATION)]
        )
        opened = [ev for _, ev in tn.node_events(ChallengeOpened, 1)]
        assert [ev.operator for ev in opened] == [posted_wrong["operators"][challenge["row"]]]
        assert all(ev.calldata < 128 * 1024 for ev in opened)
        # the voided cheater never gets the epoch back (protocol.md §1.10)
        assert rec.aggregators[1] != cheater
        assert rec.results[1]["aggregator"] == rec.aggregators[1]
        assert rec.results[1]["flagged"] == [attacker]  # the framed operator is not flagged
        (cheat_event,) = [ev for _, ev in tn.node_events(Submitted, 1) if ev.cheated]
        # the challenge landed inside the window
        epochs = tn.net.chain.contract("EpochManager", tn.net.deployment.avs.epoch_manager)
        assert rec.blocks["SketchChallengeOpened"] <= rec.results[0]["block"] + cfg.challenge_blocks
        assert cheat_event.n == 6
        assert tn.net.chain.call(epochs.functions.owed(tn.net.watcher.address)) > 0  # the bond
