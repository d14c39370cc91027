"""``p2pfl deploy`` as a user runs it: devnet, existing core over RPC, and refusals."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from p2pfl.chain.anvil import dev_key, run_anvil
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import Deployment, deploy_core
from p2pfl.chain.epochs import Params
from p2pfl.errors import ConfigError

P2PFL = shutil.which("p2pfl") or str(Path(sys.executable).with_name("p2pfl"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [P2PFL, "deploy", *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_devnet_deploy_writes_every_address(tmp_path: Path) -> None:
    out = tmp_path / "dep.json"
    proc = run(
        "--operators", "3", "--insecure-test-verifier", "--exit", "--out", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    dep = json.loads(out.read_text())
    assert dep["chain_id"] == 31337
    assert len(dep["operators"]) == 3
    for addr in [*dep["core"].values(), *dep["avs"].values()]:
        assert addr.startswith("0x")
        assert len(addr) == 42
    assert dep["seconds"] < 30


def test_avs_against_an_existing_core_over_rpc(tmp_path: Path) -> None:
    with run_anvil(accounts=3) as anvil:
        chain = Chain(anvil.url)
        short = deploy_core(chain, account(dev_key(0)), deallocation_delay=10)
        (tmp_path / "short.json").write_text(json.dumps(asdict(short)))
        proc = run(
            "--rpc", anvil.url, "--core", str(tmp_path / "short.json"),
            "--insecure-test-verifier", "--out", str(tmp_path / "no.json"), cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 2
        assert "DEALLOCATION_DELAY is 10 blocks, shorter than the 170 blocks" in proc.stderr
        assert "Traceback" not in proc.stderr
        span = Params().slashable_span
        core = deploy_core(chain, account(dev_key(0)), deallocation_delay=span)
        (tmp_path / "core.json").write_text(json.dumps(asdict(core)))
        out = tmp_path / "avs.json"
        proc = run(
            "--rpc", anvil.url, "--core", str(tmp_path / "core.json"), "--insecure-test-verifier",
            "--out", str(out), cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        dep = json.loads(out.read_text())
        assert dep["core"] == asdict(core)
        assert dep["operators"] == []
        code = chain.w3.eth.get_code(dep["avs"]["epoch_manager"])
        assert len(code) > 1000  # really deployed there


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--exit"], "exactly one of"),
        (["--exit", "--insecure-test-verifier", "--krum-verifier", "8x64"], "exactly one of"),
        (["--exit", "--krum-verifier", "eight"], "NxK"),
        (["--rpc", "http://127.0.0.1:9", "--insecure-test-verifier"], "--rpc needs --core"),
        (
            ["--rpc", "http://127.0.0.1:9", "--core", "nope.json", "--verifier", "0x01"],
            "cannot reach",
        ),
    ],
)
def test_bad_deploy_arguments_are_refused_clearly(
    tmp_path: Path, args: list[str], message: str
) -> None:
    proc = run(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_deploy_devnet_script(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "deploy" / "devnet.sh"
    out = tmp_path / "devnet.json"
    proc = subprocess.run(
        ["bash", str(script), "--operators", "1", "--exit", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(out.read_text())["operators"]) == 1


def test_an_older_deployment_file_still_reads(tmp_path: Path) -> None:
    """Files written before the StrategyManager was recorded read with it empty; using
    them to register an operator asks for it in one line."""
    addr = "0x" + "ab" * 20
    core = {k: addr for k in ("allocation_manager", "delegation_manager", "strategy", "token")}
    old: dict[str, Any] = {
        "rpc": "http://127.0.0.1:8545",
        "chain_id": 31337,
        "core": {
            k: addr for k in ("allocation_manager", "delegation_manager", "strategy", "token")
        },
        "avs": {"service_manager": addr, "epoch_manager": addr, "verifier": addr},
        "params": asdict(Params()),
        "genesis_model": "0x00",
        "operators": [],
        "block": 7,
        "seconds": 1.0,
    }
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    dep = Deployment.read(path)
    assert dep.core.strategy_manager == ""
    assert dep.core.allocation_manager == addr
    with pytest.raises(ConfigError, match=r"^the core description has no strategy_manager address"):
        dep.core.check()
    v1 = {**old, "params": {**asdict(Params()), "challenge_reward": 1}}
    path.write_text(json.dumps(v1))  # written by a version before the v2 challenges
    with pytest.raises(ConfigError, match=r"\['challenge_reward'\] differ .* redeploy"):
        Deployment.read(path)
    old["core"] = {**core, "allocaton_manager": addr}  # a typo is refused by name
    path.write_text(json.dumps(old))
    with pytest.raises(ConfigError, match=r"unknown keys \['allocaton_manager'\]"):
        Deployment.read(path)
