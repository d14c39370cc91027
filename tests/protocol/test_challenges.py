"""The node's v2 challenges (``p2pfl.protocol.challenger``) end to end on the fake chain
and mock clock of ``test_epoch_node``: a wrong model is challenged at a wrong leaf, an
update above the norm bound is proven and its owner slashed once, a challenge of a right
row is left to expire (and the result still finalizes), a silent challenger's chunks are
proven by another node, and a challenge that fails on the chain is retried."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trio.testing import MockClock

from p2pfl import evidence
from p2pfl.chain.epochs import Status
from p2pfl.events import (
    Challenged,
    ChallengeFailed,
    ChallengeOpened,
    ChunkProven,
    Done,
    ModelMismatch,
    NormProven,
    NormViolation,
    Submitted,
)
from p2pfl.learn.codec import Update, norm_bound_sq
from p2pfl.protocol.model import GlobalModel
from p2pfl.testnet.adversary import BACKDOOR_ENTRIES, Adversary
from p2pfl.testnet.cheat import Cheat
from tests.protocol.fakes import FakeTrainer, operator_account
from tests.protocol.test_epoch_node import (
    GENESIS,
    Network,
    Node,
    everyone,
    make_node,
    network,
    proofs,  # noqa: F401  (the autouse fixture: no threads, a fake prover)
    run_all,
)


def _posted_update(net: Network, nodes: list[Node], row: int) -> Update:
    """The committed update of row ``row`` of the latest posted result."""
    posted = net.chain.results[-1]
    op = posted.operators[row]
    digest = net.chain.commitment(posted.epoch, op)
    data = nodes[net.index(op)].peer.blobs.store.get(digest)
    assert data is not None
    return Update.from_safetensors(data, GENESIS.spec)


def _wrong_row(net: Network, nodes: list[Node]) -> tuple[int, evidence.SketchEvidence]:
    """The row of the latest posted result whose sketch is wrong, and its evidence."""
    posted = net.chain.results[-1]
    k = net.chain.params().sketch_dim
    for row in range(len(posted.operators)):
        q = _posted_update(net, nodes, row).q
        sk = evidence.sketch_evidence(q, row, posted.sketches[row], posted.seed, k)
        if sk is not None:
            return row, sk
    raise AssertionError("no wrong row")


@pytest.mark.trio
async def test_a_wrong_model_is_challenged_at_a_wrong_leaf_and_the_epoch_rotates(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    cheat = net.aggregator(1, 0)
    tamper = Adversary(cheat_epochs=frozenset({1}), cheat=Cheat.WRONG_MODEL).tamper()
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(4)]
    await run_all(nodes)

    lie, fixed = net.chain.results
    assert lie.sketches == fixed.sketches  # the sketches were right: only the model lied
    assert lie.model_digest != fixed.model_digest
    assert [(s.attempt, s.cheated) for s in nodes[cheat].of(Submitted)] == [(0, True)]
    d = GENESIS.spec.dim
    changed = sorted({t // 64 for t in range(d - BACKDOOR_ENTRIES, d)})
    mismatches = everyone(nodes, ModelMismatch)
    assert mismatches
    assert all(m.wrong_leaves == len(changed) for m in mismatches)
    (ch,) = everyone(nodes, Challenged)
    assert (ch.subject, ch.attempt, ch.upheld, ch.aggregator) == ("model", 0, True, lie.aggregator)
    assert ch.row == changed[0]  # the first leaf the backdoor changed
    ((epoch, leaf, by, upheld),) = net.chain.challenges
    assert (epoch, leaf, upheld) == (1, ch.row, True)
    assert by != lie.aggregator
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 1)
    assert net.chain.latest == fixed.model_digest
    assert not net.chain.sent("open_sketch_challenge")


class _UnclippedTrainer(FakeTrainer):
    """Sends an update far above the norm bound (what an unclipped attack sends)."""

    def update(self, base: GlobalModel, operator: str, epoch: int, n: int, f: int) -> Update:
        self.calls.append((operator, epoch))
        rng = np.random.default_rng(epoch)
        return Update(base.spec, rng.integers(-(1 << 20), 1 << 20, base.spec.dim, dtype=np.int32))


@pytest.mark.trio
async def test_an_update_above_the_norm_bound_is_proven_and_its_owner_slashed_once(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    big = next(i for i in range(4) if i != net.aggregator())
    role = nodes[big].node.operator
    assert role is not None
    role.trainer = _UnclippedTrainer()
    await run_all(nodes)

    assert net.chain.norm_slashes == [(1, net.ops[big])]  # once, whoever proved it
    proven = everyone(nodes, NormProven)
    assert proven
    assert {p.operator for p in proven} == {net.ops[big]}
    assert [p.slashed for p in proven].count(True) == 1
    state = net.chain.norm_proof(1, net.ops[big])
    assert state.sum_of_squares > norm_bound_sq(10.0, GENESIS.spec.dim)
    # The fewest chunks: the bound was passed before every chunk was proven.
    assert bin(state.proven_mask).count("1") <= evidence.live_chunks(GENESIS.spec.dim)
    assert not nodes[big].of(NormProven)  # nobody proves its own update
    assert {r.operator for r in everyone(nodes, NormViolation)} == {net.ops[big]}
    assert net.chain.record(1).status == Status.FINALIZED  # the epoch still completes
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


@pytest.mark.trio
async def test_no_honest_update_is_ever_proven_against(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    await run_all(nodes)
    assert not net.chain.sent("prove_norm_chunk")
    assert not net.chain.norm_slashes
    assert not everyone(nodes, NormViolation)


@pytest.mark.trio
async def test_a_challenge_of_a_right_row_is_left_to_expire_and_the_result_finalizes(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    liar = operator_account(9)  # a watcher with partials that do not sum to the right row
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    opened: list[int] = []

    def lie(node: Node, ev: object) -> None:
        if not isinstance(ev, Submitted) or opened:
            return
        posted = net.chain.results[-1]
        q = _posted_update(net, nodes, 0).q
        k = net.chain.params().sketch_dim
        right = evidence.sketch_evidence(q, 0, [x + 1 for x in posted.sketches[0]], posted.seed, k)
        assert right is not None  # the true partials, against a shifted row: now the lie
        partials = (right.partials[0] + 1, *right.partials[1:])
        bogus = evidence.SketchEvidence(0, tuple(posted.sketches[0]), partials, right.chunks)
        cid, _ = net.chain.open_sketch_challenge(liar, 1, bogus)
        opened.append(cid)

    agg = net.aggregator()
    nodes[agg].probes.append(lie)
    await run_all(nodes)

    (cid,) = opened
    ch = net.chain.sketch_challenges[cid]
    assert ch.closed
    assert ch.proven_mask == (1 << ch.chunks) - (1 << evidence.live_chunks(GENESIS.spec.dim))
    assert not net.chain.sent("prove_chunk")  # nobody helps prove a right row wrong
    assert not everyone(nodes, ChallengeFailed)  # nor tries to
    assert net.chain.challenges == [(1, 0, liar.address, False)]  # forfeited at its deadline
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 0)
    assert len(net.chain.sent("close_sketch_challenge", 1)) == 1
    assert not everyone(nodes, ChallengeOpened)


@pytest.mark.trio
async def test_a_silent_challenger_s_chunks_are_proven_by_another_node(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    cheat = net.aggregator(1, 0)
    tamper = Adversary(cheat_epochs=frozenset({1})).tamper()
    silent = operator_account(9)  # opens the right challenge at once, then goes away
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(4)]
    opened: list[int] = []

    def open_and_vanish(node: Node, ev: object) -> None:
        if not isinstance(ev, Submitted) or opened:
            return
        _, sk = _wrong_row(net, nodes)
        cid, _ = net.chain.open_sketch_challenge(silent, 1, sk)
        opened.append(cid)

    nodes[cheat].probes.append(open_and_vanish)
    await run_all(nodes)

    assert len(opened) == 1
    assert len(net.chain.sketch_challenges) == 1  # nobody opened a second one
    assert not everyone(nodes, ChallengeOpened)
    proofs_sent = everyone(nodes, ChunkProven)
    assert sorted(p.chunk for p in proofs_sent) == list(
        range(evidence.live_chunks(GENESIS.spec.dim))
    )
    assert net.chain.challenges[0][2:] == (silent.address, True)  # the opener is paid
    (won,) = everyone(nodes, Challenged)
    assert won.upheld
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 1)
