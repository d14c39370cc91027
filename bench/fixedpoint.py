"""The fixed-point global model against the float one (issue 14).

    .venv/bin/python -m bench.fixedpoint            # 10 rounds, 10 clients, whole shards
    .venv/bin/python -m bench.fixedpoint --samples-per-client 1000 --only iid
    .venv/bin/python -m bench.fixedpoint --quick    # smoke run (2 small rounds)

Runs ``p2pfl simulate``'s federation twice per scenario with the same seeds: once with
the protocol's int32 model at scale 2^16 and its exact step (``arithmetic="fixed"``),
once with a float64 model and mean (``"float"``). Goal: the final test accuracy of the
fixed-point run within 0.3 points of the float run. Writes
``bench/results/fixedpoint.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bench.common import write_result
from p2pfl.learn.mnist import Mnist, load_mnist
from p2pfl.sim.config import SimConfig
from p2pfl.sim.runner import RoundHook, RoundResult, run_rule, set_threads

GOAL_POINTS = 0.3  # |final accuracy(fixed) - final accuracy(float)|, percentage points


def scenarios(quick: bool, samples_per_client: int | None) -> list[tuple[str, SimConfig]]:
    small: dict[str, Any] = (
        {"rounds": 2, "samples_per_client": 300, "test_samples": 1000}
        if quick
        else {"samples_per_client": samples_per_client}
    )
    return [
        ("multikrum-iid-no-attack", SimConfig(**small)),
        (
            "multikrum-dirichlet-3-gaussian",
            SimConfig(byzantine=3, attack="gaussian", partition="dirichlet", **small),
        ),
    ]


def _progress(name: str, arithmetic: str) -> RoundHook:
    def show(rule: str, r: RoundResult, byz: list[int]) -> None:
        print(f"  {name} {arithmetic} round {r.round}: {r.accuracy * 100:.2f} %", flush=True)

    return show


def compare(name: str, config: SimConfig, data: Mnist) -> dict[str, Any]:
    runs: dict[str, dict[str, Any]] = {}
    for arithmetic in ("fixed", "float"):
        cfg = config.model_copy(update={"arithmetic": arithmetic})
        run = run_rule(cfg, cfg.rules[0], data, on_round=_progress(name, arithmetic))
        runs[arithmetic] = {
            "initial_accuracy": run.initial_accuracy,
            "accuracy": [r.accuracy for r in run.rounds],
            "selected": [r.selected for r in run.rounds],
            "seconds": round(sum(r.seconds for r in run.rounds), 1),
        }
        print(f"{name} {arithmetic}: {[round(a * 100, 2) for a in runs[arithmetic]['accuracy']]}")
    fixed: list[float] = runs["fixed"]["accuracy"]
    flt: list[float] = runs["float"]["accuracy"]
    final_diff = (fixed[-1] - flt[-1]) * 100
    return {
        "config": config.model_dump(exclude={"arithmetic"}),
        "fixed": runs["fixed"],
        "float": runs["float"],
        "final_accuracy_fixed": fixed[-1],
        "final_accuracy_float": flt[-1],
        "final_diff_points": round(final_diff, 3),
        "max_round_diff_points": round(
            max(abs(a - b) for a, b in zip(fixed, flt, strict=True)) * 100, 3
        ),
        "same_selection": runs["fixed"]["selected"] == runs["float"]["selected"],
        "goal_met": abs(final_diff) <= GOAL_POINTS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (2 small rounds)")
    parser.add_argument(
        "--samples-per-client", type=int, default=None, help="cap each shard (default: whole)"
    )
    parser.add_argument("--only", default="", help="run the scenarios whose name contains it")
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    args = parser.parse_args()
    set_threads(args.threads)
    data = load_mnist()
    chosen = [s for s in scenarios(args.quick, args.samples_per_client) if args.only in s[0]]
    results = {name: compare(name, cfg, data) for name, cfg in chosen}
    payload = {
        "command": "python -m bench.fixedpoint " + " ".join(sys.argv[1:]),
        "goal": f"|final accuracy fixed - float| <= {GOAL_POINTS} points",
        "scenarios": results,
    }
    path = write_result("fixedpoint-quick" if args.quick else "fixedpoint", payload)
    print(json.dumps({k: v["final_diff_points"] for k, v in results.items()}))
    print(path)


if __name__ == "__main__":
    main()
