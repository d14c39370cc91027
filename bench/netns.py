"""Epochs across network namespaces (issue 15), written to ``bench/results/netns.json``.

Runs the testnet with every node and the watcher in its own network namespace on a
bridge (``--netns``), 8 nodes (2 Gaussian attackers), 2 epochs each, under links shaped
as: unshaped, 2 % and 5 % packet loss (nftables, every packet of every link), and a
20 Mbit/s rate limit (tc tbf). For each: whether every epoch completed, every
expectation of the README's testnet, and the epoch wall time excluding the challenge
window, with its phases. The unshaped run is the baseline of the ratios.

Run (root, ``ip``, ``tc``, ``nft``): ``.venv/bin/python -m bench.netns [--nodes N]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from p2pfl.events import EpochJoined
from p2pfl.testnet.netns import check_tools
from p2pfl.testnet.network import TestnetConfig, start_devnet
from p2pfl.testnet.runner import judge, run

LINKS: tuple[str | None, ...] = (None, "loss 2%", "loss 5%", "rate 20mbit")


def one(link: str | None, nodes: int, epochs: int) -> dict[str, Any]:
    cfg = TestnetConfig(
        nodes=nodes, malicious=2, cheat_epochs=[], epochs=epochs, netns=True, link=link
    )
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="p2pfl-bench-netns-") as tmp,
        start_devnet(cfg, Path(tmp), say=print) as net,
    ):
        tn = run(net, say=print, epoch_timeout=240)
        expectations = judge(tn, cfg)
    rows = tn.rows()
    times = [t for r in rows if (t := r.seconds_excluding_window) is not None]
    starts: dict[int, float] = {}
    for _, ev in tn.node_events(EpochJoined):
        starts[ev.epoch] = min(ev.time, starts.get(ev.epoch, ev.time))
    window_s = cfg.challenge_blocks * cfg.block_time
    periods = [
        round(starts[e + 1] - starts[e] - window_s, 3) for e in sorted(starts) if e + 1 in starts
    ]
    phases = sorted({k for r in rows for k in r.phases})
    return {
        "link": link or "unshaped",
        "completed": sum(1 for r in rows if r.status == "finalized"),
        "epochs": epochs,
        "expectations_met": all(x.met for x in expectations),
        "unmet": [x.what for x in expectations if not x.met],
        "epoch_excluding_window_s": times,
        "mean_epoch_excluding_window_s": round(statistics.mean(times), 3) if times else None,
        # start to next start, less the challenge window's nominal length
        "period_excluding_window_s": periods,
        "mean_phase_s": {
            k: round(statistics.mean(r.phases[k] for r in rows if k in r.phases), 3) for k in phases
        },
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=2)
    args = ap.parse_args()
    check_tools(None, nft=True)
    runs = [one(link, args.nodes, args.epochs) for link in LINKS]
    base = runs[0]["mean_epoch_excluding_window_s"]
    for r in runs:
        mean = r["mean_epoch_excluding_window_s"]
        r["ratio_to_unshaped"] = round(mean / base, 3) if mean and base else None
    path = write_result(
        "netns",
        {
            "command": f".venv/bin/python -m bench.netns --nodes {args.nodes}",
            "nodes": args.nodes,
            "runs": runs,
        },
    )
    print(f"wrote {path}")
    for r in runs:
        print(r["link"], r["completed"], "/", r["epochs"], r["mean_epoch_excluding_window_s"])


if __name__ == "__main__":
    main()
