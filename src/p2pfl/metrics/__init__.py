"""Prometheus metrics and the EigenLayer AVS Node API of a running node (``--metrics-port``):
:class:`NodeMetrics` (fed by the node's events and a scrape-time sampler),
:func:`serve_metrics` (the HTTP server, in the node's trio nursery)."""

from p2pfl.metrics.health import Health, HealthTracker, Service
from p2pfl.metrics.registry import NodeMetrics
from p2pfl.metrics.sample import Sample, peer_sampler
from p2pfl.metrics.server import metrics_url, serve_metrics, start_metrics

__all__ = [
    "Health",
    "HealthTracker",
    "NodeMetrics",
    "Sample",
    "Service",
    "metrics_url",
    "peer_sampler",
    "serve_metrics",
    "start_metrics",
]
