"""The epoch node (``p2pfl.protocol.epoch_node.EpochNode``) driven end to end through its
roles, against the in-memory chain and peers of ``tests.protocol.fakes`` on trio's
autojumping mock clock: one block per mock second, no anvil, no libp2p hosts, no real
sleeping.

Two things below the unit boundary are replaced for every test: the prover (the real
one needs bb) and ``blocking`` (the worker threads the node runs chain calls and
training in). On an autojumping clock a worker thread lets the clock jump while it runs,
so blocks would pass nondeterministically during a training step; run inline, every
chain call and computation takes no mock time and each run is repeatable."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import trio
from eth_account.signers.local import LocalAccount
from libp2p.peer.id import ID
from trio.testing import MockClock

import p2pfl.protocol.aggregator
import p2pfl.protocol.blobs
import p2pfl.protocol.context
import p2pfl.protocol.operator
import p2pfl.protocol.watcher
from p2pfl.chain.epochs import NO_AGGREGATOR, Params, Status
from p2pfl.events import (
    Attested,
    ChainUnreachable,
    Challenged,
    Checked,
    Committed,
    Done,
    ElectionMismatch,
    EpochJoined,
    Event,
    Fault,
    Finalized,
    NormViolation,
    Submitted,
    TimeoutReported,
    Trained,
)
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update, norm_bound_sq
from p2pfl.net.blob import BlobStore
from p2pfl.net.errors import BlobUnavailableError
from p2pfl.net.peer import Peer
from p2pfl.protocol.epoch_node import EpochNode
from p2pfl.protocol.epochbook import EpochState
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.options import NodeOptions, Tamper
from p2pfl.protocol.state import STATE_FILE, StateFile, unrevealed
from p2pfl.testnet.adversary import Adversary
from p2pfl.zk.inputs import public_inputs
from p2pfl.zk.prover import Proof
from tests.protocol.fakes import (
    EPOCH_MANAGER,
    FakeChain,
    FakeTrainer,
    FakeView,
    Swarm,
    block_now,
    fake_update,
    operator_account,
    peer_id_of,
    seed_of,
)

GENESIS = GlobalModel.genesis(0)
STAKES = (100, 250, 150, 300, 200)
E = TypeVar("E", bound=Event)


# ---------------------------------------------------------------------------- harness


@dataclass
class Proofs:
    requests: list[tuple[int, int]] = field(default_factory=list)  # (n, k) per proof


@pytest.fixture(autouse=True)
def proofs(monkeypatch: pytest.MonkeyPatch) -> Proofs:
    """No worker threads (see the module docstring) and a fake prover."""

    async def inline(fn: Callable[[], Any]) -> Any:
        await trio.lowlevel.checkpoint()
        return fn()

    for module in (
        p2pfl.protocol.context,
        p2pfl.protocol.operator,
        p2pfl.protocol.aggregator,
        p2pfl.protocol.watcher,
        p2pfl.protocol.challenger,
        p2pfl.protocol.blobs,
    ):
        monkeypatch.setattr(module, "blocking", inline)
    made = Proofs()

    async def prove(n: int, k: int, inputs: dict[str, Any], timeout: float = 300) -> Proof:
        await trio.lowlevel.checkpoint()
        made.requests.append((n, k))
        return Proof(b"\x0f" * 64, public_inputs(inputs), execute_ms=1, prove_ms=1)

    monkeypatch.setattr(p2pfl.protocol.aggregator, "prove_async", prove)
    return made


@dataclass
class Network:
    chain: FakeChain
    swarm: Swarm
    accounts: list[LocalAccount]
    pids: list[ID]
    tmp: Path

    @property
    def ops(self) -> list[str]:
        return [str(a.address) for a in self.accounts]

    def index(self, operator: str) -> int:
        return self.ops.index(operator)

    def aggregator(self, epoch: int = 1, attempt: int = 0) -> int:
        """The index of the operator the seed draws (known to the test in advance)."""
        return self.index(self.chain.drawn(epoch, attempt))


def network(tmp: Path, n: int, params: Params | None = None) -> Network:
    accounts = [operator_account(i) for i in range(n)]
    pids = [peer_id_of(i) for i in range(n)]
    chain = FakeChain(
        {str(a.address): STAKES[i % len(STAKES)] for i, a in enumerate(accounts)},
        {str(a.address): pid.to_bytes() for a, pid in zip(accounts, pids, strict=True)},
        GENESIS.digest,
        params,
    )
    return Network(chain, Swarm(), accounts, pids, tmp)


@dataclass
class Node:
    i: int
    me: str
    node: EpochNode
    view: FakeView
    peer: Peer
    trainer: FakeTrainer
    data_dir: Path
    events: list[Event]
    probes: list[Callable[[Node, Event], None]]

    def emit(self, event: Event) -> None:
        self.events.append(event)
        for probe in self.probes:
            probe(self, event)

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def board(self) -> Any:
        return self.peer.board


def make_node(net: Network, i: int, tamper: Tamper | None = None, **options: Any) -> Node:
    data_dir = net.tmp / f"node{i}"
    peer = net.swarm.peer(net.pids[i], data_dir / "blobs")
    if (data_dir / STATE_FILE).exists():  # as the runtime does on a restart
        peer.blobs.held |= unrevealed(StateFile(data_dir, net.ops[i], EPOCH_MANAGER).state)
    view = FakeView(net.chain)
    trainer = FakeTrainer()
    opts = NodeOptions(data_dir=data_dir, **options)
    box: list[Node] = []
    node = EpochNode(view, net.accounts[i], peer, trainer, opts, lambda ev: box[0].emit(ev), tamper)
    out = Node(i, net.ops[i], node, view, peer, trainer, data_dir, [], [])
    box.append(out)
    return out


async def run_all(nodes: list[Node], limit_s: float = 400.0) -> None:
    """Run the nodes until every one returns (``stop_after``); fails after ``limit_s``
    of mock time (a hung node: with the autojump clock that takes no real time)."""
    with trio.fail_after(limit_s):
        async with trio.open_nursery() as nursery:
            for n in nodes:
                nursery.start_soon(n.node.run)


async def run_for(nodes: list[Node], seconds: float) -> None:
    """Run the nodes for ``seconds`` of mock time, then cancel them."""
    with trio.move_on_after(seconds):
        await run_all(nodes)


def everyone(nodes: list[Node], kind: type[E]) -> list[E]:
    return [e for n in nodes for e in n.of(kind)]


def assert_no_faults(nodes: list[Node]) -> None:
    faults = [(n.i, e) for n in nodes for e in n.events if isinstance(e, Fault | ChainUnreachable)]
    assert not faults


# ---------------------------------------------------------------------------- operator


@pytest.mark.trio
async def test_operator_saves_its_digest_before_committing_once_and_announcing_once(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    n = make_node(net, 1)
    at_commit: list[tuple[str | None, bool, str]] = []

    def on_commit(sender: str, epoch: int, digest: bytes) -> None:
        # What is on disk when the commit transaction is sent.
        path = n.data_dir / STATE_FILE
        saved = json.loads(path.read_text())["epochs"] if path.exists() else {}
        stored = (n.data_dir / "blobs" / digest.hex()).exists()
        at_commit.append((saved.get(str(epoch), {}).get("update_digest"), stored, digest.hex()))

    net.chain.on_commit = on_commit
    other = make_node(net, 2)  # only asks for the blob, as a last mover would
    stolen: list[bytes] = []

    async def last_mover() -> None:
        while not net.chain.record(1).commitments:
            await trio.sleep(0.5)
        digest = net.chain.record(1).commitments[n.me]  # public once committed
        with contextlib.suppress(BlobUnavailableError):
            stolen.append(await other.peer.blobs.fetch(digest, [n.peer.net.peer_id]))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(last_mover)
        await run_for([n], 12.0)  # the commit deadline is block 10
    assert stolen == []  # commit-reveal: refused while the commit phase was open
    assert [p for p, _ in net.swarm.held_requests] == [n.peer.net.peer_id]

    (trained,) = n.of(Trained)
    digest = bytes.fromhex(trained.digest[2:])
    assert n.trainer.calls == [(n.me, 1)]
    assert digest == fake_update(GENESIS, n.me, 1).digest
    assert at_commit == [(digest.hex(), True, digest.hex())]
    assert len(n.of(Committed)) == 1
    assert net.chain.sent("commit_update") == [n.me]
    assert net.chain.record(1).commitments == {n.me: digest}
    (ann,) = n.board.published
    assert (ann.kind, ann.epoch, ann.operator, ann.digest) == ("updates", 1, n.me, trained.digest)
    assert ann.signer() == n.me
    assert ann.size == len(n.peer.blobs.store.get(digest) or b"")
    assert n.board.published_at[0] > 10  # revealed once the commit phase closed
    assert digest not in n.peer.blobs.held
    assert [type(e) for e in n.events][:3] == [EpochJoined, Trained, Committed]
    assert_no_faults([n])


# ---------------------------------------------------------------------------- aggregator


@pytest.mark.trio
async def test_a_full_epoch_commits_submits_checks_finalizes_and_every_node_stops(
    autojump_clock: MockClock, tmp_path: Path, proofs: Proofs
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    await run_all(nodes)

    assert sorted(net.chain.sent("commit_update", 1)) == sorted(net.ops)
    (sub,) = everyone(nodes, Submitted)
    assert nodes[agg].of(Submitted) == [sub]
    assert (sub.attempt, sub.n, sub.f, sub.cheated) == (0, 4, 0, False)
    assert sub.ahead  # built while the attestations arrived; proven once
    assert proofs.requests == [(4, 64)]
    (posted,) = net.chain.results
    assert posted.aggregator == net.ops[agg]
    assert posted.operators == sorted(net.ops, key=lambda a: int(a, 16))
    assert "0x" + posted.model_digest.hex() == sub.model

    checked = everyone(nodes, Checked)
    assert sorted(net.index(c.aggregator) for c in checked) == [agg] * 3
    assert {n.i for n in nodes if n.of(Checked)} == set(range(4)) - {agg}
    assert all(c.model_matches and not c.wrong_rows for c in checked)

    (fin,) = everyone(nodes, Finalized)
    assert fin.model == sub.model
    assert len(net.chain.sent("finalize", 1)) == 1
    assert net.chain.record(1).status == Status.FINALIZED
    assert "0x" + net.chain.latest.hex() == sub.model
    for n in nodes:
        assert n.events[-1] == Done(epoch=1)
    assert not everyone(nodes, ElectionMismatch)
    assert_no_faults(nodes)


# ---------------------------------------------------------------------------- watcher


@pytest.mark.trio
async def test_a_wrong_sketch_row_is_checked_and_challenged_and_the_epoch_rotates(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    cheat, honest = net.aggregator(1, 0), net.aggregator(1, 1)
    tamper = Adversary(cheat_epochs=frozenset({1})).tamper()
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(4)]
    await run_all(nodes)

    lie, fixed = net.chain.results
    assert (lie.aggregator, fixed.aggregator) == (net.ops[cheat], net.ops[honest])
    (victim,) = [r for r in range(4) if lie.sketches[r] != fixed.sketches[r]]
    assert [(s.attempt, s.cheated) for s in nodes[cheat].of(Submitted)] == [(0, True)]
    assert [(s.attempt, s.cheated) for s in nodes[honest].of(Submitted)] == [(1, False)]

    first = [c for c in everyone(nodes, Checked) if c.attempt == 0]
    assert len(first) == 3
    assert all(c.wrong_rows == [victim] and not c.model_matches for c in first)
    (ch,) = everyone(nodes, Challenged)
    assert (ch.attempt, ch.row, ch.upheld) == (0, victim, True)
    assert (ch.operator, ch.aggregator) == (lie.operators[victim], net.ops[cheat])
    ((epoch, row, by, upheld),) = net.chain.challenges
    assert (epoch, row, upheld) == (1, victim, True)
    assert by != net.ops[cheat]

    second = [c for c in everyone(nodes, Checked) if c.attempt == 1]
    assert len(second) == 3
    assert all(c.model_matches for c in second)
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 1)
    assert net.chain.latest == fixed.model_digest
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


# ---------------------------------------------------------------------------- timeout


@pytest.mark.trio
async def test_a_silent_aggregator_is_reported_and_its_successor_finishes_the_epoch(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    absent, successor = net.aggregator(1, 0), net.aggregator(1, 1)
    # it commits, then goes silent (only operators that committed are drawn); its update
    # is left out as unavailable
    net.chain.commit_update(net.accounts[absent], 1, keccak256(b"gone"))
    nodes = [make_node(net, i, stop_after=1) for i in range(4) if i != absent]
    await run_all(nodes)

    assert net.chain.timeouts == [(1, net.ops[absent])]
    (reported,) = everyone(nodes, TimeoutReported)
    assert reported.aggregator == net.ops[absent]
    by = next(n for n in nodes if n.of(TimeoutReported))
    assert by.i == successor  # the designated stand-in acts at once, the others wait
    (sub,) = everyone(nodes, Submitted)
    assert by.of(Submitted) == [sub]
    assert (sub.attempt, sub.n) == (1, 3)
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt, rec.aggregator) == (Status.FINALIZED, 1, net.ops[successor])
    assert "0x" + net.chain.latest.hex() == sub.model
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


@pytest.mark.trio
async def test_an_operator_that_did_not_commit_is_never_drawn(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    """The operator the seed would draw from the whole roster is offline and never
    commits: the draw is over the operators that committed, so the epoch finishes at its
    first attempt, with nobody reported or slashed."""
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    offline = net.aggregator(1, 0)  # the roster's draw (the fake assumes all will commit)
    nodes = [make_node(net, i, stop_after=1) for i in range(4) if i != offline]
    await run_all(nodes)

    assert not net.chain.timeouts
    (sub,) = everyone(nodes, Submitted)
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt, sub.attempt, sub.n) == (Status.FINALIZED, 0, 0, 3)
    assert rec.aggregator != net.ops[offline]
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


@pytest.mark.trio
async def test_a_timeout_on_the_last_attempt_skips_the_epoch(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4, Params(max_attempts=1))
    net.chain.open_epoch(net.accounts[0])
    absent = net.aggregator(1, 0)
    net.chain.commit_update(net.accounts[absent], 1, keccak256(b"gone"))  # then silent
    nodes = [make_node(net, i, stop_after=1) for i in range(4) if i != absent]
    await run_all(nodes)

    assert net.chain.timeouts == [(1, net.ops[absent])]
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 0)  # skipped, not rotated
    assert not net.chain.results
    assert not everyone(nodes, Submitted)
    assert net.chain.latest == GENESIS.digest
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


@pytest.mark.trio
async def test_the_last_commit_closes_the_phase_and_updates_are_revealed_then(
    autojump_clock: MockClock, tmp_path: Path, proofs: Proofs
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    commits: list[int] = []
    net.chain.on_commit = lambda sender, epoch, digest: commits.append(block_now())
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    await run_all(nodes)

    rec = net.chain.record(1)
    assert rec.close_block == max(commits) < rec.commit_deadline  # closed early
    assert rec.submit_deadline == rec.close_block + net.chain.p.submit_blocks
    revealed = [b for n in nodes for a, b in zip(n.board.published, n.board.published_at,
                                                 strict=True) if a.kind == "updates"]  # fmt: skip
    assert len(revealed) == 4
    assert min(revealed) >= rec.close_block  # commit-reveal: nothing before the close
    (posted,) = net.chain.results
    assert posted.block < rec.commit_deadline  # nobody waited out the commit window
    assert posted.seed == seed_of(1)
    assert rec.aggregator == net.chain.drawn(1, 0) == posted.aggregator
    assert not everyone(nodes, ElectionMismatch)
    assert_no_faults(nodes)


# ---------------------------------------------------------------------------- restart


def _crashed_before(net: Network, i: int) -> tuple[Path, bytes]:
    """Node ``i``'s data directory as a crash after saving its update left it: the
    update's blob stored, its digest in the state file. The update is not the one the
    trainer would build now (as after a change of data or code): a node that trained
    again would commit another digest."""
    data_dir = net.tmp / f"node{i}"
    update = fake_update(GENESIS, net.ops[i], 1, salt=7)
    BlobStore(data_dir / "blobs").put(update.digest, update.to_safetensors())
    state = StateFile(data_dir, net.ops[i], EPOCH_MANAGER)
    state.of(1).update_digest = update.digest.hex()
    state.save()
    return data_dir, update.digest


@pytest.mark.trio
async def test_a_restarted_node_resends_its_saved_digest_and_does_not_train_again(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    _, saved = _crashed_before(net, 2)
    n = make_node(net, 2)
    assert saved in n.peer.blobs.held  # held from the start: not revealed before the crash
    await run_for([n], 12.0)

    assert n.trainer.calls == []
    assert not n.of(Trained)
    assert len(n.of(Committed)) == 1
    assert net.chain.record(1).commitments == {n.me: saved}
    (ann,) = n.board.published
    assert ann.digest == "0x" + saved.hex()
    assert n.board.published_at[0] > 10
    assert_no_faults([n])


@pytest.mark.trio
async def test_a_node_restarted_after_its_commit_only_announces(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    _, saved = _crashed_before(net, 2)
    net.chain.commit_update(net.accounts[2], 1, saved)  # mined before the crash
    n = make_node(net, 2)
    assert saved in n.peer.blobs.held
    await run_for([n], 12.0)

    assert n.trainer.calls == []
    assert not n.of(Trained)
    assert not n.of(Committed)
    assert net.chain.sent("commit_update") == [n.me]
    (ann,) = n.board.published
    assert ann.digest == "0x" + saved.hex()
    assert_no_faults([n])


# ---------------------------------------------------------------------------- faults


@pytest.mark.trio
async def test_an_unreachable_chain_is_retried_with_back_off_and_the_epoch_completes(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4, Params(submit_blocks=40))
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    down = nodes[agg]
    # after its commit, before it aggregates: every member commits at once, so the commit
    # phase closes in block 0 (not at the deadline, block 10)
    down.view.outage = (0.25, 10.25)
    await run_all(nodes)

    lost = down.of(ChainUnreachable)
    waits = [e.retry_s for e in lost]
    assert len(lost) >= 4
    assert waits[0] == 0.5
    assert all(a < b for a, b in pairwise(waits))
    assert max(waits) <= 10.0
    assert all("ConnectionError" in e.error for e in lost)
    faults = down.view.snapshot_faults
    gaps = [b - a for a, b in pairwise(faults)]
    assert all(a < b for a, b in pairwise(gaps))  # it backs off
    # Afterwards it does its part: aggregates, submits, and the epoch is finalized.
    after = down.events[down.events.index(lost[-1]) :]
    (sub,) = [e for e in after if isinstance(e, Submitted)]
    assert sub.attempt == 0
    assert net.chain.record(1).status == Status.FINALIZED
    assert "0x" + net.chain.latest.hex() == sub.model
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


@pytest.mark.trio
async def test_faults_in_prefetch_and_in_reading_commitments_do_not_kill_the_node(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    other = (agg + 1) % 4
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    nodes[other].peer.blobs.fail_announced = 2  # type: ignore[attr-defined]
    # Every member commits at once (closed in block 0). The commitments cannot be read
    # until 2.75: the attesters retry until then, and the aggregator, from block 1, fails
    # to build its result ahead of the attestations; it builds again once they are in.
    net.chain.outages["commitment"] = (0.0, 2.75)
    attested_at: list[float] = []  # mock time
    nodes[other].probes.append(
        lambda _n, ev: attested_at.append(trio.current_time()) if isinstance(ev, Attested) else None
    )
    await run_all(nodes)

    prefetch = nodes[other].of(Fault)
    # (the second planned failure may never come: the attestation's fetch stores the blob)
    assert prefetch
    assert all((f.task, f.error.split(":")[0]) == ("prefetch 1", "OSError") for f in prefetch)
    assert [f.retry_s for f in prefetch] == [0.5, 1.0][: len(prefetch)]
    (att,) = nodes[other].of(Attested)
    assert att.held == 4
    assert attested_at[0] >= 2.75
    (sub,) = nodes[agg].of(Submitted)
    assert not sub.ahead
    assert sub.n == 4
    (check,) = nodes[other].of(Checked)
    assert check.model_matches
    assert net.chain.record(1).status == Status.FINALIZED
    assert "0x" + net.chain.latest.hex() == sub.model
    assert all(n.events[-1] == Done(epoch=1) for n in nodes)


# ---------------------------------------------------------------------------- memory


@pytest.mark.trio
async def test_after_many_epochs_a_node_holds_nothing_of_old_ones(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    epochs = 5
    net = network(tmp_path, 3)
    nodes = [make_node(net, i, stop_after=epochs) for i in range(3)]
    seen: list[tuple[int, int, str]] = []  # (node, epoch, what was held too long)

    def probe(n: Node, ev: Event) -> None:
        if isinstance(ev, EpochJoined):  # just after the node dropped what came before
            e = ev.epoch
            book = n.node.book
            if len(book) != 1 or e not in book:
                seen.append((n.i, e, f"book of {len(book)} epochs"))
            if [x for x in n.node.ctx.state.state.epochs if x < e - 1]:
                seen.append((n.i, e, "state records"))
            if [x for x in n.view._rosters if x < e]:
                seen.append((n.i, e, "rosters"))
            if [k for k in n.node.duties._due_since if k[1] < e]:
                seen.append((n.i, e, "chore timers"))
        if isinstance(ev, Submitted | Checked):  # long after the join: old tasks are gone
            nursery = n.node._nursery
            assert nursery is not None
            if len(nursery.child_tasks) != 1:  # this epoch's prefetch, nothing else
                seen.append((n.i, ev.epoch, f"{len(nursery.child_tasks)} tasks"))
            if [x for x in n.board.joined_epochs() if x < ev.epoch - 1]:
                seen.append((n.i, ev.epoch, "gossip topics"))

    for n in nodes:
        n.probes.append(probe)
    await run_all(nodes, limit_s=600.0)

    assert [net.chain.record(e).status for e in range(1, epochs + 1)] == [Status.FINALIZED] * 5
    assert len(net.chain.results) == epochs
    assert not seen
    for n in nodes:
        assert n.events[-1] == Done(epoch=epochs)
        assert len(n.of(Committed)) == epochs
        assert len(n.node.book) <= 1
        on_disk = json.loads((n.data_dir / STATE_FILE).read_text())["epochs"]
        assert on_disk
        assert all(int(x) >= epochs - 1 for x in on_disk)
        assert all(x >= epochs - 1 for x in n.node.ctx.state.state.epochs)
        assert not n.view._rosters
        assert all(k[1] > epochs for k in n.node.duties._due_since)
        assert n.board.joined_epochs() in ([epochs], [epochs - 1, epochs])
        assert sorted(n.board.left) == sorted(set(n.board.left))
    assert_no_faults(nodes)


# ---------------------------------------------------------------------------- defects


@pytest.mark.trio
async def test_a_challenge_that_meets_a_connection_error_is_retried(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    cheat = net.aggregator(1, 0)
    tamper = Adversary(cheat_epochs=frozenset({1})).tamper()
    nodes = [make_node(net, i, tamper if i == cheat else None, stop_after=1) for i in range(4)]
    net.chain.fail_next["open_sketch_challenge"] = 1  # the first opener's first try
    net.chain.fail_next["prove_chunk"] = 1  # and the first chunk's
    await run_all(nodes)

    assert len(everyone(nodes, ChainUnreachable)) == 2
    assert [c[3] for c in net.chain.challenges] == [True]
    (opened,) = net.chain.sketch_challenges  # one challenge: nobody opened a second
    assert opened.closed
    assert opened.proven_mask == (1 << opened.chunks) - 1
    lie, fixed = net.chain.results
    rec = net.chain.record(1)
    assert (rec.status, rec.attempt) == (Status.FINALIZED, 1)
    assert rec.sketches == fixed.sketches != lie.sketches


@pytest.mark.trio
async def test_a_restarted_aggregator_whose_old_announcement_came_back_still_aggregates(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    agg = net.aggregator()
    _, saved = _crashed_before(net, agg)
    net.chain.commit_update(net.accounts[agg], 1, saved)  # mined before the crash
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    # Its announcement from before the crash, still in the gossip caches, arrives at its
    # new board as soon as it joins the epoch.
    restarted = nodes[agg]
    size = len(restarted.peer.blobs.store.get(saved) or b"")
    old = restarted.peer.sign(net.accounts[agg].key, "updates", 1, saved, size)
    real_join = restarted.board.join

    async def join(epoch: int, nursery: object) -> None:
        await real_join(epoch, nursery)
        restarted.board.deliver(old)

    restarted.board.join = join
    await run_all(nodes)

    assert not restarted.of(Fault)
    assert [s.attempt for s in restarted.of(Submitted)] == [0]
    assert not net.chain.timeouts


@pytest.mark.trio
async def test_a_rotated_aggregator_is_checked_against_the_election(
    autojump_clock: MockClock, tmp_path: Path
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    computed, first = net.chain.drawn(1, 1), net.chain.drawn(1, 0)
    rigged = next(op for op in net.ops if op not in (computed, first))
    net.chain.rigged[(1, 1)] = rigged
    n = make_node(net, 0)
    st = EpochState(1, frozenset(net.ops))
    open_info = net.chain.epoch(1)
    assert open_info.aggregator == NO_AGGREGATOR  # nobody is drawn before the seed
    n.node._check_election(st, open_info)
    assert n.node._aggregator_at(st, 0) is None  # nor can the node draw one
    st.seed, st.committed = seed_of(1), net.ops  # the commit phase closed
    before = replace(open_info, seed=seed_of(1), aggregator=first)  # the seed recorded
    n.node._check_election(st, before)  # attempt 0: agrees
    n.node._aggregator_at(st, 1)  # what the timeout chore computes (node.py)
    after = replace(before, attempt=1, aggregator=rigged)  # the chain rotated
    n.node._check_election(st, after)
    assert n.of(ElectionMismatch) == [ElectionMismatch(epoch=1, computed=computed, chain=rigged)]


class _UnclippedTrainer(FakeTrainer):
    """Sends an update far above the norm bound (what an unclipped attack sends)."""

    def update(self, base: GlobalModel, operator: str, epoch: int, n: int, f: int) -> Update:
        self.calls.append((operator, epoch))
        rng = np.random.default_rng(epoch)
        return Update(base.spec, rng.integers(-(1 << 20), 1 << 20, base.spec.dim, dtype=np.int32))


@pytest.mark.trio
async def test_an_update_above_the_norm_bound_is_reported_by_every_watcher(
    autojump_clock: MockClock, tmp_path: Path, proofs: Proofs
) -> None:
    net = network(tmp_path, 4)
    net.chain.open_epoch(net.accounts[0])
    nodes = [make_node(net, i, stop_after=1) for i in range(4)]
    big = next(i for i in range(4) if i != net.aggregator())
    role = nodes[big].node.operator
    assert role is not None
    role.trainer = _UnclippedTrainer()
    await run_all(nodes)

    reports = everyone(nodes, NormViolation)
    assert {r.operator for r in reports} == {net.ops[big]}  # nobody else: honest ones pass
    assert len(reports) == 3  # every node but the aggregator checks the result
    bound = norm_bound_sq(10.0, GENESIS.spec.dim)
    assert all(int(r.norm_sq) > bound == int(r.bound_sq) for r in reports)
    assert everyone(nodes, Finalized)  # reported; the epoch still completes
