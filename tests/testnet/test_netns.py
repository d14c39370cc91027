"""Network namespaces for ``p2pfl testnet --netns``: the ``--link`` parser, the context
manager that builds and always removes the bridge, namespaces and veth pairs, TCP between
two namespaces, shaping and partitions. The namespace tests need root and ``ip`` (and
``nft`` for loss and partitions); they use their own bridge and subnet, not the testnet's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from p2pfl.errors import ConfigError
from p2pfl.testnet import netns
from p2pfl.testnet.netns import LinkSpec, Netns, check_tools, link_exists, network, parse_link
from p2pfl.testnet.network import TestnetConfig

BRIDGE, SUBNET = "p2pfltest0", "10.77.250"  # apart from a testnet's p2pflbr0 / 10.77.0
ROOT = os.geteuid() == 0 and shutil.which("ip") is not None
needs_root = pytest.mark.skipif(not ROOT, reason="network namespaces need root and `ip`")
needs_nft = pytest.mark.skipif(
    shutil.which("nft") is None, reason="loss and partitions need nftables (`nft`)"
)


# ---------------------------------------------------------------------- the --link parser


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("loss 2%", LinkSpec(2.0, None)),
        ("rate 20mbit", LinkSpec(None, "20mbit")),
        ("loss 2% rate 20mbit", LinkSpec(2.0, "20mbit")),
        ("  RATE 1.5Mbit   LOSS 0.5% ", LinkSpec(0.5, "1.5mbit")),
        ("loss 100%", LinkSpec(100.0, None)),
    ],
)
def test_link_spec_parses(text: str, spec: LinkSpec) -> None:
    assert parse_link(text) == spec
    assert parse_link(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("loss 2% bandwidth 3mbit", "unknown word 'bandwidth'"),
        ("delay 50ms", "no netem"),
        ("loss 2% jitter 5ms", "no netem"),
        ("loss", "needs a value"),
        ("loss 2% loss 3%", "twice"),
        ("loss 2", "percentage"),
        ("loss 0%", "percentage"),
        ("loss 101%", "percentage"),
        ("loss -1%", "percentage"),
        ("rate 20", "rate like 20mbit"),
        ("rate 20mbps", "rate like 20mbit"),
        ("rate 0mbit", "rate like 20mbit"),
    ],
)
def test_link_spec_is_strict(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        parse_link(text)


def test_config_checks_the_link() -> None:
    assert TestnetConfig(nodes=4, malicious=0, netns=True, link="loss 2%").link_spec == (
        LinkSpec(2.0, None)
    )
    with pytest.raises(ValidationError, match="needs --netns"):
        TestnetConfig(nodes=4, malicious=0, link="loss 2%")
    with pytest.raises(ValidationError, match="unknown word"):
        TestnetConfig(nodes=4, malicious=0, netns=True, link="lose 2%")


def test_cli_refuses_a_bad_link_in_one_line() -> None:
    cmd = [sys.executable, "-m", "p2pfl", "testnet", "--netns", "--link", "delay 20ms"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "no netem" in lines[0]


def test_refused_without_root_or_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ConfigError, match="needs root"):
        check_tools()
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="'ip' command"):
        check_tools()


# ---------------------------------------------------------------------- namespaces


def leftovers() -> list[str]:
    """Namespaces and links of the test bridge still present."""
    names = [ns for ns in netns.namespaces() if ns.startswith(BRIDGE)]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return names + [w.rstrip(":").split("@")[0] for w in links.split() if w.startswith(BRIDGE)]


@pytest.fixture
def two() -> Iterator[Netns]:
    with network(["a", "b"], bridge=BRIDGE, subnet=SUBNET) as net:
        yield net
    assert leftovers() == []


SERVER = """
import socket, sys
s = socket.create_server((sys.argv[1], 7000))
print("up", flush=True)
c, _ = s.accept()
c.sendall(c.recv(100).upper())
"""
CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], 7000), timeout=3) as c:
    c.sendall(b"ping"); print(c.recv(100).decode())
"""


def tcp_roundtrip(net: Netns, server: str, client: str) -> subprocess.CompletedProcess[str]:
    """A TCP echo from ``client``'s namespace to ``server``'s address."""
    address = net.address(server)
    srv = subprocess.Popen(
        [*net.exec_prefix(server), sys.executable, "-c", SERVER, address],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert srv.stdout is not None
        assert srv.stdout.readline().strip() == "up"
        return subprocess.run(
            [*net.exec_prefix(client), sys.executable, "-c", CLIENT, address],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    finally:
        srv.kill()
        srv.wait()


@needs_root
def test_network_is_built_and_removed(two: Netns) -> None:
    assert two.gateway == f"{SUBNET}.1"
    assert [two.address("a"), two.address("b")] == [f"{SUBNET}.10", f"{SUBNET}.11"]
    assert {f"{BRIDGE}-a", f"{BRIDGE}-b"} <= set(netns.namespaces())
    assert link_exists(BRIDGE)
    assert link_exists(f"{BRIDGE}-0")
    assert link_exists(f"{BRIDGE}-1")
    inside = subprocess.run(
        ["ip", "-n", f"{BRIDGE}-a", "-o", "addr"], capture_output=True, text=True
    ).stdout
    assert f"{SUBNET}.10/24" in inside


@needs_root
def test_everything_is_removed_when_the_body_raises() -> None:
    seen: list[str] = []

    def body() -> None:
        with network(["a", "b", "c"], bridge=BRIDGE, subnet=SUBNET):
            seen.extend(leftovers())
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert len(seen) >= 7  # 3 namespaces, the bridge, 3 veth ends on it
    assert leftovers() == []


@needs_root
def test_a_second_network_on_the_same_bridge_is_refused(two: Netns) -> None:
    with pytest.raises(ConfigError, match="exists"), network(["x"], bridge=BRIDGE):
        pass
    assert link_exists(BRIDGE)  # the first one's bridge is left alone


@needs_root
def test_tcp_between_two_namespaces(two: Netns) -> None:
    done = tcp_roundtrip(two, "a", "b")
    assert done.stdout.strip() == "PING", done.stderr


@needs_root
@needs_nft
def test_partition_and_heal(two: Netns) -> None:
    two.partition("b")
    assert tcp_roundtrip(two, "a", "b").returncode != 0  # cannot reach a
    two.heal("b")
    assert tcp_roundtrip(two, "a", "b").stdout.strip() == "PING"


@needs_root
@needs_nft
def test_links_are_shaped() -> None:
    link = parse_link("loss 2% rate 20mbit")
    with network(["a", "b"], link, bridge=BRIDGE, subnet=SUBNET) as net:
        outside = subprocess.run(
            ["tc", "qdisc", "show", "dev", f"{BRIDGE}-0"], capture_output=True, text=True
        ).stdout
        inside = subprocess.run(
            ["tc", "-n", f"{BRIDGE}-a", "qdisc", "show", "dev", "eth0"],
            capture_output=True,
            text=True,
        ).stdout
        assert "tbf" in outside
        assert "20Mbit" in outside
        assert "tbf" in inside
        assert "20Mbit" in inside
        rules = subprocess.run(
            [*net.exec_prefix("a"), "nft", "list", "ruleset"], capture_output=True, text=True
        ).stdout
        assert "numgen random mod 10000 < 200 drop" in rules
        assert tcp_roundtrip(net, "a", "b").stdout.strip() == "PING"  # 2 %: TCP retransmits
    assert leftovers() == []
