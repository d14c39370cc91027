"""The metrics server on a real socket: /metrics, the EigenLayer AVS node API, and what
it does with bad requests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
import trio

from p2pfl.errors import ConfigError
from p2pfl.events import Listening, MetricsServing, Ready
from p2pfl.metrics import HealthTracker, NodeMetrics, Sample, metrics_url, serve_metrics
from p2pfl.metrics.http import MAX_HEAD, BadRequestError, parse_head
from p2pfl.metrics.server import start_metrics


async def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw``, read until the server closes; (status, headers, body)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(raw)
        data = bytearray()
        with trio.fail_after(10):
            while chunk := await stream.receive_some(65536):
                data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines)}
    if not raw.startswith(b"HEAD "):
        assert int(headers["content-length"]) == len(body)
    return int(status_line.split()[1]), headers, body


async def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    return await exchange(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())


@asynccontextmanager
async def serving(metrics: NodeMetrics, **kw: Any) -> AsyncIterator[int]:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(partial(serve_metrics, metrics, "127.0.0.1", 0, **kw))
        yield port
        nursery.cancel_scope.cancel()


def node_metrics(peers: int = 1) -> NodeMetrics:
    m = NodeMetrics(HealthTracker(("p2p", "chain", "trainer")))
    m.sampler = lambda: Sample(peers=peers, phase="commit")
    return m


@pytest.mark.trio
async def test_metrics_and_the_node_api() -> None:
    m = node_metrics()
    async with serving(m) as port:
        status, headers, body = await get(port, "/metrics")
        assert status == 200
        assert headers["content-type"].startswith("text/plain; version=")
        text = body.decode()
        for name in (
            "p2pfl_epoch",
            "p2pfl_phase",
            "p2pfl_peers_connected",
            "p2pfl_gossip_rejected",
            "p2pfl_blob_bytes_total",
            "p2pfl_fetch_seconds_bucket",
            "p2pfl_proof_seconds_bucket",
            "p2pfl_commits_total",
            "p2pfl_results_submitted_total",
            "p2pfl_challenges_total",
            "p2pfl_slashes_total",
            "p2pfl_stake_wei",
            "eigen_performance_score",
        ):
            assert name in text, name

        status, headers, body = await get(port, "/eigen/node")
        assert status == 200
        assert headers["content-type"] == "application/json"
        node = json.loads(body)
        assert set(node) == {"node_name", "spec_version", "node_version"}
        assert node["node_name"] == "p2pfl"
        assert node["spec_version"] == "v0.0.1"
        assert node["node_version"].startswith("v")

        # Initializing until the node listens, then ready: 206, then 200.
        assert (await get(port, "/eigen/node/health"))[::2] == (206, b"")
        status, _, body = await get(port, "/eigen/node/services")
        services = json.loads(body)["services"]
        assert [s["id"] for s in services] == ["p2p", "chain", "trainer"]
        for s in services:
            assert set(s) == {"id", "name", "description", "status"}
            assert s["status"] == "Initializing"
        assert (await get(port, "/eigen/node/services/trainer/health"))[0] == 206
        m.observe(Listening(peer_id="p", addrs=[], operator="0x0"))
        assert (await get(port, "/eigen/node/services/trainer/health"))[0] == 206
        m.observe(Ready(seconds=1.0))
        assert (await get(port, "/eigen/node/health"))[::2] == (200, b"")
        assert (await get(port, "/eigen/node/services/p2p/health"))[0] == 200
        assert (await get(port, "/eigen/node/services/nope/health"))[0] == 404
        assert (await get(port, "/eigen/node?version=v0.0.1"))[0] == 200
        status, _, body = await get(port, "/eigen/node?version=0.0.2")
        assert (status, json.loads(body)) == (404, {"message": "API version not found"})

        m.sampler = lambda: Sample(peers=0)  # no peer: partially healthy, p2p down
        assert (await get(port, "/eigen/node/health"))[0] == 206
        assert (await get(port, "/eigen/node/services/p2p/health"))[0] == 503

        for path in ("/", "/nope", "/metrics/x", "/eigen/node/", "/eigen/node/services/p2p"):
            assert (await get(port, path))[0] == 404, path
        status, headers, body = await exchange(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        assert status == 200
        assert body == b""
        assert (await exchange(port, b"POST /metrics HTTP/1.1\r\n\r\n"))[0] == 405


@pytest.mark.trio
async def test_bad_requests_get_a_status_and_the_server_stays_up() -> None:
    async with serving(node_metrics(), timeout_s=1.0) as port:
        for raw in (
            b"GARBAGE\r\n\r\n",
            b"GET\r\n\r\n",
            b"GET /metrics\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics FTP/1.0\r\n\r\n",
            b"get /metrics HTTP/1.1\r\n\r\n",
            b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n",
            b"\x00\xff\x16\x03\r\n\r\n",
        ):
            assert (await exchange(port, raw))[0] == 400, raw
        assert (await exchange(port, b"GET / HTTP/2.0\r\n\r\n"))[0] == 505
        huge = b"GET /metrics HTTP/1.1\r\nX: " + b"a" * (2 * MAX_HEAD) + b"\r\n\r\n"
        assert (await exchange(port, huge))[0] == 431
        # A client that sends half a request and waits is cut off at the deadline.
        with trio.fail_after(5):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            async with stream:
                await stream.send_all(b"GET /metrics HTTP/1.1\r\n")
                assert await stream.receive_some(100) == b""
        assert (await get(port, "/metrics"))[0] == 200


@pytest.mark.trio
async def test_start_reports_the_url_and_a_taken_port_is_a_config_error() -> None:
    seen: list[object] = []
    async with trio.open_nursery() as nursery:
        url = await start_metrics(nursery, node_metrics(), "127.0.0.1", 0, seen.append)
        assert seen == [MetricsServing(url=url)]
        port = int(url.rsplit(":", 1)[1].removesuffix("/metrics"))
        assert url == f"http://127.0.0.1:{port}/metrics"
        with pytest.raises(ConfigError, match="cannot serve metrics"):
            await nursery.start(partial(serve_metrics, node_metrics(), "127.0.0.1", port))
        nursery.cancel_scope.cancel()


def test_urls_and_request_parsing() -> None:
    assert metrics_url("0.0.0.0", 9) == "http://127.0.0.1:9/metrics"
    assert metrics_url("::", 9) == "http://[::1]:9/metrics"
    assert metrics_url("localhost", 9) == "http://localhost:9/metrics"
    req = parse_head(b"GET /eigen/node?version=0.0.1&x=1 HTTP/1.0\r\nHost: a")
    assert (req.method, req.path) == ("GET", "/eigen/node")
    assert req.query == {"version": ["0.0.1"], "x": ["1"]}
    with pytest.raises(BadRequestError):
        parse_head(b"GET /a b HTTP/1.1")
