"""A js-libp2p 3 peer (``interop/js/peer.mjs``: TCP, Noise, Yamux, identify, GossipSub
17.1.1) against p2pfl's node with the fast transport: it receives a node's gossip
announcement and fetches the blob over ``/p2pfl/blob/1``; a Python host fetches a blob
the JS peer serves. Needs ``npm ci --prefix interop/js``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import multiaddr
import pytest
import trio
from libp2p.crypto.secp256k1 import create_new_key_pair
from libp2p.peer.peerinfo import info_from_p2p_addr

from p2pfl.events import Announced, Listening, parse
from p2pfl.hashing import keccak256
from p2pfl.net.blob import BlobService, BlobStore
from p2pfl.net.config import BlobConfig
from p2pfl.net.fastyamux import FastYamux
from p2pfl.net.gossip_node import DEV_AVS
from p2pfl.net.host import build_host
from p2pfl.net.topics import topic

JS = Path(__file__).resolve().parents[2] / "interop" / "js"
PEER = JS / "peer.mjs"
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (JS / "node_modules").is_dir(),
        reason="interop/js/node_modules is absent: run `npm ci --prefix interop/js`",
    ),
]

CHAIN_ID = 31337
EPOCH = 3
SIZE = 3_000_000


def test_js_peer_fetches_an_announced_blob_from_a_gossip_node(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "p2pfl", "node", "--gossip-only", "--json",
           "--listen", "/ip4/127.0.0.1/tcp/0", "--data-dir", str(tmp_path),
           "--epoch", str(EPOCH), "--chain-id", str(CHAIN_ID),
           "--announce-bytes", str(SIZE), "--expect-peers", "1"]  # fmt: skip
    node = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert node.stdout is not None
        listening = parse(node.stdout.readline())
        assert isinstance(listening, Listening)
        assert NODE is not None
        updates = topic(CHAIN_ID, DEV_AVS, EPOCH, "updates")
        js = subprocess.run(
            [NODE, str(PEER), "fetch-announced", listening.addrs[0], updates, "60"],
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert js.returncode == 0, js.stdout + js.stderr
        result = json.loads(js.stdout.strip().splitlines()[-1])
        # The node announced before the JS peer could fetch: its event is already out.
        announced = None
        for line in node.stdout:
            event = parse(line)
            if isinstance(event, Announced):
                announced = event
                break
    finally:
        node.terminate()
        node.wait(20)
    assert announced is not None
    assert result["ok"] is True  # keccak256 of the fetched bytes == announced digest
    assert result["digest"] == announced.digest
    assert result["size"] == SIZE
    assert result["kind"] == "updates"
    assert result["epoch"] == EPOCH


@pytest.mark.trio
async def test_python_fetches_a_blob_the_js_peer_serves() -> None:
    assert NODE is not None
    proc = await trio.lowlevel.open_process(
        [NODE, str(PEER), "serve", str(SIZE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                part = await proc.stdout.receive_some(4096)
                assert part, "the JS peer ended before offering its blob"
                line += part
        offer = json.loads(line)
        digest = bytes.fromhex(offer["digest"])
        host = build_host(create_new_key_pair())  # the fast transport
        blobs = BlobService(host, BlobStore(), BlobConfig())
        info = info_from_p2p_addr(multiaddr.Multiaddr(offer["addr"]))
        async with host.run([multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]):
            with trio.fail_after(60):
                await host.connect(info)
                muxer = host.get_network().get_connections(info.peer_id)[0].muxed_conn
                assert isinstance(muxer, FastYamux)
                data = await blobs.fetch(digest, [info.peer_id], size=SIZE)
                assert keccak256(data) == digest
                assert muxer.window_violations == 0
            await host.close()
    finally:
        assert proc.stdin is not None
        await proc.stdin.aclose()
        with trio.move_on_after(10):
            await proc.wait()
        if proc.returncode is None:
            proc.kill()
