"""The metrics server: a small HTTP/1.1 server on ``trio.serve_tcp`` inside the node's
nursery (no threads), answering :mod:`p2pfl.metrics.api`. Each connection gets one
request, a deadline, and a bounded head; at most ``max_connections`` are served at once
(more are closed at once)."""

from __future__ import annotations

import ipaddress
import logging
from functools import partial

import trio
from trio_typing import TaskStatus  # trio's own is hidden by trio-typing's stubs

from p2pfl.errors import ConfigError
from p2pfl.events import Emit, MetricsServing
from p2pfl.metrics.api import node_version, respond
from p2pfl.metrics.http import BadRequestError, Response, parse_head, read_head
from p2pfl.metrics.registry import NodeMetrics

log = logging.getLogger(__name__)
TIMEOUT_S = 10.0  # per connection: read the request, write the answer
MAX_CONNECTIONS = 64


def metrics_url(host: str, port: int) -> str:
    """The URL of ``/metrics`` on a server bound to ``host`` (a wildcard: loopback)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}/metrics"
    if ip.is_unspecified:
        ip = ipaddress.ip_address("::1" if ip.version == 6 else "127.0.0.1")
    shown = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"http://{shown}:{port}/metrics"


async def serve_metrics(
    metrics: NodeMetrics,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout_s: float = TIMEOUT_S,
    max_connections: int = MAX_CONNECTIONS,
    task_status: TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``await nursery.start(serve_metrics, ...)`` returns the
    bound port (``port`` 0: any free one)."""
    version = node_version()
    active = 0

    async def handle(stream: trio.SocketStream) -> None:
        nonlocal active
        if active >= max_connections:
            await trio.aclose_forcefully(stream)
            return
        active += 1
        try:
            await _one_request(stream, metrics, version, timeout_s)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass  # the client went away
        except Exception:  # one bad connection must not stop the server
            log.exception("metrics server: connection failed")
        finally:
            active -= 1
            await trio.aclose_forcefully(stream)

    try:
        listeners = await trio.open_tcp_listeners(port, host=host)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc}") from None
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


async def start_metrics(
    nursery: trio.Nursery, metrics: NodeMetrics, host: str, port: int, emit: Emit
) -> str:
    """Start :func:`serve_metrics` in ``nursery``, report ``metrics`` (MetricsServing) and
    return the URL of ``/metrics``."""
    bound = await nursery.start(partial(serve_metrics, metrics, host, port))
    url = metrics_url(host, bound)
    emit(MetricsServing(url=url))
    return url


async def _one_request(
    stream: trio.SocketStream, metrics: NodeMetrics, version: str, timeout_s: float
) -> None:
    with trio.move_on_after(timeout_s):
        head_only = False
        try:
            req = parse_head(await read_head(stream))
            head_only = req.method == "HEAD"
            resp = respond(metrics, req, version)
        except BadRequestError as exc:
            resp = Response(exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8")
        await stream.send_all(resp.encode(head_only))
        await stream.send_eof()
