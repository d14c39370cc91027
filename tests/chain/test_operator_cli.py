"""``p2pfl operator`` as an operator runs it, on both cores: register a newcomer from its
keystore with only the RPC URL and the epoch manager's address (the core is found on
chain), show its state, deregister; and the refusals, each one line, exit code 2, with
nothing sent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from p2pfl.chain import operator as ops
from p2pfl.chain.deploy import OPERATOR_SET_ID, WAD, mint_stake
from p2pfl.errors import ConfigError
from p2pfl.net.identity import load_or_create_identity, peer_id_of
from tests.chain.conftest import Devnet

# Refusals and CLI plumbing do not depend on the core: they run on the devnet only; the
# paths through the core (register, status, deregister, slashes) run on both cores.
DEVNET_ONLY = pytest.mark.parametrize("devnet_session", ["devnet"], indirect=True)
P2PFL = shutil.which("p2pfl") or str(Path(sys.executable).with_name("p2pfl"))
PASSWORD = "operator-test"


def keystore(path: Path, key: bytes) -> Path:
    path.write_text(json.dumps(Account.encrypt(key, PASSWORD, kdf="pbkdf2", iterations=1000)))
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PW": PASSWORD}
    return subprocess.run(
        [P2PFL, "operator", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def network_args(d: Devnet) -> list[str]:
    return ["--rpc", d.chain.url, "--epoch-manager", d.deployment.avs.epoch_manager]


def test_the_core_is_found_from_the_epoch_manager_alone(devnet: Devnet) -> None:
    d = devnet
    found = ops.discover(d.chain, d.deployment.avs.epoch_manager)
    assert found.core == d.core
    assert found.avs == d.deployment.avs


def test_register_status_deregister_as_an_operator_would(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    newcomer = d.watcher
    mint_stake(d.chain, d.deployer, d.core, newcomer.address, 7 * WAD)
    ks = keystore(tmp_path / "ks.json", newcomer.key)
    auth = ["--keystore", str(ks), "--password-env", "PW"]
    node_dir = tmp_path / "node"

    before = run("status", *network_args(d), "--keystore", str(ks))
    assert before.returncode == 0, before.stderr
    assert "not an EigenLayer operator" in before.stdout

    joined = run("register", *network_args(d), *auth, "--stake", "7", "--data-dir", str(node_dir))
    assert joined.returncode == 0, joined.stderr
    assert "registered" in joined.stdout
    assert d.stake_of(newcomer.address) == 7 * WAD
    peer = peer_id_of(load_or_create_identity(node_dir))
    service = d.service_manager
    assert bytes(d.chain.call(service.functions.peerIdOf(newcomer.address))) == peer.to_bytes()

    shown = run("status", *network_args(d), "--address", newcomer.address)
    assert shown.returncode == 0, shown.stderr
    assert "registered" in shown.stdout
    assert peer.to_base58() in shown.stdout
    assert "stake counted by the AVS" in shown.stdout

    again = run("register", *network_args(d), *auth, "--stake", "7", "--data-dir", str(node_dir))
    assert again.returncode == 2
    assert "already registered" in again.stderr
    assert "Traceback" not in again.stderr

    left = run("deregister", *network_args(d), *auth)
    assert left.returncode == 0, left.stderr
    assert "slashable until block" in left.stdout
    am = d.allocation_manager
    operator_set = (d.deployment.avs.service_manager, OPERATOR_SET_ID)
    assert not d.chain.call(am.functions.isMemberOfOperatorSet(newcomer.address, operator_set))
    assert d.chain.call(am.functions.isOperatorSlashable(newcomer.address, operator_set))
    state = ops.status(ops.discover(d.chain, d.deployment.avs.epoch_manager), newcomer.address)
    assert state.state == "deregistered, still slashable"
    assert state.allocation.pending == -WAD  # all of it, queued
    assert state.allocation.effect_block > state.block

    twice = run("deregister", *network_args(d), *auth)
    assert twice.returncode == 2
    assert "not registered" in twice.stderr


def test_status_lists_past_slashes(devnet: Devnet) -> None:
    from tests.chain.test_core_paths import submitted

    d = devnet
    e, outlier = submitted(d)
    d.mine(d.epochs.params().challenge_blocks + 1)
    d.epochs.finalize(d.watcher, e)
    net = ops.discover(d.chain, d.deployment.avs.epoch_manager)
    (slash,) = ops.past_slashes(net, outlier)
    assert (slash.epoch, slash.applied, slash.fraction) == (e, True, 0.5)
    shown = run("status", *network_args(d), "--address", outlier)
    assert f"epoch {e}: 50.0% for flagged by Krum" in shown.stdout, shown.stdout


@DEVNET_ONLY
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--stake", "lots"], "is not an amount of tokens"),
        (["--stake", "-1"], "is not an amount of tokens"),
        (["--stake", "0.5"], "below its minimum stake"),
        (["--stake", "1000"], "needs 1000000000000000000000 to stake"),
    ],
)
def test_register_refusals_send_nothing(
    devnet: Devnet, tmp_path: Path, args: list[str], message: str
) -> None:
    d = devnet
    newcomer = d.watcher
    mint_stake(d.chain, d.deployer, d.core, newcomer.address, 7 * WAD)
    nonce = d.chain.w3.eth.get_transaction_count(newcomer.address)
    ks = keystore(tmp_path / "ks.json", newcomer.key)
    proc = run(
        "register", *network_args(d), "--keystore", str(ks), "--password-env", "PW",
        "--data-dir", str(tmp_path / "n"), *args,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stdout
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert d.chain.w3.eth.get_transaction_count(newcomer.address) == nonce


@DEVNET_ONLY
def test_a_chain_without_the_avs_is_one_line(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    ks = keystore(tmp_path / "ks.json", d.watcher.key)
    for where, message in [
        (d.core.token, "is not a p2pfl epoch manager"),
        ("0x" + "42" * 20, "is the AVS deployed on this chain"),
        ("nope", "is not an address"),
    ]:
        proc = run(
            "register", "--rpc", d.chain.url, "--epoch-manager", where, "--keystore", str(ks),
            "--password-env", "PW", "--stake", "1",
        )  # fmt: skip
        assert proc.returncode == 2
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr


@DEVNET_ONLY
def test_a_deployment_file_for_another_chain_is_refused(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    path = tmp_path / "dep.json"
    d.deployment.write(path)
    raw = json.loads(path.read_text())
    raw["chain_id"] = 1
    raw["rpc"] = d.chain.url
    path.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="describes chain 1, the RPC serves chain 31337"):
        ops.from_deployment(path)
    raw["chain_id"] = 31337
    path.write_text(json.dumps(raw))
    assert ops.from_deployment(path).core == d.core
    proc = run("status", "--deployment", str(path), "--address", d.operators[0].address)
    assert proc.returncode == 0, proc.stderr
    assert "registered" in proc.stdout


def test_tokens_parse_like_a_person_types_them() -> None:
    assert ops.tokens("32") == 32 * WAD
    assert ops.tokens("0.5") == WAD // 2
    assert ops.tokens("1e-18") == 1
    for bad in ["1e-19", "-2", "nan", "inf", "", "x"]:
        with pytest.raises(ConfigError):
            ops.tokens(bad)


@DEVNET_ONLY
def test_on_a_live_chain_registration_waits_for_blocks_instead_of_mining(devnet: Devnet) -> None:
    """What a live chain does instead of the devnet's mining: poll until the block."""
    import threading

    from p2pfl.chain.deploy import wait_for_block

    d = devnet
    target = d.head() + 3
    said: list[str] = []
    stop = threading.Event()

    def producer() -> None:  # the chain's own block production
        while not stop.wait(0.1):
            d.mine(1)

    thread = threading.Thread(target=producer)
    thread.start()
    try:
        wait_for_block(d.chain, target, mine_blocks=False, poll=0.05, say=said.append)
    finally:
        stop.set()
        thread.join()
    assert d.head() >= target
    assert said == [f"waiting 3 blocks, until block {target}, for the allocation to count"]


def _registered_newcomer(d: Devnet, tmp_path: Path) -> tuple[Path, list[str]]:
    newcomer = d.watcher
    mint_stake(d.chain, d.deployer, d.core, newcomer.address, 7 * WAD)
    tmp_path.mkdir(parents=True, exist_ok=True)
    ks = keystore(tmp_path / "ks.json", newcomer.key)
    auth = ["--keystore", str(ks), "--password-env", "PW"]
    joined = run("register", *network_args(d), *auth, "--stake", "7", "--data-dir", str(tmp_path))
    assert joined.returncode == 0, joined.stderr
    return ks, auth


def test_deregister_finishes_on_a_second_run_when_a_change_was_pending(
    devnet: Devnet, tmp_path: Path
) -> None:
    d = devnet
    _, auth = _registered_newcomer(d, tmp_path)
    me = d.watcher.address
    operator_set = (d.deployment.avs.service_manager, OPERATOR_SET_ID)
    half = [(operator_set, [d.core.strategy], [WAD // 2])]
    d.chain.transact(d.watcher, d.allocation_manager.functions.modifyAllocations(me, half))
    net = ops.discover(d.chain, d.deployment.avs.epoch_manager)
    pending_until = ops.status(net, me).allocation.effect_block

    first = run("deregister", *network_args(d), *auth)
    assert first.returncode == 2
    assert f"pending until block {pending_until}" in first.stderr
    assert ops.status(net, me).state == "deregistered, still slashable"  # it did leave
    early = run("deregister", *network_args(d), *auth)
    assert early.returncode == 2
    assert "run this again after it" in early.stderr
    d.mine_to(pending_until)
    second = run("deregister", *network_args(d), *auth)
    assert second.returncode == 0, second.stderr
    # the slashable window after leaving has passed by now: released at once
    assert "stake released (no longer slashable)" in second.stdout
    after = ops.status(net, me)
    assert (after.allocation.current, after.allocation.pending, after.slashable) == (0, 0, False)
    third = run("deregister", *network_args(d), *auth)
    assert third.returncode == 2
    assert "is not registered for the AVS (not registered)" in third.stderr


@DEVNET_ONLY
def test_set_peer_id_binds_a_new_identity(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    _, auth = _registered_newcomer(d, tmp_path / "old")
    moved = tmp_path / "new-machine"
    done = run("set-peer-id", *network_args(d), *auth, "--data-dir", str(moved))
    assert done.returncode == 0, done.stderr
    peer = peer_id_of(load_or_create_identity(moved))
    service = d.service_manager
    assert bytes(d.chain.call(service.functions.peerIdOf(d.watcher.address))) == peer.to_bytes()
    again = run("set-peer-id", *network_args(d), *auth, "--data-dir", str(moved))
    assert again.returncode == 2
    assert "already has this peer id bound" in again.stderr
    stranger = keystore(tmp_path / "stranger.json", bytes(range(1, 33)))
    refused = run(
        "set-peer-id", *network_args(d), "--keystore", str(stranger), "--password-env", "PW",
        "--data-dir", str(moved),
    )  # fmt: skip
    assert refused.returncode == 2
    assert "is not registered for the AVS" in refused.stderr


@DEVNET_ONLY
def test_status_of_a_keystore_without_an_address_field(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    ks = keystore(tmp_path / "cast.json", d.operators[0].key)
    raw = json.loads(ks.read_text())
    del raw["address"]  # as `cast wallet new` writes them
    ks.write_text(json.dumps(raw))
    bare = run("status", *network_args(d), "--keystore", str(ks))
    assert bare.returncode == 2
    assert "pass --address, or the password" in bare.stderr
    shown = run("status", *network_args(d), "--keystore", str(ks), "--password-env", "PW")
    assert shown.returncode == 0, shown.stderr
    assert d.operators[0].address in shown.stdout


@DEVNET_ONLY
def test_registration_without_eth_for_gas_sends_nothing(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    poor = Account.create()
    mint_stake(d.chain, d.deployer, d.core, poor.address, 7 * WAD)
    ks = keystore(tmp_path / "poor.json", bytes(poor.key))
    proc = run(
        "register", *network_args(d), "--keystore", str(ks), "--password-env", "PW",
        "--stake", "7", "--data-dir", str(tmp_path / "n"),
    )  # fmt: skip
    assert proc.returncode == 2
    assert "holds no ETH" in proc.stderr
    assert d.chain.w3.eth.get_transaction_count(poor.address) == 0
