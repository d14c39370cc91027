"""Scraping a running ``p2pfl node --gossip-only --metrics-port 0``: two processes, one
announces a blob, the other fetches it; each one's metrics and health say so."""

from __future__ import annotations

import json
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from p2pfl.events import Announced, Fetched, Listening, MetricsServing
from tests.net.test_node_processes import P2PFL, NodeProcess

SIZE = 100_000


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_scrape_running_gossip_nodes(tmp_path: Path) -> None:
    boot = NodeProcess(
        tmp_path / "boot",
        "--metrics-port", "0",
        "--announce-bytes", str(SIZE),
        "--expect-peers", "1",
    )  # fmt: skip
    nodes = [boot]
    try:
        addr = boot.wait_for(lambda e: isinstance(e, Listening), 30).addrs[0]
        boot_url = boot.wait_for(lambda e: isinstance(e, MetricsServing), 10).url
        node = NodeProcess(tmp_path / "n", "--bootstrap", addr, "--metrics-port", "0")
        nodes.append(node)
        url = node.wait_for(lambda e: isinstance(e, MetricsServing), 30).url
        boot.wait_for(lambda e: isinstance(e, Announced), 60)
        node.wait_for(lambda e: isinstance(e, Fetched), 60)

        got = scrape(url)
        assert got[("p2pfl_peers_connected", ())] >= 1
        assert got[("p2pfl_epoch", ())] == 1
        assert got[("p2pfl_blob_bytes_total", (("direction", "in"),))] == SIZE
        assert got[("p2pfl_gossip_accepted_total", (("kind", "updates"),))] == 1
        assert got[("p2pfl_fetch_seconds_count", (("what", "blob"),))] == 1
        assert got[("p2pfl_events_total", (("kind", "fetched"),))] == 1
        assert got[("eigen_performance_score", (("avs_name", "p2pfl"),))] == 100
        assert scrape(boot_url)[("p2pfl_blob_bytes_total", (("direction", "out"),))] == SIZE

        base = url.removesuffix("/metrics")
        assert status(base + "/eigen/node/health") == 200
        with urllib.request.urlopen(base + "/eigen/node/services", timeout=10) as resp:
            services = json.loads(resp.read())["services"]
        assert [(s["id"], s["status"]) for s in services] == [("p2p", "Up")]
        assert status(base + "/eigen/node/services/p2p/health") == 200
        assert status(base + "/nope") == 404
    finally:
        codes = [p.stop() for p in reversed(nodes)]
    assert codes == [0] * len(nodes)


def test_a_taken_metrics_port_is_one_clear_line(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        proc = subprocess.run(
            [*P2PFL, "node", "--gossip-only", "--data-dir", str(tmp_path),
             "--listen", "/ip4/127.0.0.1/tcp/0", "--metrics-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    finally:
        taken.close()
    assert proc.returncode == 2, proc.stderr
    assert "cannot serve metrics" in proc.stderr.replace("\n", "")
    assert "Traceback" not in proc.stderr
