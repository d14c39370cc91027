"""Nobody stalls an epoch by staying silent (DESIGN.md "Liveness"): one operator commits
its update in every epoch and never serves it; every epoch completes without it and
nobody is slashed for it. In epoch 2 the drawn aggregator drops attestations to leave an
available operator out: the watcher proves the exclusion with the attestations it holds,
the result is voided, the aggregator slashed, and the next aggregator includes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from p2pfl.chain.slashing import SlashReason
from p2pfl.events import Attested, Availability
from p2pfl.testnet.cheat import Cheat
from p2pfl.testnet.network import TestnetConfig
from tests.e2e.conftest import run_testnet, show

pytestmark = pytest.mark.slow


def test_a_withheld_update_is_left_out_and_a_wrongful_exclusion_is_caught(
    tmp_path: Path,
) -> None:
    cfg = TestnetConfig(
        nodes=7, malicious=0, withhold=1, cheat=Cheat.EXCLUDE, cheat_epochs=[2], epochs=2
    )
    with run_testnet(tmp_path, cfg) as (tn, expectations):
        assert all(x.met for x in expectations), show(expectations)
        (w,) = cfg.withholding_indices
        withholder = tn.net.operators[w].address
        for e in (1, 2):
            rec = tn.history.epochs[e]
            assert withholder in rec.committed  # it committed like everyone
            final = rec.final_result
            assert final is not None
            assert withholder not in final["operators"]
            assert len(final["operators"]) == 6
        # every honest attester could not fetch it, and said so
        missing = {tuple(ev.missing) for name, ev in tn.node_events(Attested) if name != f"node{w}"}
        assert missing == {(withholder,)}
        assert all(ev.excluded == [withholder] for _, ev in tn.node_events(Availability, 1))
        # epoch 2: the cheat's result left out someone else, the exclusion was proven
        rec = tn.history.epochs[2]
        lie, fixed = rec.results[0], rec.results[-1]
        (challenge,) = rec.challenges
        assert challenge["kind"] == "exclusion"
        assert challenge["operator"] not in lie["operators"]
        assert challenge["operator"] in fixed["operators"]
        assert [(s.operator, s.reason) for s in rec.slashes] == [
            (rec.aggregators[0], SlashReason.WRONGFUL_EXCLUSION)
        ]
        assert not tn.history.epochs[1].slashes  # nobody slashed for the withheld update
        assert not any(r.timeouts for r in tn.history.epochs.values())
