"""The simulation's JSON result."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from p2pfl.sim.config import SimConfig
from p2pfl.sim.runner import RunResult


def to_json(config: SimConfig, runs: list[RunResult], seconds: float) -> dict[str, Any]:
    return {
        "config": config.model_dump(),
        "assumed_f": config.assumed_f,
        "seconds": seconds,
        "runs": {
            run.rule: {
                "byzantine_clients": run.byzantine_clients,
                "initial_accuracy": run.initial_accuracy,
                "summary": run.summary(config.clients),
                "flag_rates": run.flag_rates(config.clients),
                "rounds": [{**asdict(r), "scores": [str(s) for s in r.scores]} for r in run.rounds],
            }
            for run in runs
        },
    }
