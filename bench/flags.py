"""How often the flag rule flags honest operators, and what it does to attackers.

    .venv/bin/python -m bench.flags                       # full figures (~40 min, 2 cores)
    .venv/bin/python -m bench.flags --seeds 2 --attack-seeds 1 --rounds 2   # smoke run

The rule (``p2pfl.robust.sketch_krum``): ``T`` is the largest score Multi-Krum selects;
operator ``i`` is flagged iff ``rho_den * score_i > rho_num * T`` (rho = 3). Flags do
not slash by default (``Params.flag_slash_wad = 0``), so honest slashes with the default
parameters are 0 by construction; what is measured is how often honest operators are
flagged and how close their ``score / T`` comes to rho.

* ``no-attacker``: 10 operators, none Byzantine, f = 3, for IID and Dirichlet
  alpha = 0.5 and 0.1, ``--seeds`` seeds each: honest flag rate, largest honest
  ``score / T``, honest flagged client-rounds (= the slashes v1's 50 % flag slash would
  have made), honest norm violations (must be 0).
* ``attackers``: 3 of 10 Byzantine, every attack of ``p2pfl.robust.attacks.ATTACKS``,
  IID, ``--attack-seeds`` seeds: how often the Byzantine client-rounds are flagged,
  selected, over the norm bound; the honest flag rate in the same runs.

One process, one torch thread. Each client trains on at most ``--samples-per-client``
samples (the cap keeps the default run near 40 minutes); accuracy is not the point.
The JSON is rewritten atomically after every run, so an interrupt keeps finished runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bench.common import RESULTS, machine
from p2pfl.chain.epochs import Params
from p2pfl.jsonfile import write_json
from p2pfl.learn.mnist import Mnist, load_mnist
from p2pfl.robust.attacks import ATTACKS
from p2pfl.sim.config import SimConfig
from p2pfl.sim.runner import RoundResult, RunResult, run_rule, set_threads

CLIENTS = 10
F = 3
BYZANTINE = 3
RULE = "multikrum"
WAD = 10**18
V1_FLAG_SLASH_WAD = 5 * 10**17  # v1's flag slash: 50 % of the allocation per flag
PARTS = ("no-attacker", "attackers")


@dataclass(frozen=True)
class Partition:
    name: str
    kind: Literal["iid", "dirichlet"]
    alpha: float


PARTITIONS = (
    Partition("iid", "iid", 0.5),  # alpha unused for IID
    Partition("dirichlet-0.5", "dirichlet", 0.5),
    Partition("dirichlet-0.1", "dirichlet", 0.1),
)


@dataclass(frozen=True)
class Settings:
    seeds: int
    rounds: int
    samples_per_client: int
    test_samples: int
    attack_seeds: int
    parts: tuple[str, ...]
    out: Path


@dataclass(frozen=True)
class HonestRun:
    """One run without attackers: every client is honest."""

    partition: str
    seed: int
    client_rounds: int
    flagged: int  # honest flagged client-rounds
    flag_rate: float
    max_score_over_t: float | None
    max_score_over_t_per_round: list[float | None]
    most_flags_one_client: int
    norm_violations: int
    slashes_default: int  # flagged x (flag_slash_wad > 0): 0 with the default parameters
    slashes_v1: int  # what v1's 50 % flag slash would have done: one slash per flag
    v1_worst_stake_left: float  # stake left to the most-flagged client under v1
    final_accuracy: float
    seconds: float


@dataclass(frozen=True)
class AttackRun:
    """One run with 3 of 10 Byzantine clients."""

    attack: str
    seed: int
    byzantine_clients: list[int]
    byzantine_client_rounds: int
    byzantine_flagged: int
    byzantine_selected: int
    byzantine_norm_violations: int
    byzantine_flagged_rate: float
    byzantine_min_client_flag_rate: float  # the least-flagged attacker's rounds flagged
    byzantine_selected_rate: float
    byzantine_norm_violation_rate: float
    honest_flag_rate: float
    honest_max_score_over_t: float | None
    final_accuracy: float
    seconds: float


@dataclass(frozen=True)
class HonestAggregate:
    partition: str
    runs: int
    client_rounds: int
    flag_rate_mean: float
    flag_rate_max: float
    runs_with_a_flag: int
    max_score_over_t_max: float | None
    max_score_over_t_median: float | None
    max_score_over_t_p95: float | None
    honest_flagged_total: int
    norm_violations_total: int
    slashes_default_total: int
    slashes_v1_total: int
    v1_worst_stake_left: float


@dataclass(frozen=True)
class AttackAggregate:
    attack: str
    runs: int
    byzantine_client_rounds: int
    byzantine_flagged_rate: float
    byzantine_min_client_flag_rate: float
    byzantine_selected_rate: float
    byzantine_norm_violation_rate: float
    honest_flag_rate_mean: float
    honest_max_score_over_t_max: float | None
    final_accuracy_mean: float


def parse_args(argv: Sequence[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per partition (no attacker)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds (epochs) per run")
    parser.add_argument(
        "--samples-per-client",
        type=int,
        default=400,
        help="cap on each client's training samples (400 keeps the default run ~40 min)",
    )
    parser.add_argument("--test-samples", type=int, default=1000, help="test set size")
    parser.add_argument("--attack-seeds", type=int, default=5, help="seeds per attack")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--out", type=Path, default=RESULTS / "flags.json")
    a = parser.parse_args(argv)
    return Settings(
        seeds=a.seeds,
        rounds=a.rounds,
        samples_per_client=a.samples_per_client,
        test_samples=a.test_samples,
        attack_seeds=a.attack_seeds,
        parts=tuple(a.parts),
        out=a.out,
    )


def honest_config(s: Settings, partition: Partition, seed: int) -> SimConfig:
    return SimConfig(
        clients=CLIENTS,
        byzantine=0,
        f=F,
        rules=(RULE,),
        rounds=s.rounds,
        partition=partition.kind,
        alpha=partition.alpha,
        seed=seed,
        samples_per_client=s.samples_per_client,
        test_samples=s.test_samples,
    )


def attack_config(s: Settings, attack: str, seed: int) -> SimConfig:
    return SimConfig(
        clients=CLIENTS,
        byzantine=BYZANTINE,
        f=F,
        attack=attack,
        rules=(RULE,),
        rounds=s.rounds,
        partition="iid",
        seed=seed,
        samples_per_client=s.samples_per_client,
        test_samples=s.test_samples,
    )


def score_over_t(r: RoundResult, clients: Sequence[int]) -> float | None:
    """The largest ``score / T`` among ``clients`` in one round (None if T = 0)."""
    if r.largest_selected <= 0:
        return None
    return max(r.scores[c] / r.largest_selected for c in clients)


def _max(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _rate(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def final_accuracy(run: RunResult) -> float:
    return run.rounds[-1].accuracy if run.rounds else run.initial_accuracy


def hits(run: RunResult, clients: Sequence[int], pick: Callable[[RoundResult], list[int]]) -> int:
    """Client-rounds of ``clients`` that are in ``pick(round)``."""
    return sum(c in pick(r) for r in run.rounds for c in clients)


def honest_row(partition: str, seed: int, run: RunResult, seconds: float) -> HonestRun:
    clients = [c for c in range(CLIENTS) if c not in run.byzantine_clients]
    per_round = [score_over_t(r, clients) for r in run.rounds]
    per_client = [hits(run, [c], lambda r: r.flagged) for c in clients]
    flagged = sum(per_client)
    client_rounds = len(clients) * len(run.rounds)
    default_slashes = flagged if Params().flag_slash_wad > 0 else 0
    return HonestRun(
        partition=partition,
        seed=seed,
        client_rounds=client_rounds,
        flagged=flagged,
        flag_rate=_rate(flagged, client_rounds),
        max_score_over_t=_max(per_round),
        max_score_over_t_per_round=per_round,
        most_flags_one_client=max(per_client, default=0),
        norm_violations=hits(run, clients, lambda r: r.norm_violations),
        slashes_default=default_slashes,
        slashes_v1=flagged,
        v1_worst_stake_left=(1 - V1_FLAG_SLASH_WAD / WAD) ** max(per_client, default=0),
        final_accuracy=final_accuracy(run),
        seconds=seconds,
    )


def attack_row(attack: str, seed: int, run: RunResult, seconds: float) -> AttackRun:
    byz = run.byzantine_clients
    honest = [c for c in range(CLIENTS) if c not in byz]
    byz_rounds = len(byz) * len(run.rounds)
    flagged = hits(run, byz, lambda r: r.flagged)
    selected = hits(run, byz, lambda r: r.selected)
    over_norm = hits(run, byz, lambda r: r.norm_violations)
    least_flagged = min((hits(run, [c], lambda r: r.flagged) for c in byz), default=0)
    return AttackRun(
        attack=attack,
        seed=seed,
        byzantine_clients=list(byz),
        byzantine_client_rounds=byz_rounds,
        byzantine_flagged=flagged,
        byzantine_selected=selected,
        byzantine_norm_violations=over_norm,
        byzantine_flagged_rate=_rate(flagged, byz_rounds),
        byzantine_min_client_flag_rate=_rate(least_flagged, len(run.rounds)),
        byzantine_selected_rate=_rate(selected, byz_rounds),
        byzantine_norm_violation_rate=_rate(over_norm, byz_rounds),
        honest_flag_rate=_rate(
            hits(run, honest, lambda r: r.flagged), len(honest) * len(run.rounds)
        ),
        honest_max_score_over_t=_max([score_over_t(r, honest) for r in run.rounds]),
        final_accuracy=final_accuracy(run),
        seconds=seconds,
    )


def _stat(values: list[float], how: Literal["max", "median", "p95"]) -> float | None:
    if not values:
        return None
    if how == "max":
        return max(values)
    return float(np.percentile(values, 50 if how == "median" else 95))


def aggregate_honest(partition: str, rows: list[HonestRun]) -> HonestAggregate:
    scores = [r.max_score_over_t for r in rows if r.max_score_over_t is not None]
    return HonestAggregate(
        partition=partition,
        runs=len(rows),
        client_rounds=sum(r.client_rounds for r in rows),
        flag_rate_mean=float(np.mean([r.flag_rate for r in rows])),
        flag_rate_max=max(r.flag_rate for r in rows),
        runs_with_a_flag=sum(r.flagged > 0 for r in rows),
        max_score_over_t_max=_stat(scores, "max"),
        max_score_over_t_median=_stat(scores, "median"),
        max_score_over_t_p95=_stat(scores, "p95"),
        honest_flagged_total=sum(r.flagged for r in rows),
        norm_violations_total=sum(r.norm_violations for r in rows),
        slashes_default_total=sum(r.slashes_default for r in rows),
        slashes_v1_total=sum(r.slashes_v1 for r in rows),
        v1_worst_stake_left=min(r.v1_worst_stake_left for r in rows),
    )


def aggregate_attack(attack: str, rows: list[AttackRun]) -> AttackAggregate:
    total = sum(r.byzantine_client_rounds for r in rows)
    return AttackAggregate(
        attack=attack,
        runs=len(rows),
        byzantine_client_rounds=total,
        byzantine_flagged_rate=_rate(sum(r.byzantine_flagged for r in rows), total),
        byzantine_min_client_flag_rate=min(r.byzantine_min_client_flag_rate for r in rows),
        byzantine_selected_rate=_rate(sum(r.byzantine_selected for r in rows), total),
        byzantine_norm_violation_rate=_rate(sum(r.byzantine_norm_violations for r in rows), total),
        honest_flag_rate_mean=float(np.mean([r.honest_flag_rate for r in rows])),
        honest_max_score_over_t_max=_max([r.honest_max_score_over_t for r in rows]),
        final_accuracy_mean=float(np.mean([r.final_accuracy for r in rows])),
    )


def settings_json(s: Settings) -> dict[str, Any]:
    return {
        "clients": CLIENTS,
        "f": F,
        "rule": RULE,
        "rho": str(SimConfig().rho_fraction),
        "sketch_k": SimConfig().sketch_k,
        "local_epochs": SimConfig().local_epochs,
        "rounds": s.rounds,
        "seeds": s.seeds,
        "partitions": [asdict(p) for p in PARTITIONS],
        "attack_byzantine": BYZANTINE,
        "attack_partition": "iid",
        "attack_seeds": s.attack_seeds,
        "attacks": list(ATTACKS),
        "samples_per_client_cap": s.samples_per_client,
        "samples_per_client_note": (
            f"each client trains on at most {s.samples_per_client} samples (the first of its "
            "shard); the cap keeps the default run near 40 minutes on 2 cores with 1 torch "
            "thread. Dirichlet shards smaller than the cap keep their size."
        ),
        "test_samples": s.test_samples,
        "torch_threads": 1,
        "flag_slash_wad_default": Params().flag_slash_wad,
        "v1_flag_slash_wad": V1_FLAG_SLASH_WAD,
        "parts": list(s.parts),
    }


def payload(
    s: Settings,
    honest: list[HonestRun],
    attacks: list[AttackRun],
    started: float,
    complete: bool,
) -> dict[str, Any]:
    by_partition = {
        p.name: asdict(aggregate_honest(p.name, rows))
        for p in PARTITIONS
        if (rows := [r for r in honest if r.partition == p.name])
    }
    by_attack = {
        a: asdict(aggregate_attack(a, arows))
        for a in ATTACKS
        if (arows := [r for r in attacks if r.attack == a])
    }
    return {
        "machine": machine(),
        "command": " ".join([".venv/bin/python -m bench.flags", *sys.argv[1:]]),
        "complete": complete,
        "wall_s": round(time.perf_counter() - started, 1),
        "settings": settings_json(s),
        "honest_slashes_note": (
            "honest slashes with the default parameters are 0 because flag_slash_wad = 0 "
            "(a flag excludes and is reported, it does not slash); slashes_v1 counts the "
            "honest flagged client-rounds, each of which v1's 50 % flag slash would have "
            "slashed"
        ),
        "no_attacker": {"by_partition": by_partition, "runs": [asdict(r) for r in honest]},
        "attackers": {"by_attack": by_attack, "runs": [asdict(r) for r in attacks]},
    }


def timed_run(config: SimConfig, data: Mnist) -> tuple[RunResult, float]:
    started = time.perf_counter()
    run = run_rule(config, RULE, data)
    return run, time.perf_counter() - started


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    s = parse_args(argv)
    set_threads(1)
    started = time.perf_counter()
    data = load_mnist()
    honest: list[HonestRun] = []
    attacks: list[AttackRun] = []

    def save(complete: bool = False) -> None:
        write_json(s.out, payload(s, honest, attacks, started, complete))

    if "no-attacker" in s.parts:
        for p in PARTITIONS:
            for seed in range(s.seeds):
                run, seconds = timed_run(honest_config(s, p, seed), data)
                row = honest_row(p.name, seed, run, seconds)
                honest.append(row)
                save()
                log(
                    f"[{time.perf_counter() - started:7.0f} s] no-attacker {p.name:13} "
                    f"seed {seed:2}: flagged {row.flagged}/{row.client_rounds}, max score/T "
                    f"{row.max_score_over_t or 0:.2f}, acc {row.final_accuracy:.3f}, "
                    f"{seconds:.0f} s"
                )
    if "attackers" in s.parts:
        for attack in ATTACKS:
            for seed in range(s.attack_seeds):
                run, seconds = timed_run(attack_config(s, attack, seed), data)
                arow = attack_row(attack, seed, run, seconds)
                attacks.append(arow)
                save()
                log(
                    f"[{time.perf_counter() - started:7.0f} s] attack {attack:20} seed {seed}: "
                    f"byz flagged {arow.byzantine_flagged_rate:.0%}, selected "
                    f"{arow.byzantine_selected_rate:.0%}, over norm "
                    f"{arow.byzantine_norm_violation_rate:.0%}, honest flagged "
                    f"{arow.honest_flag_rate:.1%}, acc {arow.final_accuracy:.3f}, {seconds:.0f} s"
                )
    save(complete=True)
    log(f"wrote {s.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
