"""Network namespaces for the testnet (``p2pfl testnet --netns``): each process in its own
namespace with its own address on a bridge, links shaped by ``--link``.

The bridge (``p2pflbr0``, 10.77.0.1/24) lives in the root namespace; each host gets a
namespace ``<bridge>-<label>`` with a veth pair: ``<bridge>-<i>`` on the bridge, ``eth0``
with 10.77.0.(10+i) inside. A link spec (``"loss 2% rate 20mbit"``) shapes a host's link:
the rate with a ``tbf`` qdisc on both ends of its veth pair (the kernel here has no
``netem``, so no delay), the loss with an nftables rule on the namespace's input.
``partition(label)`` / ``heal(label)`` cut a host off the bridge and reconnect it.

Everything needs root and ``ip`` (iproute2); ``tc`` for a rate, ``nft`` (nftables) for loss
and partitions. ``network()`` removes what it created on exit, also after an exception or
Ctrl-C."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from p2pfl.errors import ConfigError

BRIDGE = "p2pflbr0"
SUBNET = "10.77.0"  # a /24: the bridge is .1, host i is .(10 + i)
FIRST_HOST = 10
LOSS_TABLE = "p2pfl_loss"
PARTITION_TABLE = "p2pfl_partition"
RATE_UNITS = ("bit", "kbit", "mbit", "gbit")
_NUMBER = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class LinkSpec:
    """How each host's link is shaped: ``loss_pct`` of incoming packets dropped, the
    bandwidth capped at ``rate`` (tc syntax, like ``20mbit``) each way."""

    loss_pct: float | None = None
    rate: str | None = None

    def __str__(self) -> str:
        words = []
        if self.loss_pct is not None:
            words.append(f"loss {self.loss_pct:g}%")
        if self.rate is not None:
            words.append(f"rate {self.rate}")
        return " ".join(words)


def parse_link(text: str) -> LinkSpec:
    """``"loss 2% rate 20mbit"``: pairs of a keyword and its value, each at most once.
    Anything else is a ConfigError that names the offending word."""
    words = text.split()
    if not words:
        raise ConfigError("empty --link spec; expected e.g. 'loss 2% rate 20mbit'")
    got: dict[str, str] = {}
    for i in range(0, len(words), 2):
        key = words[i].lower()
        if key in ("delay", "latency", "jitter", "duplicate", "reorder", "corrupt"):
            raise ConfigError(
                f"--link {key!r} is not supported: this kernel has no netem qdisc "
                "(only 'loss N%' and 'rate N{bit,kbit,mbit,gbit}' are)"
            )
        if key not in ("loss", "rate"):
            raise ConfigError(
                f"unknown word {words[i]!r} in --link {text!r}; expected 'loss N%' and/or "
                "'rate N{bit,kbit,mbit,gbit}'"
            )
        if key in got:
            raise ConfigError(f"--link gives {key!r} twice: {text!r}")
        if i + 1 >= len(words):
            raise ConfigError(f"--link {key!r} needs a value: {text!r}")
        got[key] = words[i + 1].lower()
    loss = rate = None
    if "loss" in got:
        m = re.fullmatch(_NUMBER + "%", got["loss"])
        if m is None or not 0 < float(m.group(1)) <= 100:
            raise ConfigError(f"--link loss {got['loss']!r}: expected a percentage like 2%")
        loss = float(m.group(1))
    if "rate" in got:
        m = re.fullmatch(_NUMBER + "(" + "|".join(RATE_UNITS) + ")", got["rate"])
        if m is None or float(m.group(1)) <= 0:
            raise ConfigError(
                f"--link rate {got['rate']!r}: expected a rate like 20mbit "
                f"(units {', '.join(RATE_UNITS)})"
            )
        rate = got["rate"]
    return LinkSpec(loss, rate)


def check_tools(link: LinkSpec | None = None, nft: bool = False) -> None:
    """ConfigError (one line) unless we can build namespaces: root, ``ip``; ``tc`` for a
    rate limit, ``nft`` for loss (and partitions, with ``nft=True``)."""
    if os.geteuid() != 0:
        raise ConfigError("--netns needs root (network namespaces, veth pairs, a bridge)")
    if shutil.which("ip") is None:
        raise ConfigError("--netns needs the 'ip' command (apt-get install iproute2)")
    if link is not None and link.rate is not None and shutil.which("tc") is None:
        raise ConfigError("--link rate needs the 'tc' command (apt-get install iproute2)")
    if (nft or (link is not None and link.loss_pct is not None)) and shutil.which("nft") is None:
        raise ConfigError("--link loss needs the 'nft' command (apt-get install nftables)")


def _run(*args: str, stdin: str | None = None) -> None:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = (done.stderr or done.stdout).strip().splitlines()
        raise ConfigError(f"{' '.join(args)}: {msg[0] if msg else f'exit {done.returncode}'}")


def _quiet(*args: str) -> None:
    subprocess.run(args, capture_output=True, check=False)


def namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def link_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", "dev", name], capture_output=True).returncode == 0


@dataclass(frozen=True)
class Host:
    label: str  # node0, watcher
    namespace: str
    address: str
    veth: str  # the end on the bridge, in the root namespace


@dataclass
class Netns:
    """The namespaces of one testnet. ``hosts`` by label; ``gateway`` is the bridge's
    address (where anvil listens)."""

    bridge: str
    gateway: str
    hosts: dict[str, Host] = field(default_factory=dict)

    def exec_prefix(self, label: str) -> list[str]:
        """Prepend to an argv to run it in ``label``'s namespace (``ip`` execs the command,
        so the process id is the command's own)."""
        return ["ip", "netns", "exec", self.hosts[label].namespace]

    def address(self, label: str) -> str:
        return self.hosts[label].address

    def shape(self, label: str, link: LinkSpec) -> None:
        host = self.hosts[label]
        if link.rate is not None:
            tbf = ["root", "tbf", "rate", link.rate, "burst", "32kbit", "latency", "400ms"]
            _run("tc", "qdisc", "replace", "dev", host.veth, *tbf)  # towards the host
            _run("tc", "-n", host.namespace, "qdisc", "replace", "dev", "eth0", *tbf)  # from
        if link.loss_pct is not None:
            basis_points = round(link.loss_pct * 100)
            _nft(
                host.namespace,
                f"table inet {LOSS_TABLE} {{\n chain in {{ type filter hook input priority 0; "
                f"numgen random mod 10000 < {basis_points} drop; }}\n}}\n",
            )

    def partition(self, label: str) -> None:
        """Drop everything into and out of ``label``'s namespace but its loopback."""
        ns = self.hosts[label].namespace
        _nft(
            ns,
            f"table inet {PARTITION_TABLE} {{\n"
            ' chain in { type filter hook input priority -10; iifname != "lo" drop; }\n'
            ' chain out { type filter hook output priority -10; oifname != "lo" drop; }\n}\n',
        )

    def heal(self, label: str) -> None:
        _quiet("ip", "netns", "exec", self.hosts[label].namespace,
               "nft", "delete", "table", "inet", PARTITION_TABLE)  # fmt: skip


def _nft(namespace: str, ruleset: str) -> None:
    _run("ip", "netns", "exec", namespace, "nft", "-f", "-", stdin=ruleset)


@contextmanager
def network(
    labels: Sequence[str],
    link: LinkSpec | None = None,
    bridge: str = BRIDGE,
    subnet: str = SUBNET,
) -> Iterator[Netns]:
    """A bridge with ``subnet``.1/24 and one namespace per label (label i at
    ``subnet``.(10 + i)), each link shaped by ``link``; all removed on exit (processes
    still running in the namespaces are killed first)."""
    check_tools(link)
    if len(bridge) > 11 or not re.fullmatch(r"[a-z0-9]+", bridge):
        raise ConfigError(f"bridge name {bridge!r}: at most 11 lowercase letters and digits")
    if len(labels) > 240:
        raise ConfigError("at most 240 namespaces on one /24")
    if link_exists(bridge):
        raise ConfigError(
            f"{bridge} exists: another --netns testnet is running, or one was killed "
            f"(remove it with: ip link del {bridge}; ip netns del {bridge}-<name>)"
        )
    net = Netns(bridge, f"{subnet}.1")
    try:
        _run("ip", "link", "add", bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{net.gateway}/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        for i, label in enumerate(labels):
            ns, veth, inner = f"{bridge}-{label}", f"{bridge}-{i}", f"{bridge}n{i}"
            address = f"{subnet}.{FIRST_HOST + i}"
            if ns in namespaces():
                raise ConfigError(f"network namespace {ns} exists (ip netns del {ns})")
            _run("ip", "netns", "add", ns)
            net.hosts[label] = Host(label, ns, address, veth)
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", inner)
            _run("ip", "link", "set", veth, "master", bridge, "up")
            _run("ip", "link", "set", inner, "netns", ns)
            _run("ip", "-n", ns, "link", "set", inner, "name", "eth0")
            _run("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            if link is not None:
                net.shape(label, link)
        yield net
    finally:
        _teardown(net, len(labels))


def _teardown(net: Netns, count: int) -> None:
    for host in net.hosts.values():
        _kill_inside(host.namespace)
        _quiet("ip", "netns", "del", host.namespace)
    for i in range(count):  # a veth made before its namespace was (an error in between)
        for name in (f"{net.bridge}-{i}", f"{net.bridge}n{i}"):
            if link_exists(name):
                _quiet("ip", "link", "del", name)
    _quiet("ip", "link", "del", net.bridge)


def _kill_inside(namespace: str) -> None:
    """SIGKILL what still runs in a namespace we made (our own processes): a namespace
    with a process in it outlives ``ip netns del``, and so do its links."""
    out = subprocess.run(
        ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
    )
    for word in out.stdout.split():
        with suppress(ValueError, ProcessLookupError):
            os.kill(int(word), signal.SIGKILL)
