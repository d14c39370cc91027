"""Testnet figures of the node runtime (issue 11), written to ``bench/results/testnet.json``.

- ``fresh``: clone this checkout into a temporary folder and run the README's main
  command there, cold (install, contracts, verifiers, nodes), then the testnet again,
  warm; the wall time of each, whether it passed, and each process's seconds from
  start to ``connected`` and to ``ready`` (read from the run's event logs). Runs
  ``--runs`` cold clones (default 1).
- ``rss``: one testnet of ``--epochs`` epochs (default 20) in this checkout; every
  node's resident memory once epoch 2 is final and once the last epoch is final, and
  the ratio (no growth beyond noise: the goal is a ratio near 1).

Run: ``.venv/bin/python -m bench.testnet fresh`` / ``... rss`` (minutes each).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import RESULTS, write_result
from p2pfl.events import Connected, EventError, Ready, parse
from p2pfl.testnet.network import TestnetConfig, start_devnet
from p2pfl.testnet.runner import Testnet, judge, run

ROOT = Path(__file__).resolve().parents[1]


def _main_command() -> str:
    lines = (ROOT / "README.md").read_text().splitlines()
    at = lines.index("<!-- main-command -->")
    return lines[at + 2]


def _start_times(run_dir: Path) -> dict[str, dict[str, float]]:
    """Per process: seconds from start to connected and to ready (from its .jsonl)."""
    out: dict[str, dict[str, float]] = {}
    for log in sorted(run_dir.glob("*.jsonl")):
        seen: dict[str, float] = {}
        for line in log.read_text().splitlines():
            try:
                ev = parse(line)
            except EventError:
                continue
            if isinstance(ev, Connected):
                seen["connected_s"] = ev.seconds
            elif isinstance(ev, Ready):
                seen["ready_s"] = ev.seconds
                seen["warmup_s"] = ev.warmup_s
        out[log.stem] = seen
    return out


def _timed(cmd: str, cwd: Path, log: Path) -> tuple[float, int]:
    started = time.perf_counter()
    with log.open("w") as out:
        code = subprocess.call(["bash", "-c", cmd], cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    return round(time.perf_counter() - started, 1), code


def fresh(runs: int) -> dict[str, Any]:
    main = _main_command()
    results: list[dict[str, Any]] = []
    for i in range(runs):
        with tempfile.TemporaryDirectory(prefix="p2pfl-fresh-") as tmp:
            clone = Path(tmp) / "p2pfl"
            subprocess.check_call(["git", "clone", "-q", str(ROOT), str(clone)])
            shared = ROOT.parent / "shared"
            if shared.exists():  # the CRS and the real core sit beside the checkout
                os.symlink(shared, Path(tmp) / "shared")
            cold_s, cold_code = _timed(main + " --out runs/cold", clone, RESULTS / f"fresh-{i}.log")
            cold = _start_times(clone / "runs" / "cold")
            entry: dict[str, Any] = {
                "cold_main_command_s": cold_s,
                "cold_exit_code": cold_code,
                "cold_start": _summary(cold),
            }
            if i == 0:
                warm_s, warm_code = _timed(
                    "bash deploy/testnet.sh --out runs/warm", clone, RESULTS / "fresh-warm.log"
                )
                entry |= {
                    "warm_testnet_s": warm_s,
                    "warm_exit_code": warm_code,
                    "warm_start": _summary(_start_times(clone / "runs" / "warm")),
                }
            print(json.dumps(entry))
            results.append(entry)
    return {"command": main, "runs": results}


def _summary(times: dict[str, dict[str, float]]) -> dict[str, Any]:
    def stat(key: str) -> dict[str, float] | None:
        xs = [t[key] for t in times.values() if key in t]
        if not xs:
            return None
        return {"median": round(statistics.median(xs), 2), "max": round(max(xs), 2)}

    return {
        "connected_s": stat("connected_s"),
        "ready_s": stat("ready_s"),
        "warmup_s": stat("warmup_s"),
    }


def rss(epochs: int) -> dict[str, Any]:
    cfg = TestnetConfig(epochs=epochs, cheat_epochs=[2])
    marks: dict[int, dict[str, float]] = {}

    def sample(tn: Testnet) -> None:
        for e in (2, epochs):
            rec = tn.history.epochs.get(e)
            if e in marks or rec is None or not rec.done:
                continue
            marks[e] = {}
            for name, p in tn.procs.items():
                if p.running and p.proc is not None:
                    marks[e][name] = psutil.Process(p.proc.pid).memory_info().rss / 2**20

    with (
        tempfile.TemporaryDirectory(prefix="p2pfl-bench-rss-") as tmp,
        start_devnet(cfg, Path(tmp), say=print) as net,
    ):
        tn = run(net, say=print, on_tick=sample)
        ok = all(x.met for x in judge(tn, cfg))
    early, late = marks.get(2, {}), marks.get(epochs, {})
    common = sorted(set(early) & set(late))
    ratios = {n: round(late[n] / early[n], 3) for n in common}
    return {
        "epochs": epochs,
        "expectations_met": ok,
        "rss_mb_after_epoch_2": {n: round(early[n], 1) for n in common},
        f"rss_mb_after_epoch_{epochs}": {n: round(late[n], 1) for n in common},
        "ratio_per_process": ratios,
        "max_ratio": max(ratios.values()) if ratios else None,
        "median_ratio": round(statistics.median(ratios.values()), 3) if ratios else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["fresh", "rss"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    path = RESULTS / "testnet.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.pop("machine", None)
    if args.mode == "fresh":
        previous["fresh_clone"] = fresh(args.runs)
    else:
        previous["memory"] = rss(args.epochs)
    print(write_result("testnet", previous))


if __name__ == "__main__":
    main()
