"""A local anvil chain as a context manager: a free port on 127.0.0.1 (or ``host``), ready
when it answers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from p2pfl.chain.toolchain import binary
from p2pfl.errors import ConfigError

MNEMONIC = "test test test test test test test test test test test junk"  # anvil's default


@dataclass(frozen=True)
class Anvil:
    url: str
    port: int
    accounts: int
    chain_id: int


_HANDED_OUT: set[int] = set()  # ports this process already gave out (maybe not bound yet)


def free_port() -> int:
    """A free TCP port on 127.0.0.1, never one this process handed out before: a port
    reserved for a process started later (the testnet's watcher) is not bound yet, and the
    kernel would otherwise offer it again (a node's metrics port took the watcher's)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def mine(w3: Web3, blocks: int) -> None:
    """Mine ``blocks`` empty blocks at once (anvil only): moves past block deadlines."""
    w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def dev_key(index: int) -> str:
    """The private key of anvil's default account ``index``."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    acct = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
    return "0x" + bytes(acct.key).hex()


@contextmanager
def run_anvil(
    accounts: int = 10,
    port: int | None = None,
    block_time: float | None = None,
    chain_id: int = 31337,
    log: Path | None = None,
    timeout: float = 15.0,
    host: str = "127.0.0.1",
) -> Iterator[Anvil]:
    """Start anvil on ``host`` (an address of this machine: the testnet's bridge with
    ``--netns``), wait until it answers JSON-RPC, stop it (and only it) on exit."""
    port = port or free_port()
    args = [
        str(binary("anvil")),
        "--host", host,
        "--port", str(port),
        "--accounts", str(accounts),
        "--chain-id", str(chain_id),
        "--mnemonic", MNEMONIC,
    ]  # fmt: skip
    if block_time:
        args += ["--block-time", str(block_time)]
    out = log.open("ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{host}:{port}"
    try:
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2}))
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ConfigError(f"anvil exited with code {proc.returncode} (port {port} busy?)")
            try:
                if w3.eth.chain_id == chain_id:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise ConfigError(f"anvil did not answer on {url} within {timeout} s")
            time.sleep(0.05)
        yield Anvil(url=url, port=port, accounts=accounts, chain_id=chain_id)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log and hasattr(out, "close"):
            out.close()
