"""A local testnet: anvil with 1-second blocks, the devnet core, the AVS with a real Krum
verifier per participant count, N registered operators (encrypted keystores, libp2p
identities bound on chain, each with its own training file), N ``p2pfl node`` processes
(some malicious by choice) and a ``p2pfl challenge watch`` process, all on 127.0.0.1, or
with ``netns`` each in its own network namespace and address (``p2pfl.testnet.netns``)."""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount
from pydantic import BaseModel, Field, model_validator

from p2pfl.chain.anvil import dev_key, free_port, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import WAD, Deployment, deploy_devnet
from p2pfl.chain.epochs import Params
from p2pfl.errors import ConfigError
from p2pfl.events import Event, EventError, Listening, parse
from p2pfl.learn.dataset import save_npz
from p2pfl.learn.mnist import read_split
from p2pfl.learn.partition import shards_of
from p2pfl.net.identity import load_or_create_identity, peer_id_of
from p2pfl.protocol.model import GlobalModel
from p2pfl.robust.sketch_krum import parse_rho
from p2pfl.testnet.cheat import Cheat
from p2pfl.testnet.netns import LinkSpec, Netns, network, parse_link

Say = Callable[[str], None]
DATA_SEED = 0  # the seed of the operators' MNIST shards (TrainerConfig.data_seed's default)


class TestnetConfig(BaseModel):
    __test__ = False  # not a pytest class despite the name
    nodes: int = Field(8, ge=3, le=16)
    malicious: int = Field(2, ge=0)
    withhold: int = Field(0, ge=0)  # nodes that commit and never serve their update
    attack: str = "gaussian"
    cheat_epochs: list[int] = Field(default_factory=lambda: [2])
    cheat: Cheat = Cheat.WRONG_SKETCH  # how the cheating aggregator cheats
    epochs: int = Field(5, ge=1)
    samples: int = Field(2000, ge=32)  # training samples per operator
    alpha: float | None = Field(None, gt=0)  # Dirichlet label skew of the shards; None: IID
    model_seed: int = 0
    stake_wad: int = Field(32, ge=1)
    commit_blocks: int = Field(12, ge=4)
    submit_blocks: int = Field(20, ge=4)
    challenge_blocks: int = Field(6, ge=2)
    max_byzantine: int = Field(2, ge=0)
    max_attempts: int = Field(4, ge=1)  # aggregator attempts per epoch, then skipped
    # N_max (verifiers are deployed for n = 3 ..= it); fewer than the nodes: each epoch a
    # committee of this many is drawn by stake, the others watch. None: every node.
    committee: int | None = Field(None, ge=3, le=16)
    block_time: int = Field(1, ge=1)
    threads: int = Field(1, ge=1)  # torch threads per node process
    flag_slash_pct: float = Field(0.0, ge=0, le=100)  # DESIGN.md: flags do not slash
    flag_rho: str = "3"  # flagged iff score > rho * T
    aggregator_slash_pct: float = Field(10.0, ge=0, le=100)
    timeout_slash_pct: float = Field(1.0, ge=0, le=100)
    max_backoff_s: float | None = Field(None, ge=0.5)  # nodes' retry cap (None: theirs)
    netns: bool = False  # each process in its own network namespace (root only)
    link: str | None = None  # with netns: how each link is shaped, "loss 2% rate 20mbit"

    @model_validator(mode="after")
    def _check(self) -> TestnetConfig:
        if self.committee is not None and self.committee > self.nodes:
            raise ValueError("the committee cannot be larger than the nodes")
        if self.malicious + self.withhold >= self.nodes:
            raise ValueError("malicious and withholding nodes together must be fewer than nodes")
        _ = self.rho  # raises on a bad rho
        if self.link is not None and not self.netns:
            raise ValueError("--link shapes the namespaces' links: it needs --netns")
        _ = self.link_spec  # raises on a bad spec
        return self

    @property
    def committee_size(self) -> int:
        return self.committee or self.nodes

    @property
    def link_spec(self) -> LinkSpec | None:
        return None if self.link is None else parse_link(self.link)

    @property
    def rho(self) -> Fraction:
        return parse_rho(self.flag_rho)

    @property
    def malicious_indices(self) -> list[int]:
        """The last ``malicious`` nodes (node 0 is everyone's bootstrap and stays honest)."""
        return list(range(self.nodes - self.malicious, self.nodes))

    @property
    def withholding_indices(self) -> list[int]:
        """The ``withhold`` nodes just before the malicious ones: honest but for serving."""
        end = self.nodes - self.malicious
        return list(range(end - self.withhold, end))


@dataclass
class Operator:
    index: int
    account: LocalAccount
    data_dir: Path
    keystore: Path
    peer_id: str
    port: int
    attack: str | None
    host: str = "127.0.0.1"  # the IP address it listens on (its namespace's, with netns)

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def label(self) -> str:
        """node0, node1, ...; the watcher is the one past the last node."""
        return f"node{self.index}"

    def multiaddr(self) -> str:
        return f"/ip4/{self.host}/tcp/{self.port}/p2p/{self.peer_id}"

    @property
    def train_file(self) -> Path:
        """The operator's own training set, which its node reads with ``--data``."""
        return self.data_dir / "train.npz"


@dataclass
class Devnet:
    config: TestnetConfig
    out: Path
    rpc: str
    chain: Chain
    deployer: LocalAccount
    deployment: Deployment
    operators: list[Operator]
    watcher: Operator
    password_file: Path
    netns: Netns | None = None  # with cfg.netns: the processes' namespaces

    def exec_prefix(self, who: Operator) -> list[str]:
        """What runs ``who``'s process in its namespace (nothing without netns)."""
        if self.netns is None:
            return []
        return self.netns.exec_prefix("watcher" if who is self.watcher else who.label)


def _keystore(acct: LocalAccount, password: str, path: Path) -> None:
    # A light scrypt (n = 2^14): the testnet starts many nodes at once on a small machine;
    # real keystores (geth, clef, cast) use 2^18.
    blob = Account.encrypt(acct.key, password, kdf="scrypt", iterations=1 << 14)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(blob, out)


def _operator(
    index: int,
    acct: LocalAccount,
    folder: Path,
    password: str,
    attack: str | None,
    host: str = "127.0.0.1",
) -> Operator:
    folder.mkdir(parents=True, exist_ok=True)
    keystore = folder / "keystore.json"
    _keystore(acct, password, keystore)
    pid = peer_id_of(load_or_create_identity(folder))
    return Operator(index, acct, folder, keystore, pid.to_base58(), free_port(), attack, host)


def write_training_sets(cfg: TestnetConfig, ops: list[Operator]) -> None:
    """Give each operator its own training file: its shard of the bundled MNIST training
    split, IID or Dirichlet(``alpha``), cut as a node cuts its ``--shard`` (same function,
    same seed). The nodes then train with ``--data``, the path a real operator takes."""
    images, labels = read_split("train")
    parts = shards_of(labels.astype(np.int64), cfg.nodes, cfg.alpha, DATA_SEED)
    for op, part in zip(ops, parts, strict=True):
        save_npz(op.train_file, images[part], labels[part])


def _wad(pct: float) -> int:
    return round(pct * 10**16)


@contextmanager
def start_devnet(cfg: TestnetConfig, out: Path, say: Say) -> Iterator[Devnet]:
    """anvil + contracts + registered operators; anvil stops on exit. With ``cfg.netns``
    the namespaces come first (anvil listens on their bridge) and go last."""
    out.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        ns: Netns | None = None
        if cfg.netns:
            labels = [f"node{i}" for i in range(cfg.nodes)] + ["watcher"]
            ns = stack.enter_context(network(labels, cfg.link_spec))
            shaped = f", each link shaped: {cfg.link}" if cfg.link else ""
            say(f"network namespaces on bridge {ns.bridge} ({ns.gateway}/24){shaped}")
        yield stack.enter_context(_devnet(cfg, out, say, ns))


@contextmanager
def _devnet(cfg: TestnetConfig, out: Path, say: Say, ns: Netns | None) -> Iterator[Devnet]:
    password = secrets.token_urlsafe(16)
    password_file = out / "password.txt"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    say("building contracts")
    build_contracts()
    host = "127.0.0.1" if ns is None else ns.gateway
    with run_anvil(accounts=cfg.nodes + 2, log=out / "anvil.log", host=host) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        bad = set(cfg.malicious_indices)
        ops = [
            _operator(
                i,
                account(dev_key(i + 1)),
                out / f"node{i}",
                password,
                cfg.attack if i in bad else None,
                host if ns is None else ns.address(f"node{i}"),
            )
            for i in range(cfg.nodes)
        ]
        watcher = _operator(
            cfg.nodes,
            account(dev_key(cfg.nodes + 1)),
            out / "watcher",
            password,
            None,
            host if ns is None else ns.address("watcher"),
        )
        cut = "IID" if cfg.alpha is None else f"Dirichlet({cfg.alpha})"
        say(f"writing each operator's training set ({cut} MNIST shards, node*/train.npz)")
        write_training_sets(cfg, ops)
        from libp2p.peer.id import ID

        from p2pfl.zk import verifier

        params = Params(
            commit_blocks=cfg.commit_blocks,
            submit_blocks=cfg.submit_blocks,
            challenge_blocks=cfg.challenge_blocks,
            max_byzantine=cfg.max_byzantine,
            max_attempts=cfg.max_attempts,
            committee_size=cfg.committee_size,
            flag_rho_num=cfg.rho.numerator,
            flag_rho_den=cfg.rho.denominator,
            flag_slash_wad=_wad(cfg.flag_slash_pct),
            aggregator_slash_wad=_wad(cfg.aggregator_slash_pct),
            timeout_slash_wad=_wad(cfg.timeout_slash_pct),
        )
        say(f"deploying to {anvil.url}: core, AVS, Krum verifiers for n = 3..{cfg.committee_size}")
        deployment = deploy_devnet(
            chain,
            deployer,
            [
                (op.account, cfg.stake_wad * WAD, ID.from_base58(op.peer_id).to_bytes())
                for op in ops
            ],
            verifier=lambda: verifier.deploy_router(
                chain, deployer, range(3, cfg.committee_size + 1), params.sketch_dim, say=say
            ),
            params=params,
            genesis_model=GlobalModel.genesis(cfg.model_seed).digest,
            say=say,
        )
        deployment.write(out / "deployment.json")
        # Deployed with automine (one block per transaction, fast); the epochs run on
        # interval mining, as a real chain does: block deadlines become wall-clock time.
        chain.w3.provider.make_request("evm_setIntervalMining", [cfg.block_time])  # type: ignore[arg-type]
        say(f"deployed in {deployment.seconds:.0f} s: epoch manager {deployment.avs.epoch_manager}")
        yield Devnet(
            cfg, out, anvil.url, chain, deployer, deployment, ops, watcher, password_file, ns
        )


# ---------------------------------------------------------------------- processes


@dataclass
class NodeProcess:
    name: str
    args: list[str]
    log: Path
    events: queue.Queue[tuple[str, Event]]
    proc: subprocess.Popen[str] | None = None
    restarts: int = 0
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=self.log.open("a"),
            text=True,
            env=env,
            start_new_session=True,
        )
        reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        reader.start()
        self._threads.append(reader)

    def _read(self, stream: IO[str] | None) -> None:
        if stream is None:
            return
        with self.log.with_suffix(".jsonl").open("a") as copy:
            for line in stream:
                copy.write(line)
                copy.flush()
                try:
                    event = parse(line)
                except EventError:
                    continue  # not an event line
                self.events.put((self.name, event))

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(timeout=2)
        return self.proc.returncode

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()


def p2pfl_command() -> list[str]:
    return [sys.executable, "-m", "p2pfl"]


def _network_args(net: Devnet, who: Operator) -> list[str]:
    """What the node and the watcher share: chain, key, data directory, address."""
    return [
        "--json",
        "--rpc", net.rpc,
        "--epoch-manager", net.deployment.avs.epoch_manager,
        "--keystore", str(who.keystore),
        "--password-file", str(net.password_file),
        "--data-dir", str(who.data_dir),
        "--listen", f"/ip4/{who.host}/tcp/{who.port}",
        "--model-seed", str(net.config.model_seed),
        "--epochs", str(net.config.epochs),
    ]  # fmt: skip


def node_args(net: Devnet, op: Operator) -> list[str]:
    cfg = net.config
    args = [*net.exec_prefix(op), *p2pfl_command(), "node", *_network_args(net, op)]
    args += ["--data", str(op.train_file), "--samples", str(cfg.samples)]
    args += ["--threads", str(cfg.threads), "--no-open-first-epoch"]
    if op.index:
        args += ["--bootstrap", net.operators[0].multiaddr()]
    if op.attack:
        args += ["--testnet-attack", op.attack]
    if op.index in cfg.withholding_indices:
        args += ["--testnet-withhold"]
    for e in cfg.cheat_epochs:
        args += ["--testnet-cheat-epoch", str(e)]
    if cfg.cheat_epochs:
        args += ["--testnet-cheat", str(cfg.cheat)]
    if cfg.max_backoff_s is not None:
        args += ["--max-backoff", str(cfg.max_backoff_s)]
    args += ["--metrics-port", str(free_port())]  # its URL: the node's `metrics` event
    if op.host != "127.0.0.1":
        args += ["--metrics-host", op.host]
    return args


def watcher_args(net: Devnet) -> list[str]:
    prefix = net.exec_prefix(net.watcher)
    args = [*prefix, *p2pfl_command(), "challenge", "watch", *_network_args(net, net.watcher)]
    return [*args, "--bootstrap", net.operators[0].multiaddr()]


@contextmanager
def launch(
    net: Devnet,
    events: queue.Queue[tuple[str, Event]],
    seen: list[tuple[str, Event]],
) -> Iterator[dict[str, NodeProcess]]:
    """Start every node and the watcher; stop (SIGTERM, then SIGKILL) all of them on exit."""
    procs: dict[str, NodeProcess] = {}
    for op in net.operators:
        name = f"node{op.index}"
        procs[name] = NodeProcess(name, node_args(net, op), net.out / f"{name}.log", events)
    procs["watcher"] = NodeProcess("watcher", watcher_args(net), net.out / "watcher.log", events)
    with ExitStack() as stack:
        first = procs["node0"]  # everyone's bootstrap: up before the others dial it
        first.start()
        stack.callback(first.stop)
        wait_for(Listening, {"node0": first}, events, timeout=120, seen=seen)
        for p in procs.values():
            if p is not first:
                p.start()
                stack.callback(p.stop)
        yield procs


def wait_for(
    kind: type[Event],
    procs: dict[str, NodeProcess],
    events: queue.Queue[tuple[str, Event]],
    timeout: float,
    seen: list[tuple[str, Event]],
) -> None:
    """Block until every process reported an event of type ``kind`` (``Listening``,
    ``Ready``); the events read meanwhile are kept in ``seen``."""
    deadline = time.monotonic() + timeout
    ready = {n for n, ev in seen if isinstance(ev, kind) and n in procs}
    while ready != set(procs):
        left = deadline - time.monotonic()
        dead = [n for n, p in procs.items() if not p.running]
        if dead:
            raise ConfigError(f"{', '.join(dead)} exited during start-up; see their .log files")
        if left <= 0:
            missing = sorted(set(procs) - ready)
            raise ConfigError(
                f"{', '.join(missing)} did not report {kind.kind} within {timeout:.0f} s"
            )
        try:
            name, event = events.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        seen.append((name, event))
        if isinstance(event, kind):
            ready.add(name)
