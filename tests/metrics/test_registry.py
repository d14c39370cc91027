"""NodeMetrics fed constructed events; the health tracker; the epoch node's phase."""

from __future__ import annotations

from dataclasses import replace

import pytest
from prometheus_client import generate_latest

from p2pfl.chain.epochs import EpochInfo, Status
from p2pfl.events import (
    ChainUnreachable,
    Challenged,
    ChallengeFailed,
    CommitFailed,
    Committed,
    EpochJoined,
    Event,
    Fetched,
    Listening,
    NormProven,
    Ready,
    Submitted,
    TimeoutReported,
    Trained,
    parse,
)
from p2pfl.metrics import Health, HealthTracker, NodeMetrics, Sample
from p2pfl.metrics.registry import PHASES
from p2pfl.protocol.chainview import Snapshot
from p2pfl.protocol.epoch_node import phase_of


def value(m: NodeMetrics, name: str, **labels: str) -> float:
    got = m.registry.get_sample_value(name, labels)
    assert got is not None, f"no sample {name}{labels}"
    return got


def submitted(**kw: object) -> Submitted:
    base = dict(epoch=3, attempt=0, cheated=False, n=8, f=2, model="0x00", gas=1)
    times = dict(fetch_s=0.2, aggregate_s=0.1, prove_s=1.5, submit_s=0.3)
    return Submitted(**{**base, **times, **kw})  # type: ignore[arg-type]


def challenged(upheld: bool) -> Challenged:
    return Challenged(
        epoch=3, attempt=0, row=1, operator="0xa", aggregator="0xb", upheld=upheld, gas=1
    )


LISTENING = Listening(peer_id="p", addrs=[], operator="0x0")


def test_events_move_their_metrics() -> None:
    m = NodeMetrics()
    assert value(m, "p2pfl_commits_total", result="ok") == 0
    m.observe(EpochJoined(epoch=4, members=8, stake=32 * 10**18))
    m.observe(EpochJoined(epoch=3, members=7))  # an older epoch does not move it back
    assert value(m, "p2pfl_epoch") == 4
    assert value(m, "p2pfl_epoch_members") == 7
    m.observe(Committed(epoch=4, seconds=0.4, gas=1))
    m.observe(Committed(epoch=5, seconds=0.4, gas=1))
    m.observe(CommitFailed(epoch=6, error="x"))
    assert value(m, "p2pfl_commits_total", result="ok") == 2
    assert value(m, "p2pfl_commits_total", result="failed") == 1
    m.observe(Trained(epoch=4, seconds=3.0, digest="0x"))
    assert value(m, "p2pfl_train_seconds_count") == 1
    m.observe(submitted())
    assert value(m, "p2pfl_results_submitted_total") == 1
    assert value(m, "p2pfl_proof_seconds_sum") == pytest.approx(1.5)
    assert value(m, "p2pfl_proof_seconds_bucket", le="2.0") == 1
    assert value(m, "p2pfl_proof_seconds_bucket", le="1.0") == 0
    assert value(m, "p2pfl_fetch_seconds_sum", what="updates") == pytest.approx(0.2)
    m.observe(Fetched(digest="0x", bytes=10, seconds=0.03))
    assert value(m, "p2pfl_fetch_seconds_count", what="blob") == 1
    assert value(m, "p2pfl_fetch_seconds_bucket", what="blob", le="0.05") == 1
    m.observe(challenged(True))
    m.observe(challenged(False))
    m.observe(ChallengeFailed(epoch=3, error="late"))
    m.observe(TimeoutReported(epoch=3, aggregator="0xb"))
    proven = dict(epoch=3, operator="0xc", chunk=0, total="9", gas=1)
    m.observe(NormProven(slashed=False, **proven))  # type: ignore[arg-type]
    assert value(m, "p2pfl_slashes_total", reason="norm") == 0
    m.observe(NormProven(slashed=True, **proven))  # type: ignore[arg-type]
    assert value(m, "p2pfl_slashes_total", reason="norm") == 1
    for result in ("upheld", "rejected", "failed"):
        assert value(m, "p2pfl_challenges_total", result=result) == 1
    assert value(m, "p2pfl_slashes_total", reason="cheat") == 1
    assert value(m, "p2pfl_slashes_total", reason="late") == 1
    assert value(m, "p2pfl_events_total", kind="committed") == 2
    assert value(m, "p2pfl_events_total", kind="submitted") == 1


def test_stake_and_event_json_stay_compatible() -> None:
    m = NodeMetrics()
    m.observe(EpochJoined(epoch=1, members=3, stake=32 * 10**18))
    assert value(m, "p2pfl_stake_wei") == 32e18
    old = parse('{"event": "epoch", "time": 1.0, "epoch": 2, "members": 5}')  # no stake
    assert old == EpochJoined(epoch=2, members=5, stake=0)
    assert parse(EpochJoined(epoch=2, members=5, stake=7).line()) == EpochJoined(
        epoch=2, members=5, stake=7
    )


def test_wrap_feeds_the_metrics_and_the_sink() -> None:
    m = NodeMetrics()
    seen: list[Event] = []
    emit = m.wrap(seen.append)
    emit(Committed(epoch=1, seconds=0.1, gas=1))
    assert [type(e) for e in seen] == [Committed]
    assert value(m, "p2pfl_commits_total", result="ok") == 1


def test_the_sampler_is_read_at_scrape_time() -> None:
    m = NodeMetrics()
    text = generate_latest(m.registry).decode()
    assert "p2pfl_peers_connected 0.0" in text
    assert "p2pfl_phase" not in text.replace("# ", "")  # no sampler phase: no series
    state = {"peers": 2}
    m.sampler = lambda: Sample(
        peers=state["peers"],
        blob_stats={"fetched": 3, "fetched-bytes": 600, "served-bytes": 200, "served": 1},
        gossip_accepted={"updates": 4},
        gossip_rejected={"forged": 2, "epoch-window": 1},
        attestations_accepted=6,
        attestations_rejected={"bad-signature": 3},
        attestation_sync={"served": 2, "synced": 5},
        phase="commit",
    )
    state["peers"] = 5
    assert value(m, "p2pfl_peers_connected") == 5
    assert value(m, "p2pfl_blob_bytes_total", direction="in") == 600
    assert value(m, "p2pfl_blob_bytes_total", direction="out") == 200
    assert value(m, "p2pfl_blob_transfers_total", outcome="fetched") == 3
    no_bytes = {"outcome": "fetched-bytes"}
    assert m.registry.get_sample_value("p2pfl_blob_transfers_total", no_bytes) is None
    assert value(m, "p2pfl_gossip_accepted_total", kind="updates") == 4
    assert value(m, "p2pfl_gossip_rejected_total", reason="forged") == 2
    assert value(m, "p2pfl_attestations_accepted_total") == 6
    assert value(m, "p2pfl_attestations_rejected_total", reason="bad-signature") == 3
    assert value(m, "p2pfl_attestation_sync_total", outcome="synced") == 5
    assert value(m, "p2pfl_phase", phase="commit") == 1
    assert value(m, "p2pfl_phase", phase="idle") == 0


def test_health_follows_the_node() -> None:
    now = [100.0]
    tracker = HealthTracker(("p2p", "chain", "trainer"), chain_grace_s=30, clock=lambda: now[0])
    m = NodeMetrics(tracker)

    def statuses(peers: int) -> dict[str, str]:
        return {s.id: s.status for s in tracker.services(peers)}

    assert set(statuses(0).values()) == {"Initializing"}
    assert tracker.health(0) is Health.PARTIAL
    m.observe(LISTENING)
    assert statuses(0) == {"p2p": "Down", "chain": "Up", "trainer": "Initializing"}
    m.observe(Ready(seconds=1.0))
    assert statuses(1) == {"p2p": "Up", "chain": "Up", "trainer": "Up"}
    assert tracker.health(1) is Health.HEALTHY
    assert tracker.health(0) is Health.PARTIAL  # no peers
    m.observe(ChainUnreachable(error="refused", retry_s=1))
    assert statuses(1)["chain"] == "Down"
    assert tracker.health(1) is Health.UNHEALTHY
    m.sampler = lambda: Sample(peers=1)
    assert value(m, "p2pfl_health_status") == 503
    assert value(m, "eigen_performance_score", avs_name="p2pfl") == 0
    now[0] += 31  # no failure for longer than the grace period: up again
    assert tracker.health(1) is Health.HEALTHY
    assert value(m, "eigen_performance_score", avs_name="p2pfl") == 100


INFO = EpochInfo(
    status=Status.OPEN,
    attempt=0,
    open_block=10,
    commit_deadline=20,
    close_block=20,
    submit_deadline=40,
    challenge_deadline=50,
    aggregator="0xa",
    seed=b"",
    base_model=b"",
    model_digest=b"",
    selected_mask=0,
    flag_mask=0,
    total_stake=0,
)


@pytest.mark.parametrize(
    ("status", "block", "phase"),
    [
        (Status.OPEN, 15, "commit"),
        (Status.OPEN, 21, "aggregate"),
        (Status.SUBMITTED, 45, "challenge"),
        (Status.SUBMITTED, 51, "finalize"),
        (Status.FINALIZED, 60, "idle"),
    ],
)
def test_phase_of_a_snapshot(status: Status, block: int, phase: str) -> None:
    snap = Snapshot(block=block, epoch=1, info=replace(INFO, status=status), committed=[])
    assert phase_of(snap) == phase
    assert phase in PHASES
    assert phase_of(Snapshot(block=1, epoch=0, info=None, committed=[])) == "idle"


def test_phase_of_an_epoch_whose_commit_phase_closed_early() -> None:
    info = replace(INFO, close_block=14)  # every member committed in block 14
    members = ["0x1", "0x2", "0x3"]
    assert phase_of(Snapshot(block=15, epoch=1, info=info, committed=members)) == "aggregate"
    assert phase_of(Snapshot(block=14, epoch=1, info=info, committed=members), 3) == "aggregate"
    early = replace(INFO, close_block=20)
    assert phase_of(Snapshot(block=14, epoch=1, info=early, committed=members[:2]), 3) == "commit"
