"""The testnet's judge (``runner.judge``) on made-up histories: the withholding
expectation counts a withholder's slash for withholding (a timeout, say), but not the
slash for the cheat every node drawn in a cheat epoch is told to do."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from p2pfl.chain.events import EventFollower
from p2pfl.chain.slashing import SlashReason
from p2pfl.protocol.history import EpochRecord, History, Slash
from p2pfl.testnet.cheat import Cheat
from p2pfl.testnet.network import Devnet, TestnetConfig
from p2pfl.testnet.runner import Testnet, judge
from tests.protocol.fakes import operator_account

CFG = TestnetConfig(
    nodes=7, malicious=0, withhold=1, cheat=Cheat.EXCLUDE, cheat_epochs=[2], epochs=2
)
WITHHOLDING = "every epoch completed without the withholding operators"


def _testnet(slashes: dict[int, list[Slash]], withholder_included: bool = False) -> Testnet:
    ops = [
        SimpleNamespace(index=i, address=operator_account(i).address, attack=None)
        for i in range(CFG.nodes)
    ]
    watcher = SimpleNamespace(index=99, address=operator_account(99).address, attack=None)
    (w,) = CFG.withholding_indices
    history = History(follower=cast(EventFollower, None))
    for e in (1, 2):
        operators = [op.address for op in ops if op.index != w or withholder_included]
        history.epochs[e] = EpochRecord(
            epoch=e,
            aggregators=[ops[w].address, ops[0].address] if e == 2 else [ops[0].address],
            committed=[op.address for op in ops],
            results=[{"operators": operators, "flagged": [], "model": "0x"}],
            challenges=[{"upheld": True, "kind": "exclusion", "challenger": ops[1].address}]
            if e == 2
            else [],
            slashes=slashes.get(e, []),
            finalized_block=10 * e,
        )
    net = SimpleNamespace(operators=ops, watcher=watcher)
    return Testnet(net=cast(Devnet, net), procs={}, history=history)


def _withholding_met(tn: Testnet) -> bool:
    (x,) = [x for x in judge(tn, CFG) if x.what.startswith(WITHHOLDING)]
    return x.met


def test_a_withholder_slashed_for_the_cheat_it_was_told_to_do_is_not_slashed_for_withholding() -> (
    None
):
    withholder = operator_account(CFG.withholding_indices[0]).address
    cheat = Slash(withholder, 10**17, SlashReason.WRONGFUL_EXCLUSION)
    assert _withholding_met(_testnet({2: [cheat]}))
    assert _withholding_met(_testnet({}))


def test_a_withholder_slashed_otherwise_or_included_fails_the_expectation() -> None:
    withholder = operator_account(CFG.withholding_indices[0]).address
    late = Slash(withholder, 10**16, SlashReason.MISSED_DEADLINE)
    assert not _withholding_met(_testnet({1: [late]}))
    assert not _withholding_met(_testnet({2: [late]}))
    excluded_outside_the_cheat_epoch = Slash(withholder, 10**17, SlashReason.WRONGFUL_EXCLUSION)
    assert not _withholding_met(_testnet({1: [excluded_outside_the_cheat_epoch]}))
    assert not _withholding_met(_testnet({}, withholder_included=True))
