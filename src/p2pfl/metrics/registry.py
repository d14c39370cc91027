"""A node's Prometheus metrics: fed by its event stream (:meth:`NodeMetrics.observe`,
:meth:`NodeMetrics.wrap`) and, for what no event carries, by a sampler read at scrape
time. Each instance owns its registry (never the process-global one)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from p2pfl.events import (
    Challenged,
    ChallengeFailed,
    CommitFailed,
    Committed,
    Emit,
    EpochJoined,
    Event,
    Fetched,
    NormProven,
    Submitted,
    TimeoutReported,
    Trained,
)
from p2pfl.metrics.health import Health, HealthTracker
from p2pfl.metrics.sample import Sample, Sampler

NS = "p2pfl"
AVS_NAME = "p2pfl"
# Seconds: a 190 KB update on loopback takes ~10 ms, a slow peer up to the transfer
# timeout; proofs take 0.5 s (n = 10) to minutes (large n, a loaded machine).
FETCH_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
PROOF_BUCKETS = (0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
TRAIN_BUCKETS = (0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)
# The values of EpochNode.phase (p2pfl.protocol.epoch_node.phase_of).
PHASES = ("starting", "idle", "commit", "aggregate", "challenge", "finalize")
_SCORE = {Health.HEALTHY: 100.0, Health.PARTIAL: 50.0, Health.UNHEALTHY: 0.0}


class NodeMetrics:
    def __init__(self, health: HealthTracker | None = None) -> None:
        self.registry = CollectorRegistry()
        self.health = health or HealthTracker()
        self.sampler: Sampler | None = None
        self._epoch = 0
        r = self.registry
        self.events = Counter(
            f"{NS}_events", "Events the node reported, by kind", ["kind"], registry=r
        )
        self.epoch = Gauge(f"{NS}_epoch", "The latest epoch the node joined", registry=r)
        self.members = Gauge(
            f"{NS}_epoch_members", "Operators in the latest epoch's roster", registry=r
        )
        self.stake = Gauge(
            f"{NS}_stake_wei", "This operator's stake in the latest epoch's roster", registry=r
        )
        self.fetch_seconds = Histogram(
            f"{NS}_fetch_seconds",
            "Fetch durations: one blob (what=blob), or every update an aggregation needs "
            "(what=updates)",
            ["what"],
            buckets=FETCH_BUCKETS,
            registry=r,
        )
        self.proof_seconds = Histogram(
            f"{NS}_proof_seconds", "Krum proof generation time", buckets=PROOF_BUCKETS, registry=r
        )
        self.train_seconds = Histogram(
            f"{NS}_train_seconds",
            "Local training time per update",
            buckets=TRAIN_BUCKETS,
            registry=r,
        )
        self.commits = Counter(
            f"{NS}_commits",
            "Update commitments sent, by result (ok, failed)",
            ["result"],
            registry=r,
        )
        self.results = Counter(
            f"{NS}_results_submitted",
            "Aggregation results this node proved and submitted",
            registry=r,
        )
        self.challenges = Counter(
            f"{NS}_challenges",
            "Challenges this node sent, by result (upheld, rejected, failed)",
            ["result"],
            registry=r,
        )
        self.slashes = Counter(
            f"{NS}_slashes",
            "Slashes this node triggered, by reason (cheat: an upheld challenge; "
            "norm: a norm proof; late: a reported timeout)",
            ["reason"],
            registry=r,
        )
        for what in ("blob", "updates"):
            self.fetch_seconds.labels(what)
        for result in ("ok", "failed"):
            self.commits.labels(result)
        for result in ("upheld", "rejected", "failed"):
            self.challenges.labels(result)
        for reason in ("cheat", "norm", "late"):
            self.slashes.labels(reason)
        r.register(_LiveCollector(self))

    # ------------------------------------------------------------------ events
    def wrap(self, emit: Emit) -> Emit:
        """``emit`` that also feeds these metrics (first, so a failing sink loses none)."""

        def both(event: Event) -> None:
            self.observe(event)
            emit(event)

        return both

    def observe(self, event: Event) -> None:
        self.events.labels(event.kind).inc()
        self.health.observe(event)
        if isinstance(event, EpochJoined):
            self._epoch = max(self._epoch, event.epoch)
            self.epoch.set(self._epoch)
            self.members.set(event.members)
            self.stake.set(event.stake)
        elif isinstance(event, Fetched):
            self.fetch_seconds.labels("blob").observe(event.seconds)
        elif isinstance(event, Trained):
            self.train_seconds.observe(event.seconds)
        elif isinstance(event, Committed):
            self.commits.labels("ok").inc()
        elif isinstance(event, CommitFailed):
            self.commits.labels("failed").inc()
        elif isinstance(event, Submitted):
            self.results.inc()
            self.fetch_seconds.labels("updates").observe(event.fetch_s)
            self.proof_seconds.observe(event.prove_s)
        elif isinstance(event, Challenged):
            self.challenges.labels("upheld" if event.upheld else "rejected").inc()
            if event.upheld:
                self.slashes.labels("cheat").inc()
        elif isinstance(event, ChallengeFailed):
            self.challenges.labels("failed").inc()
        elif isinstance(event, NormProven) and event.slashed:
            self.slashes.labels("norm").inc()
        elif isinstance(event, TimeoutReported):
            self.slashes.labels("late").inc()

    # ------------------------------------------------------------------ live state
    def sample(self) -> Sample:
        return self.sampler() if self.sampler is not None else Sample()

    def health_now(self) -> tuple[Health, Sample]:
        s = self.sample()
        return self.health.health(s.peers), s


class _LiveCollector(Collector):
    """What is read at scrape time: peers, blob and gossip counters, phase, health."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # its families depend on the sample: no collision check at register

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        s = m.sample()
        yield GaugeMetricFamily(f"{NS}_peers_connected", "Connected libp2p peers", s.peers)
        nbytes = CounterMetricFamily(
            f"{NS}_blob_bytes", "Blob bytes fetched (in) and served (out)", labels=["direction"]
        )
        nbytes.add_metric(["in"], s.blob_stats.get("fetched-bytes", 0))
        nbytes.add_metric(["out"], s.blob_stats.get("served-bytes", 0))
        yield nbytes
        yield _counts(
            "blob_transfers",
            "Blob transfers by outcome (fetched, fetch-failed, served, serve-busy, ...)",
            "outcome",
            {k: n for k, n in s.blob_stats.items() if not k.endswith("-bytes")},
        )
        yield _counts(
            "gossip_accepted", "Gossip announcements accepted, by kind", "kind", s.gossip_accepted
        )
        yield _counts(
            "gossip_rejected",
            "Gossip announcements rejected, by reason",
            "reason",
            s.gossip_rejected,
        )
        yield CounterMetricFamily(
            f"{NS}_attestations_accepted",
            "Availability attestations accepted (gossiped or synced from a peer)",
            s.attestations_accepted,
        )
        yield _counts(
            "attestations_rejected",
            "Availability attestations rejected, by reason (gossiped or synced)",
            "reason",
            s.attestations_rejected,
        )
        yield _counts(
            "attestation_sync",
            "Attestation sync (/p2pfl/attest/1) by outcome (served, synced, fetch-failed, ...)",
            "outcome",
            s.attestation_sync,
        )
        if s.phase is not None:
            phase = GaugeMetricFamily(
                f"{NS}_phase", "The latest epoch's phase (1 for the current one)", labels=["phase"]
            )
            for p in PHASES:
                phase.add_metric([p], 1.0 if p == s.phase else 0.0)
            yield phase
        health = m.health.health(s.peers)
        yield GaugeMetricFamily(
            f"{NS}_health_status",
            "The AVS node API's health as its HTTP status (200, 206, 503)",
            int(health),
        )
        score = GaugeMetricFamily(
            "eigen_performance_score",
            "EigenLayer AVS node spec: 100 healthy, 50 partially healthy, 0 unhealthy",
            labels=["avs_name"],
        )
        score.add_metric([AVS_NAME], _SCORE[health])
        yield score


def _counts(name: str, doc: str, label: str, counts: Mapping[str, int]) -> CounterMetricFamily:
    """A counter family with one sample per key of ``counts``, in key order."""
    family = CounterMetricFamily(f"{NS}_{name}", doc, labels=[label])
    for key, n in sorted(counts.items()):
        family.add_metric([key], n)
    return family
