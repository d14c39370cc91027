"""Epoch figures of the local testnet (issue 6), written to ``bench/results/epoch.json``.

Runs the README's testnet (8 nodes, 2 Gaussian attackers, a cheating aggregator in
epoch 2, 5 epochs, 2,000 samples per operator, anvil mining a block per second) and, in
the same process, the same federation in ``p2pfl simulate`` (8 clients, 2 Gaussian,
Multi-Krum on sketches, the same shards and test set) as the baseline of accuracy and
time.

- Epoch wall time per phase (train, commit, attest, fetch, aggregate, prove, submit,
  challenge window) and in total, from the nodes' events; and the period, from one
  epoch's start (the first node to join it) to the next one's, less the challenge
  window's nominal length (its blocks times the block time): the time an epoch takes
  that is not spent waiting for challenges. Goal (issue 15): under 12 s for 8 nodes on 2
  cores in epochs without a challenge.
- Accuracy per epoch against the simulation's per round.
- Gas per epoch (commits, submitResult with the real verifier, the challenge).

Run: ``.venv/bin/python -m bench.epoch``
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from p2pfl.events import EpochJoined
from p2pfl.learn.mnist import load_mnist
from p2pfl.sim.config import SimConfig
from p2pfl.sim.runner import run_rule
from p2pfl.testnet.network import TestnetConfig, start_devnet
from p2pfl.testnet.runner import judge, run

PHASES = (
    "train",
    "commit",
    "attest",
    "fetch",
    "aggregate",
    "prove",
    "submit",
    "challenge_window",
)


def main() -> None:
    cfg = TestnetConfig()
    with tempfile.TemporaryDirectory(prefix="p2pfl-bench-epoch-") as tmp:
        started = time.perf_counter()
        with start_devnet(cfg, Path(tmp), say=print) as net:
            tn = run(net, say=print)
            expectations = judge(tn, cfg)
        wall = time.perf_counter() - started
    rows = tn.rows()
    window_s = cfg.challenge_blocks * cfg.block_time
    starts: dict[int, float] = {}
    for _, ev in tn.node_events(EpochJoined):
        starts[ev.epoch] = min(ev.time, starts.get(ev.epoch, ev.time))
    epochs: list[dict[str, Any]] = []
    for r in rows:
        period = (
            round(starts[r.epoch + 1] - starts[r.epoch], 3)
            if r.epoch in starts and r.epoch + 1 in starts
            else None
        )
        epochs.append(
            {
                "epoch": r.epoch,
                "aggregators": r.aggregators,
                "participants": r.participants,
                "accuracy": r.accuracy,
                "flagged": r.flagged,
                "slashed": r.slashed,
                "challenges": r.challenges,
                "phases_s": {k: r.phases[k] for k in PHASES if k in r.phases},
                "total_s": r.phases.get("total"),
                "total_excluding_window_s": r.seconds_excluding_window,
                "period_s": period,
                "period_excluding_window_s": round(period - window_s, 3) if period else None,
                "gas": r.gas,
            }
        )
    excl = [e["total_excluding_window_s"] for e in epochs if e["total_excluding_window_s"]]
    normal = [e["total_excluding_window_s"] for e in epochs if e["total_s"] and not e["challenges"]]
    periods = [
        e["period_excluding_window_s"]
        for e in epochs
        if e["period_excluding_window_s"] is not None and not e["challenges"]
    ]
    print("simulating the same federation as the baseline")
    sim_cfg = SimConfig(
        clients=cfg.nodes,
        byzantine=cfg.malicious,
        attack=cfg.attack,
        f=cfg.max_byzantine,
        rounds=cfg.epochs,
        samples_per_client=cfg.samples,
        test_samples=2000,
    )
    t0 = time.perf_counter()
    sim = run_rule(sim_cfg, "multikrum", load_mnist())
    sim_s = time.perf_counter() - t0
    acc = [e["accuracy"] for e in epochs]
    sim_acc = [r.accuracy for r in sim.rounds]
    mean_epoch = statistics.mean(excl) if excl else None
    payload = {
        "command": ".venv/bin/python -m bench.epoch",
        "config": cfg.model_dump(),
        "expectations_met": all(x.met for x in expectations),
        "expectations": [{"what": x.what, "met": x.met, "detail": x.detail} for x in expectations],
        "epochs": epochs,
        "mean_epoch_excluding_window_s": round(mean_epoch, 3) if mean_epoch else None,
        "max_epoch_excluding_window_s": max(excl) if excl else None,
        "mean_epoch_without_challenge_s": round(statistics.mean(normal), 3) if normal else None,
        "challenge_window_nominal_s": window_s,
        "mean_period_excluding_window_without_challenge_s": round(statistics.mean(periods), 3)
        if periods
        else None,
        "max_period_excluding_window_without_challenge_s": max(periods) if periods else None,
        "goal_period_under_12s": bool(periods) and max(periods) < 12,
        "mean_phase_s": {
            k: round(statistics.mean(e["phases_s"][k] for e in epochs if k in e["phases_s"]), 3)
            for k in PHASES
            if any(k in e["phases_s"] for e in epochs)
        },
        "accuracy": {
            "testnet": acc,
            "simulate": sim_acc,
            "difference_final": round((acc[-1] or 0) - sim_acc[-1], 4) if acc else None,
        },
        "simulate_seconds_per_round": round(sim_s / cfg.epochs, 3),
        "epoch_to_simulated_round_ratio": round(mean_epoch / (sim_s / cfg.epochs), 2)
        if mean_epoch
        else None,
        "gas_per_epoch": [
            {
                "epoch": e["epoch"],
                "commit_each": e["gas"].get("commit"),
                "submit": e["gas"].get("submit"),
                "challenge": e["gas"].get("challenge"),
            }
            for e in epochs
        ],
        "testnet_wall_s": round(wall, 1),
    }
    path = write_result("epoch", payload)
    print(f"wrote {path}")
    for key in (
        "mean_epoch_excluding_window_s",
        "max_epoch_excluding_window_s",
        "mean_period_excluding_window_without_challenge_s",
        "max_period_excluding_window_without_challenge_s",
        "mean_phase_s",
    ):
        print(key, payload[key])
    print("accuracy", payload["accuracy"])


if __name__ == "__main__":
    main()
