"""Availability on the fake chain and mock clock of ``test_epoch_node``
(``p2pfl.protocol.availability``): a withheld update is left out and nobody is slashed,
fewer than three available updates give an empty result that skips the epoch, and an
aggregator that drops attestations to leave an available operator out is challenged,
slashed and replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from trio.testing import MockClock

from p2pfl.chain.epochs import Params, Status
from p2pfl.events import (
    Attested,
    Availability,
    Challenged,
    Checked,
    Submitted,
    WrongfulExclusion,
)
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.protocol import attestfile
from p2pfl.protocol.options import Tamper
from p2pfl.testnet.adversary import Adversary
from p2pfl.testnet.cheat import Cheat
from tests.protocol.test_epoch_node import (
    GENESIS,
    Proofs,
    everyone,
    make_node,
    network,
    proofs,  # noqa: F401  (the autouse fixture: no threads, a fake prover)
    run_all,
)

WITHHOLD = Tamper(withhold=True)


@pytest.mark.trio
async def test_a_withheld_update_is_left_out_and_nobody_is_slashed(
    autojump_clock: MockClock,
    tmp_path: Path,
    proofs: Proofs,  # noqa: F811  (the fixture imported above)
) -> None:
    net = network(tmp_path, 5)
    net.chain.open_epoch(net.accounts[0])
    w = (net.aggregator() + 1) % 5  # the withholder is not the aggregator
    nodes = [make_node(net, i, WITHHOLD if i == w else None, stop_after=1) for i in range(5)]
    await run_all(nodes)

    (posted,) = net.chain.results
    others = [net.ops[i] for i in range(5) if i != w]
    assert posted.operators == availability.ordered(others)
    for n in nodes:
        (att,) = n.of(Attested)
        assert att.missing == ([] if n.i == w else [net.ops[w]])  # nobody could fetch it
    (seen,) = nodes[net.aggregator()].of(Availability)
    assert seen.excluded == [net.ops[w]]
    assert seen.attestations == 5
    assert net.chain.record(1).status == Status.FINALIZED
    (sub,) = nodes[net.aggregator()].of(Submitted)
    assert "0x" + net.chain.latest.hex() == sub.model
    # the result built ahead for all five was dropped (never proven) for the four's
    assert not sub.ahead
    assert proofs.requests == [(4, 64)]
    # nobody slashed, nobody challenged: no timeout, no voided result, no norm proof
    assert not net.chain.timeouts
    assert not net.chain.challenges
    assert not net.chain.norm_slashes
    assert not net.chain.exclusions
    assert not [e for n in nodes for e in n.of(WrongfulExclusion)]


@pytest.mark.trio
async def test_the_aggregator_stops_waiting_once_everyone_is_included(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    """A slow attester does not hold up a result that includes everyone without it (it
    cannot include anyone more, and nobody is left out to answer for)."""
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    slow = (agg + 1) % 4
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    board = nodes[slow].peer.attestations
    publish = board.publish

    async def late(att: Attestation) -> None:
        await trio.sleep(5.0)  # within the aggregator's 10 s wait
        await publish(att)

    board.publish = late  # type: ignore[method-assign,assignment]
    await run_all(nodes)

    (seen,) = nodes[agg].of(Availability)
    assert seen.included == 4
    assert seen.attestations == 3  # the slow one's was not waited for (mock time)
    (posted,) = net.chain.results
    assert posted.operators == availability.ordered(net.ops)  # the slow one included too


@pytest.mark.trio
async def test_fewer_than_three_available_give_an_empty_result_and_a_skipped_epoch(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    withholders = {(agg + 1) % 4, (agg + 2) % 4}
    nodes = [
        make_node(net, i, WITHHOLD if i in withholders else None, stop_after=1) for i in range(4)
    ]
    await run_all(nodes)

    (posted,) = net.chain.results
    assert len(posted.operators) == 2
    assert posted.sketches == []
    assert posted.model_digest == GENESIS.digest  # an empty result posts the base model
    (sub,) = nodes[agg].of(Submitted)
    assert sub.n == 2
    assert sub.gas > 0
    assert net.chain.record(1).status == Status.FINALIZED
    assert net.chain.latest == GENESIS.digest  # skipped: the model did not move
    assert not net.chain.timeouts
    assert not net.chain.challenges
    assert not net.chain.exclusions


@pytest.mark.trio
async def test_an_aggregator_that_leaves_an_available_operator_out_is_challenged(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 7, Params(max_byzantine=2))
    net.chain.open_epoch(net.accounts[0])
    cheat = net.aggregator(1, 0)
    tamper = Adversary(cheat_epochs=frozenset({1}), cheat=Cheat.EXCLUDE).tamper()
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(7)]
    await run_all(nodes)

    lie, fixed = net.chain.results
    assert len(lie.operators) == 4  # the victim and the two whose attestations it kept
    assert len(fixed.operators) == 7  # the next aggregator included everyone
    ((epoch, victim, challenger),) = net.chain.exclusions
    assert epoch == 1
    assert victim not in lie.operators
    assert challenger != net.ops[cheat]
    wrongful = everyone(nodes, WrongfulExclusion)
    assert wrongful
    assert all(e.attestations >= availability.exclusion_quorum(2) for e in wrongful)
    upheld = [e for n in nodes for e in n.of(Challenged) if e.subject == "exclusion"]
    assert [e.upheld for e in upheld] == [True]
    assert net.chain.record(1).status == Status.FINALIZED
    assert net.chain.record(1).attempt == 1
    # every node saved the evidence for `p2pfl challenge exclusion` (nodes outside it too)
    for n in nodes:
        saved = attestfile.load(attestfile.path_of(net.tmp / f"node{n.i}", 1))
        committed = net.chain.committed(1)
        support = availability.supporters(committed, saved, victim)
        assert len(support) >= availability.exclusion_quorum(2)


@pytest.mark.trio
async def test_a_node_that_missed_the_attestations_asks_peers_and_still_sees_the_exclusion(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    """One node hears no attestation but its own (as after a restart once they were
    gossiped): at the result check it asks peers for them (``/p2pfl/attest/1``), sees the
    wrongful exclusion, and saves the quorum. Nodes that hold every attestation never ask."""
    net = network(tmp_path, 7, Params(max_byzantine=2))
    net.chain.open_epoch(net.accounts[0])
    cheat = net.aggregator(1, 0)
    deaf = next(i for i in range(7) if i not in (cheat, net.aggregator(1, 1)))  # attests only
    tamper = Adversary(cheat_epochs=frozenset({1}), cheat=Cheat.EXCLUDE).tamper()
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(7)]
    board = net.swarm.attestation_boards[net.pids[deaf]]
    mine = net.ops[deaf]
    heard = board.deliver

    def only_its_own(msg: Attestation) -> None:  # gossip brings it nobody else's
        if msg.operator == mine:
            heard(msg)

    board.deliver = only_its_own  # type: ignore[method-assign]
    await run_all(nodes)

    ((_, victim, _),) = net.chain.exclusions
    node = nodes[deaf]
    assert net.swarm.syncs[net.pids[deaf]].asked == [1]
    (check,) = [c for c in node.of(Checked) if c.attempt == 0]
    others = {tuple(c.excluded) for n in nodes for c in n.of(Checked) if c.attempt == 0}
    assert others == {tuple(check.excluded)}  # the same verdict as every node that heard all
    assert victim in check.excluded
    saved = attestfile.load(attestfile.path_of(net.tmp / f"node{deaf}", 1))
    support = availability.supporters(net.chain.committed(1), saved, victim)
    assert len(support) >= availability.exclusion_quorum(2)
    # the others held every attestation: nothing to ask for
    assert all(not net.swarm.syncs[p].asked for i, p in enumerate(net.pids) if i != deaf)
