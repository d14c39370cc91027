"""What the metrics server answers: Prometheus' ``/metrics`` and the EigenLayer AVS Node
API (spec v0.0.1, as Layr-Labs' eigensdk-go ``nodeapi`` implements it):

- ``GET /eigen/node``: ``{"node_name", "spec_version", "node_version"}``;
- ``GET /eigen/node/health``: 200 healthy, 206 partially healthy, 503 unhealthy (no body);
- ``GET /eigen/node/services``: ``{"services": [{"id", "name", "description", "status"}]}``,
  status ``Up``, ``Down`` or ``Initializing``;
- ``GET /eigen/node/services/{id}/health``: 200 up, 206 initializing, 503 down, 404
  unknown.

``?version=`` other than the spec's answers 404 ``{"message": "API version not found"}``."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from p2pfl.metrics.http import Request, Response
from p2pfl.metrics.registry import NodeMetrics

log = logging.getLogger(__name__)
SPEC_VERSION = "v0.0.1"
NODE_NAME = "p2pfl"
SERVICE_STATUS = {"Up": 200, "Initializing": 206, "Down": 503}
_SERVICES = "/eigen/node/services/"


def node_version() -> str:
    try:
        return "v" + version("p2pfl")
    except PackageNotFoundError:
        return "v0.0.0"


def _json(obj: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(obj).encode(), "application/json")


def respond(metrics: NodeMetrics, req: Request, node_version: str = node_version()) -> Response:
    """The response to ``req``; an internal error is a 500 with the spec's body."""
    try:
        return _route(metrics, req, node_version)
    except Exception:
        log.exception("metrics server: %s %s failed", req.method, req.path)
        return _json({"message": "Internal server error"}, 500)


def _route(metrics: NodeMetrics, req: Request, node_version: str) -> Response:
    if req.method not in ("GET", "HEAD"):
        return Response(405, headers=(("Allow", "GET, HEAD"),))
    path = req.path
    if path == "/metrics":
        return Response(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
    if not path.startswith("/eigen/"):
        return Response(404)
    asked = req.query.get("version", [])
    if asked and asked[-1].removeprefix("v") != SPEC_VERSION.removeprefix("v"):
        return _json({"message": "API version not found"}, 404)
    if path == "/eigen/node":
        return _json(
            {"node_name": NODE_NAME, "spec_version": SPEC_VERSION, "node_version": node_version}
        )
    health, sample = metrics.health_now()
    if path == "/eigen/node/health":
        return Response(int(health))
    services = metrics.health.services(sample.peers)
    if path == "/eigen/node/services":
        return _json({"services": [asdict(s) for s in services]})
    if path.startswith(_SERVICES) and path.endswith("/health"):
        sid = path[len(_SERVICES) : -len("/health")]
        for s in services:
            if s.id == sid:
                return Response(SERVICE_STATUS[s.status])
    return Response(404)
