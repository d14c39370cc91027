"""The RPC endpoint goes away for 10 s in the middle of an epoch (every node and the
watcher reach anvil through a proxy that the test takes down): each node reports it,
backs off, keeps running, and takes part again in the next epoch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from p2pfl.events import ChainUnreachable, Committed, Fault
from p2pfl.testnet.network import TestnetConfig, start_devnet
from p2pfl.testnet.runner import Testnet, run
from tests.e2e.rpc_proxy import rpc_proxy

pytestmark = pytest.mark.slow
OUTAGE_S = 10.0


def test_nodes_survive_a_dead_rpc_endpoint_and_take_part_again(tmp_path: Path) -> None:
    cfg = TestnetConfig(nodes=4, malicious=0, cheat_epochs=[], epochs=3)
    plan: dict[str, Any] = {}
    with start_devnet(cfg, tmp_path, say=print) as net:
        port = urlparse(net.rpc).port
        assert port is not None
        with rpc_proxy(port) as proxy:
            net.rpc = proxy.url  # the processes dial the proxy; the runner reads anvil

            def on_tick(tn: Testnet) -> None:
                # down once some node committed in epoch 2; up again OUTAGE_S later
                if "down" not in plan and tn.node_events(Committed, 2):
                    proxy.down()
                    plan["down"] = time.monotonic()
                elif (
                    "up" not in plan
                    and "down" in plan
                    and time.monotonic() - plan["down"] >= OUTAGE_S
                ):
                    proxy.up()
                    plan["up"] = time.monotonic()

            tn = run(net, say=print, on_tick=on_tick, epoch_timeout=150)
    assert {"down", "up"} <= set(plan), plan
    nodes = [f"node{op.index}" for op in net.operators]
    for name in [*nodes, "watcher"]:
        saw = [ev for n, ev in tn.events if n == name and isinstance(ev, ChainUnreachable | Fault)]
        kinds = [e.kind for n, e in tn.events if n == name]
        assert saw, f"{name} did not report the outage: {kinds}"
        waits = [ev.retry_s for ev in saw]
        assert max(waits) > min(waits), f"{name} did not back off: {waits}"
    # nobody died of it: every process ran to the last epoch and stopped by itself
    codes = {n: p.proc.returncode if p.proc else None for n, p in tn.procs.items()}
    assert all(codes[n] == 0 for n in nodes), codes
    # ... and every node took part again: the next epoch has all of them, finalized
    last = tn.history.epochs[cfg.epochs]
    assert last.done
    assert not last.skipped
    assert sorted(last.committed) == sorted(op.address for op in net.operators)
    assert last.final_result is not None
