"""Network figures (issue 3), written to ``bench/results/net.json``.

- Dissemination: 8 peers on loopback (in one process, one core's worth of Python for
  all eight), each announces one 190 KB update; time from the first announcement until
  every peer holds all 8 blobs. Goal: under 1 s.
- Blob throughput for 5 MB and 50 MB over ``/p2pfl/blob/1`` (Noise + Yamux) between two
  processes on loopback (``bench.net_transfer``: a server process serves the blob, a
  client process fetches and times it; the keccak check is timed apart), as a ratio to
  a raw trio TCP transfer between two processes in the same run, same sizes. Both with
  the fast transport (``p2pfl.net.fastyamux``, the default) and py-libp2p's stock
  Noise and Yamux (``P2PFL_NET_TRANSPORT=stock``). Goal: at least 25 %.
- An idle ``p2pfl node --gossip-only`` process: RSS after 10 s joined to a bootstrap
  (goal under 300 MB), and start-up time to the first connected peer, from process
  start and from the node's own start.

Run: ``.venv/bin/python -m bench.net`` (``--throughput`` for the throughput figures only,
which then update the ``throughput`` entry of an existing ``net.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import psutil
import trio

from bench.common import RESULTS, write_result
from p2pfl.events import Announced, Connected, Event, Fetched, Listening, parse
from p2pfl.hashing import keccak256
from p2pfl.net.peer import Peer, open_local_peers

AVS = "0x" + "ab" * 20
CHAIN = 31337
UPDATE_BYTES = 190_000  # the 46,730-parameter CNN's safetensors update


async def dissemination(n: int = 8) -> float:
    async with open_local_peers(n, chain_id=CHAIN, avs=AVS, epoch=1) as peers:
        # Measure a settled network, as an epoch finds it: the start-up traffic (DHT
        # refreshes, identify) of eight fresh peers would otherwise double the figure.
        await trio.sleep(2.0)
        updates = []
        for peer in peers:
            data = os.urandom(UPDATE_BYTES)
            digest = keccak256(data)
            peer.blobs.store.put(digest, data)
            updates.append(peer.sign(os.urandom(32), "updates", 1, digest, len(data)))

        async def collect(peer: Peer) -> None:
            seen = 0
            async with trio.open_nursery() as nursery:
                async for ann in peer.board.watch("updates", 1):
                    nursery.start_soon(peer.fetch, ann)
                    seen += 1
                    if seen == n:
                        break

        started = time.perf_counter()
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(collect, peer)
                for peer, ann in zip(peers, updates, strict=True):
                    nursery.start_soon(peer.board.publish, ann)
        elapsed = time.perf_counter() - started
        assert all(all(a.digest_bytes in p.blobs.store for a in updates) for p in peers)
        return elapsed


def dissemination_processes(n: int = 8) -> float:
    """The same exchange with each peer a ``p2pfl node --gossip-only`` process (the shape
    of a deployment, here n processes on this machine's 2 cores): from the first
    announcement to the last fetched blob, by the nodes' own event clocks."""
    at = ["--announce-at", str(time.time() + 20)]  # all started and meshed by then
    with TemporaryDirectory() as tmp:
        base = [sys.executable, "-m", "p2pfl", "node", "--gossip-only", "--json",
                "--listen", "/ip4/127.0.0.1/tcp/0"]  # fmt: skip
        procs = [subprocess.Popen([*base, "--data-dir", f"{tmp}/0",
                                   "--announce-bytes", str(UPDATE_BYTES),
                                   "--expect-peers", str(n - 1), *at],
                                  stdout=subprocess.PIPE, text=True)]  # fmt: skip
        events: list[list[Event]] = [[] for _ in range(n)]

        # A lost announcement would leave a node waiting forever: stop them all after a
        # minute (readline then ends, and the run counts as failed).
        def kill_all() -> None:
            for proc in procs:
                proc.kill()

        watchdog = threading.Timer(60, kill_all)
        watchdog.start()
        try:
            assert procs[0].stdout is not None
            first = parse(procs[0].stdout.readline())
            assert isinstance(first, Listening)
            events[0].append(first)
            for i in range(1, n):
                procs.append(
                    subprocess.Popen(
                        [*base, "--data-dir", f"{tmp}/{i}", "--bootstrap", first.addrs[0],
                         "--announce-bytes", str(UPDATE_BYTES), "--expect-peers", str(n - 1),
                         *at],
                        stdout=subprocess.PIPE, text=True,
                    )
                )  # fmt: skip
            for i, proc in enumerate(procs):
                assert proc.stdout is not None
                while sum(isinstance(e, Fetched) for e in events[i]) < n:
                    line = proc.stdout.readline()
                    if not line:
                        raise RuntimeError(f"node {i} ended early: {events[i]}")
                    events[i].append(parse(line))
        finally:
            watchdog.cancel()
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(20)
    flat = [e for evs in events for e in evs]
    start = min(e.time for e in flat if isinstance(e, Announced))
    end = max(e.time for e in flat if isinstance(e, Fetched))
    return float(end - start)


def idle_node() -> dict[str, float]:
    with TemporaryDirectory() as tmp:
        base = [
            sys.executable,
            "-m",
            "p2pfl",
            "node",
            "--gossip-only",
            "--json",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
        ]
        boot = subprocess.Popen(
            [*base, "--data-dir", f"{tmp}/b"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert boot.stdout is not None
            listening = parse(boot.stdout.readline())
            assert isinstance(listening, Listening)
            addr = listening.addrs[0]
            started = time.perf_counter()
            node = subprocess.Popen(
                [*base, "--data-dir", f"{tmp}/n", "--bootstrap", addr],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert node.stdout is not None
                for line in node.stdout:
                    event = parse(line)
                    if isinstance(event, Connected):
                        break
                from_process = time.perf_counter() - started
                time.sleep(10)
                rss = psutil.Process(node.pid).memory_info().rss
            finally:
                node.terminate()
                node.wait(20)
        finally:
            boot.terminate()
            boot.wait(20)
    return {
        "startup_to_first_peer_s": round(from_process, 3),
        "node_start_to_first_peer_s": event.seconds if isinstance(event, Connected) else None,
        "idle_rss_mb": round(rss / 2**20, 1),
    }


def _spawn(args: list[str], transport: str | None = None) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if transport is not None:
        env["P2PFL_NET_TRANSPORT"] = transport
    return subprocess.Popen(
        [sys.executable, "-m", "bench.net_transfer", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _json_line(proc: subprocess.Popen[str]) -> Any:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{proc.args!r} printed nothing (exit {proc.wait()})")
    return json.loads(line)


def _stop(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _client(args: list[str], transport: str | None = None) -> Any:
    proc = _spawn(args, transport)
    try:
        return _json_line(proc)
    finally:
        proc.wait(60)


def process_throughput(cases: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    """Per size: raw TCP, the stock and the fast transport, each server and client a
    process of its own (best of ``repeats`` fetches on one connection)."""
    out: dict[str, Any] = {}
    servers = {t: _spawn(["serve-blob", *(str(s) for s, _ in cases)], t) for t in ("stock", "fast")}
    try:
        offers = {t: _json_line(p) for t, p in servers.items()}
        for size, repeats in cases:
            tcp_server = _spawn(["serve-tcp", str(size)])
            try:
                port = _json_line(tcp_server)["port"]
                tcp_repeats = str(max(5, repeats))  # cheap, and the noisiest figure
                tcp = min(_client(["fetch-tcp", str(port), str(size), tcp_repeats])["seconds"])
            finally:
                _stop(tcp_server)
            blob: dict[str, float] = {}
            hashing: list[float] = []
            for transport, offer in offers.items():
                args = [offer["addr"], offer["digests"][str(size)], str(size), str(repeats)]
                got = _client(["fetch-blob", *args], transport)
                blob[transport] = min(got["seconds"])
                hashing += got["hash_seconds"]
            out[f"{size // 1_000_000}MB"] = {
                "blob_MBps": round(size / blob["fast"] / 1e6, 1),
                "tcp_MBps": round(size / tcp / 1e6, 1),
                "ratio": round(tcp / blob["fast"], 3),
                "stock_blob_MBps": round(size / blob["stock"] / 1e6, 1),
                "stock_ratio": round(tcp / blob["stock"], 3),
                "keccak_ms": round(1000 * min(hashing), 1),
                "repeats": repeats,
                "goal": 0.25,
            }
    finally:
        for proc in servers.values():
            _stop(proc)
    return out


THROUGHPUT_CASES = ((5_000_000, 5), (50_000_000, 3))
JS_PEER = Path(__file__).resolve().parents[1] / "interop" / "js" / "peer.mjs"


def js_throughput(size: int = 50_000_000, repeats: int = 3) -> dict[str, Any] | None:
    """A js-libp2p 3 peer (``interop/js``) fetching ``size`` bytes from a Python node
    (stock and fast transport), and Python fetching from the JS peer; MB/s, best of
    ``repeats`` on one connection, each side a process. None without Node or the
    installed ``interop/js``."""
    node = shutil.which("node")
    if node is None or not (JS_PEER.parent / "node_modules").is_dir():
        return None
    out: dict[str, Any] = {"size_MB": size // 1_000_000}
    for transport in ("stock", "fast"):
        server = _spawn(["serve-blob", str(size)], transport)
        try:
            offer = _json_line(server)
            js = subprocess.run(
                [node, str(JS_PEER), "fetch", offer["addr"], offer["digests"][str(size)],
                 str(size), str(repeats)],
                capture_output=True, text=True, timeout=300, check=True,
            )  # fmt: skip
            got = json.loads(js.stdout.strip().splitlines()[-1])
            out[f"js_from_py_{transport}_MBps"] = round(size / min(got["seconds"]) / 1e6, 1)
        finally:
            _stop(server)
    js_server = subprocess.Popen(
        [node, str(JS_PEER), "serve", str(size)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        offer = _json_line(js_server)
        for transport in ("stock", "fast"):
            args = ["fetch-blob", offer["addr"], offer["digest"], str(size), str(repeats)]
            got = _client(args, transport)
            out[f"py_{transport}_from_js_MBps"] = round(size / min(got["seconds"]) / 1e6, 1)
    finally:
        _stop(js_server)
    return out


def main() -> None:
    if "--throughput" in sys.argv[1:]:
        path = RESULTS / "net.json"
        previous: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        previous.pop("machine", None)
        previous["throughput"] = process_throughput(THROUGHPUT_CASES)
        previous["throughput_mode"] = "two processes"
        js = js_throughput()  # None without the installed interop peer: keep the last
        if js is not None or "js_interop_throughput" not in previous:
            previous["js_interop_throughput"] = js
        path = write_result("net", previous)
        print(
            json.dumps({k: previous[k] for k in ("throughput", "js_interop_throughput")}, indent=2)
        )
        print(f"wrote {path}")
        return
    runs = [trio.run(dissemination) for _ in range(3)]
    procs, failed = [], 0
    for _ in range(3):
        try:
            procs.append(dissemination_processes())
        except RuntimeError as exc:  # a node never got every blob (see the watchdog)
            print(f"dissemination run failed: {str(exc)[:300]}", file=sys.stderr)
            failed += 1
    result: dict[str, Any] = {
        "dissemination_8x190KB_s": {
            "runs": [round(r, 3) for r in runs],
            "median": round(statistics.median(runs), 3),
            "goal": 1.0,
        },
        "dissemination_8x190KB_processes_s": {
            "runs": [round(r, 3) for r in procs],
            "median": round(statistics.median(procs), 3) if procs else None,
            "failed_runs": failed,
            "goal": 1.0,
        },
        "throughput": process_throughput(THROUGHPUT_CASES),
        "throughput_mode": "two processes",
        "js_interop_throughput": js_throughput(),
    }
    result["idle_node"] = idle_node()
    result["idle_node"]["goal_rss_mb"] = 300
    path = write_result("net", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
