"""The testnet with every node and the watcher in its own network namespace (``--netns``):
the nodes dial each other's real addresses on a bridge, anvil listens on the bridge, and
with nftables each link drops 2 % of its packets and one node is partitioned for an
epoch. Every epoch completes; the partitioned node takes part again after it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from p2pfl.events import Listening
from p2pfl.testnet.network import TestnetConfig
from p2pfl.testnet.runner import Testnet
from tests.e2e.conftest import run_testnet, show

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="--netns needs root and `ip`",
    ),
]


def test_testnet_in_network_namespaces_and_a_partitioned_node_rejoins(tmp_path: Path) -> None:
    """Four nodes and the watcher, each in its own namespace, every link dropping 2 % of
    its packets; node2 is cut off (nftables drops all it sends and receives) as epoch 1
    opens and reconnected once epoch 1 is finalized without it: it takes part in epoch 2.
    Every epoch completes, nobody honest is slashed."""
    nft = shutil.which("nft") is not None
    link = "loss 2%" if nft else None  # without nftables: links unshaped, no partition
    # A healed node notices the chain again after its retry backoff (capped at 2 s here)
    # and after an RPC request caught in the partition gets through (TCP retransmits its
    # SYN or data at growing intervals): a 30-block commit window leaves it time to train
    # and commit. Epoch 1's commit phase runs to that deadline (node2 never commits).
    cfg = TestnetConfig(
        nodes=4,
        malicious=0,
        cheat_epochs=[],
        epochs=2,
        samples=500,
        commit_blocks=30,
        max_backoff_s=2.0,
        netns=True,
        link=link,
    )
    cut: list[str] = []

    def on_tick(tn: Testnet) -> None:
        ns = tn.net.netns
        assert ns is not None
        if not nft:
            return
        if not cut:
            ns.partition("node2")
            cut.append("cut")
        rec = tn.history.epochs.get(1)
        if cut == ["cut"] and rec is not None and rec.done:
            ns.heal("node2")
            cut.append("healed")

    with run_testnet(tmp_path, cfg, on_tick=on_tick) as (tn, expectations):
        times = [r.seconds_excluding_window for r in tn.rows()]
        print(f"link {link}: epoch seconds excluding the challenge window {times}")
        assert all(x.met for x in expectations), show(expectations)
        assert tn.net.rpc.startswith("http://10.77.0.1:")
        addrs = {name: ev.addrs for name, ev in tn.events if isinstance(ev, Listening)}
        for i in range(cfg.nodes):
            assert any(a.startswith(f"/ip4/10.77.0.{10 + i}/tcp/") for a in addrs[f"node{i}"])
        assert any(a.startswith(f"/ip4/10.77.0.{10 + cfg.nodes}/") for a in addrs["watcher"])
        if nft:
            assert cut == ["cut", "healed"]
            node2 = tn.net.operators[2].address
            assert node2 not in tn.history.epochs[1].committed
            assert node2 in tn.history.epochs[2].committed
