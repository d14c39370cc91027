"""``p2pfl node --gossip-only`` as separate processes: a bootstrap and four nodes that
know only the bootstrap; every node gets every announcement and every blob."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TypeVar

import pytest

from p2pfl.events import (
    Announced,
    Event,
    Fetched,
    FetchFailed,
    Listening,
    Stopped,
    parse,
)

P2PFL = [sys.executable, "-m", "p2pfl"]


E = TypeVar("E", bound=Event)


class NodeProcess:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.events: list[Event] = []
        self.proc = subprocess.Popen(
            [
                *P2PFL,
                "node",
                "--gossip-only",
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--data-dir",
                str(data_dir),
                "--json",
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.events.append(parse(line))

    def wait_for(self, pred: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if pred(event):
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no such event; got {self.events}; stderr: {self.stderr()}")

    def of(self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=20)
        self._reader.join(timeout=5)
        return code

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()[-3000:]


@pytest.mark.slow
def test_bootstrap_and_four_nodes_exchange_everything(tmp_path: Path) -> None:
    boot = NodeProcess(tmp_path / "boot")
    nodes: list[NodeProcess] = []
    try:
        listening = boot.wait_for(lambda e: isinstance(e, Listening), 30)
        boot_addr = listening.addrs[0]
        nodes = [
            NodeProcess(
                tmp_path / f"n{i}",
                "--bootstrap",
                boot_addr,
                "--announce-bytes",
                "200000",
                "--expect-peers",
                "4",
            )
            for i in range(4)
        ]
        for proc in [boot, *nodes]:
            proc.wait_for(lambda _e, p=proc: len(p.of(Fetched)) >= 4, 60)
        digests = {e.digest for n in nodes for e in n.of(Announced)}
        assert len(digests) == 4
        for proc in [boot, *nodes]:
            assert {e.digest for e in proc.of(Fetched)} == digests
            assert all(e.bytes == 200_000 for e in proc.of(Fetched))
            assert not proc.of(FetchFailed)
    finally:
        codes = [p.stop() for p in [*nodes, boot]]
    assert codes == [0] * 5
    assert all(p.of(Stopped) for p in [boot, *nodes])

    # The identity persists: a restart keeps the peer id, and the key file is private.
    again = NodeProcess(tmp_path / "n0")
    try:
        first = nodes[0].of(Listening)[0].peer_id
        assert again.wait_for(lambda e: isinstance(e, Listening), 30).peer_id == first
    finally:
        assert again.stop() == 0
    assert (tmp_path / "n0" / "peer.key").stat().st_mode & 0o777 == 0o600


def test_bad_arguments_are_one_clear_line(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    cases = [
        (["--gossip-only", "--listen", f"/ip4/127.0.0.1/tcp/{port}"], "cannot listen on"),
        (["--gossip-only", "--listen", "/ip4/1.2.3/tcp/1"], "not a multiaddr"),
        (["--gossip-only", "--bootstrap", "/ip4/127.0.0.1/tcp/1"], "lacks its /p2p/"),
        ([], "--gossip-only"),
    ]
    for args, message in cases:
        proc = subprocess.run(
            [*P2PFL, "node", "--data-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, proc.stderr
        assert message in proc.stderr.replace("\n", "")
        assert "Traceback" not in proc.stderr
    taken.close()
