"""The cost of ``--metrics-port`` on an idle ``p2pfl node --gossip-only`` process (joined
to a bootstrap, so it has a peer), written to ``bench/results/metrics.json``:

- RSS and CPU (user + system seconds per wall second) over ``WINDOW_S`` of idling,
  without and with ``--metrics-port``, alternated over ``ROUNDS`` rounds (fresh
  processes each time);
- the latency of ``GET /metrics`` over ``SCRAPES`` back-to-back scrapes from this process
  (a new connection each, as the server closes after one request): median, p95, max;
  the node's CPU while serving them and its RSS after them.

Run: ``.venv/bin/python -m bench.metrics``
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from tempfile import TemporaryDirectory
from typing import Any

import psutil

from bench.common import write_result
from p2pfl.events import Connected, Event, Listening, MetricsServing, parse

WINDOW_S = 20.0
SETTLE_S = 5.0  # after the first peer: start-up traffic (DHT, identify) dies down
ROUNDS = 2
SCRAPES = 200
BASE = [sys.executable, "-m", "p2pfl", "node", "--gossip-only", "--json",
        "--listen", "/ip4/127.0.0.1/tcp/0"]  # fmt: skip


def _until(proc: subprocess.Popen[str], kind: type[Event]) -> Event:
    assert proc.stdout is not None
    for line in proc.stdout:
        event = parse(line)
        if isinstance(event, kind):
            return event
    raise RuntimeError(f"the node ended before reporting {kind.kind}")


def _cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return float(t.user + t.system)


def idle(tmp: str, boot_addr: str, metrics: bool, n: int) -> dict[str, float]:
    extra = ["--metrics-port", "0"] if metrics else []
    node = subprocess.Popen(
        [*BASE, "--data-dir", f"{tmp}/n{n}", "--bootstrap", boot_addr, *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        _until(node, Connected)
        time.sleep(SETTLE_S)
        p = psutil.Process(node.pid)
        cpu0, t0 = _cpu_s(p), time.perf_counter()
        rss = []
        while time.perf_counter() - t0 < WINDOW_S:
            time.sleep(1.0)
            rss.append(p.memory_info().rss)
        cpu = (_cpu_s(p) - cpu0) / (time.perf_counter() - t0)
    finally:
        node.terminate()
        node.wait(20)
    return {"rss_mb": round(statistics.mean(rss) / 2**20, 1), "cpu_pct": round(100 * cpu, 2)}


def scrapes(tmp: str, boot_addr: str) -> dict[str, Any]:
    node = subprocess.Popen(
        [*BASE, "--data-dir", f"{tmp}/s", "--bootstrap", boot_addr, "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        serving = _until(node, MetricsServing)
        assert isinstance(serving, MetricsServing)
        _until(node, Connected)
        time.sleep(SETTLE_S)
        p = psutil.Process(node.pid)
        rss_before = p.memory_info().rss
        cpu0, t0 = _cpu_s(p), time.perf_counter()
        times, size = [], 0
        for _ in range(SCRAPES):
            started = time.perf_counter()
            with urllib.request.urlopen(serving.url, timeout=10) as resp:
                size = len(resp.read())
            times.append(time.perf_counter() - started)
        wall = time.perf_counter() - t0
        cpu = _cpu_s(p) - cpu0
        rss_after = p.memory_info().rss
    finally:
        node.terminate()
        node.wait(20)
    ms = sorted(t * 1000 for t in times)
    return {
        "scrapes": SCRAPES,
        "median_ms": round(statistics.median(ms), 2),
        "p95_ms": round(ms[int(0.95 * len(ms)) - 1], 2),
        "max_ms": round(ms[-1], 2),
        "body_bytes": size,
        "node_cpu_ms_per_scrape": round(1000 * cpu / SCRAPES, 2),
        "scrapes_per_s": round(SCRAPES / wall, 1),
        "rss_before_mb": round(rss_before / 2**20, 1),
        "rss_after_mb": round(rss_after / 2**20, 1),
    }


def main() -> None:
    runs: dict[str, list[dict[str, float]]] = {"without": [], "with": []}
    with TemporaryDirectory() as tmp:
        boot = subprocess.Popen(
            [*BASE, "--data-dir", f"{tmp}/b"], stdout=subprocess.PIPE, text=True
        )
        try:
            listening = _until(boot, Listening)
            assert isinstance(listening, Listening)
            addr = listening.addrs[0]
            n = 0
            for _ in range(ROUNDS):
                for variant in ("without", "with"):
                    n += 1
                    runs[variant].append(idle(tmp, addr, variant == "with", n))
            scrape = scrapes(tmp, addr)
        finally:
            boot.terminate()
            boot.wait(20)

    def summary(rs: list[dict[str, float]]) -> dict[str, Any]:
        return {
            "runs": rs,
            "rss_mb": round(statistics.median(r["rss_mb"] for r in rs), 1),
            "cpu_pct": round(statistics.median(r["cpu_pct"] for r in rs), 2),
        }

    without, with_ = summary(runs["without"]), summary(runs["with"])
    result: dict[str, Any] = {
        "window_s": WINDOW_S,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "idle_without_metrics": without,
        "idle_with_metrics": with_,
        "rss_delta_mb": round(with_["rss_mb"] - without["rss_mb"], 1),
        "cpu_delta_pct": round(with_["cpu_pct"] - without["cpu_pct"], 2),
        "scrape": scrape,
    }
    path = write_result("metrics", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
