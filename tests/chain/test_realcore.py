"""The p2pfl AVS on the real EigenLayer core (v1.12 artifacts outside the repository):
deployment, the real operator path, the gas of a real slash, and a broken artifacts folder.

Run with ``-s`` to see the measured deployment time and slash gas."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3
from web3.types import TxReceipt

from p2pfl.chain.artifacts import build_contracts, load, type_str
from p2pfl.chain.client import ChainError, decode_error, events
from p2pfl.chain.deploy import OPERATOR_SET_ID, WAD
from p2pfl.chain.realcore import (
    CONTRACTS,
    ENV,
    RealCore,
    check_core_dir,
    core_contract,
    core_dir,
    load_core_artifact,
    require_core_dir,
    stake_and_allocate_real,
)
from p2pfl.errors import ConfigError
from tests.chain.realcore_fixture import ALLOCATION_DELAY, RealDevnet, real_devnet

CORE = core_dir()
pytestmark = pytest.mark.skipif(
    CORE is None,
    reason=f"no EigenLayer core artifacts (set {ENV} or provide ../shared/eigenlayer-core)",
)


@pytest.fixture(scope="module")
def real_session() -> Iterator[RealDevnet]:
    with real_devnet(operators=4) as d:
        print(f"\nreal EigenLayer core deployed in {d.core.seconds:.2f} s (block {d.core.block})")
        yield d


@pytest.fixture
def real(real_session: RealDevnet) -> Iterator[RealDevnet]:
    w3 = real_session.chain.w3
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield real_session
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    reply = w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
    if "error" in reply:
        raise AssertionError(f"{method}: {reply['error']}")
    return reply["result"]


def send_as(w3: Web3, sender: str, to: str, data: str) -> TxReceipt:
    """A transaction from ``sender`` (a contract here) through anvil's impersonation."""
    _rpc(w3, "anvil_impersonateAccount", sender)
    _rpc(w3, "anvil_setBalance", sender, hex(10**18))
    try:
        tx: Any = {"from": sender, "to": to, "data": data}
        tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.25) + 20_000
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction(tx), timeout=60)
    finally:
        _rpc(w3, "anvil_stopImpersonatingAccount", sender)
    assert receipt["status"] == 1, receipt
    return receipt


def find_call(frame: dict[str, Any], to: str, selector: str) -> dict[str, Any] | None:
    """The first call frame (depth first) to ``to`` whose input starts with ``selector``."""
    if frame.get("to", "").lower() == to.lower() and frame.get("input", "").startswith(selector):
        return frame
    for child in frame.get("calls", []):
        found = find_call(child, to, selector)
        if found is not None:
            return found
    return None


@pytest.mark.slow
def test_operators_join_through_the_real_core(real: RealDevnet) -> None:
    core: RealCore = real.core
    assert core.seconds < 60
    assert core.block > core.min_withdrawal_delay_blocks + 1  # aged for slashing
    am = core_contract(real.chain, core.artifacts, "AllocationManager", core.allocation_manager)
    sm_address = real.avs.service_manager
    operator_set = (sm_address, OPERATOR_SET_ID)
    # The service manager's initialize made it registrar, slasher and owner of one set.
    assert real.chain.call(am.functions.getAVSRegistrar(sm_address)) == sm_address
    assert real.chain.call(am.functions.isOperatorSet(operator_set))
    assert real.chain.call(am.functions.getSlasher(operator_set)) == sm_address
    assert real.chain.call(am.functions.getStrategiesInOperatorSet(operator_set)) == [core.strategy]
    for j in real.joined:
        # Allocated, but not slashable (so not counted) until the operator's delay passed.
        assert j.effect_block == j.allocated_block + ALLOCATION_DELAY
        assert j.stake_before_delay == 0
        assert j.stake_after_delay == j.stake
        assert real.stake_of(j.operator.address) == j.stake
    sm = real.chain.contract("P2pflServiceManager", sm_address)
    ops, stakes = real.chain.call(sm.functions.operatorsWithStakes())
    assert list(ops) == [j.operator.address for j in real.joined]
    assert list(stakes) == [j.stake for j in real.joined]
    assert real.chain.call(sm.functions.peerIdOf(real.joined[2].operator.address)) == b"peer-2"
    members = real.chain.call(am.functions.getMembers(operator_set))
    assert list(members) == [j.operator.address for j in real.joined]


@pytest.mark.slow
def test_slash_through_service_manager_costs_real_gas(real: RealDevnet) -> None:
    w3 = real.chain.w3
    victim = real.joined[1]
    wad = WAD // 10
    sm = real.chain.contract("P2pflServiceManager", real.avs.service_manager)
    data = sm.encode_abi("slash", args=[victim.operator.address, wad, "p2pfl: gas probe"])
    receipt = send_as(w3, real.avs.epoch_manager, real.avs.service_manager, data)
    slashed = events(sm, receipt, "OperatorSlashed")
    assert len(slashed) == 1
    assert slashed[0]["args"]["operator"] == victim.operator.address
    assert real.stake_of(victim.operator.address) == victim.stake - victim.stake // 10

    am = core_contract(
        real.chain, real.core.artifacts, "AllocationManager", real.core.allocation_manager
    )
    params = (victim.operator.address, OPERATOR_SET_ID, [real.core.strategy], [wad], "x")
    call = am.encode_abi("slashOperator", args=[real.avs.service_manager, params])
    tx_hash = Web3.to_hex(receipt["transactionHash"])
    trace = _rpc(w3, "debug_traceTransaction", tx_hash, {"tracer": "callTracer"})
    frame = find_call(trace, real.core.allocation_manager, call[:10])
    assert frame is not None, "no AllocationManager.slashOperator call in the trace"
    inner = int(frame["gasUsed"], 16)
    print(
        f"\nslash gas: AllocationManager.slashOperator {inner:,} "
        f"(whole ServiceManager.slash tx {receipt['gasUsed']:,})"
    )
    assert inner > 300_000
    assert receipt["gasUsed"] > inner


@pytest.mark.slow
def test_core_reverts_come_back_decoded(real: RealDevnet) -> None:
    j = real.joined[0]
    with pytest.raises(ChainError, match=r"DelegationManager\.ActivelyDelegated\(\)"):
        stake_and_allocate_real(
            real.chain, real.deployer, real.core, real.avs.service_manager, j.operator, WAD
        )


def _signatures(abi: list[dict[str, Any]]) -> set[str]:
    """Each function, event (with indexed flags) and error as its canonical signature."""
    out = set()
    for item in abi:
        if item.get("type") not in ("function", "event", "error"):
            continue
        args = ",".join(
            type_str(p) + (" indexed" if p.get("indexed") else "") for p in item["inputs"]
        )
        returns = ",".join(type_str(p) for p in item.get("outputs", []))
        out.add(f"{item['type']} {item['name']}({args})" + (f"->({returns})" if returns else ""))
    return out


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("IAllocationManager", "AllocationManager"),
        ("IDelegationManager", "DelegationManager"),
        ("IStrategyManager", "StrategyManager"),
        ("IStrategy", "StrategyBase"),
    ],
)
def test_the_projects_core_interfaces_are_the_real_cores(ours: str, theirs: str) -> None:
    """Every function, event and error the project (and its devnet stand-ins) declares
    for the core exists in the real core's ABI with the same signature, indexed flags
    and return types: the devnet and the client cannot drift from the core."""
    assert CORE is not None
    build_contracts()
    missing = _signatures(load(ours).abi) - _signatures(load_core_artifact(theirs, CORE).abi)
    assert not missing, f"{ours} declares what {theirs} lacks: {sorted(missing)}"


def test_other_core_errors_are_named_from_the_real_artifacts() -> None:
    """Errors the project's interfaces do not declare come back named from the artifacts."""
    paused = bytes(Web3.keccak(text="CurrentlyPaused()")[:4])
    assert decode_error(paused).endswith(".CurrentlyPaused()")
    assert decode_error(bytes.fromhex("deadbeef")) == "reverted with unknown error 0xdeadbeef"


def _partial_core(tmp_path: Path, without: str) -> Path:
    assert CORE is not None
    folder = tmp_path / "core"
    folder.mkdir()
    for name in CONTRACTS:
        if name != without:
            (folder / f"{name}.json").symlink_to(CORE / f"{name}.json")
    return folder


def test_missing_artifact_is_named(tmp_path: Path) -> None:
    folder = _partial_core(tmp_path, without="AllocationManager")
    with pytest.raises(ConfigError, match=r"artifact missing: .*AllocationManager\.json"):
        check_core_dir(folder)


def test_malformed_artifact_is_named(tmp_path: Path) -> None:
    folder = _partial_core(tmp_path, without="StrategyBase")
    (folder / "StrategyBase.json").write_text(json.dumps({"abi": [], "bytecode": "0xzz"}))
    with pytest.raises(ConfigError, match=r"StrategyBase\.json has no hex creation 'bytecode'"):
        check_core_dir(folder)
    (folder / "StrategyBase.json").unlink()
    (folder / "StrategyBase.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"StrategyBase\.json is not readable JSON"):
        load_core_artifact("StrategyBase", folder)


def test_core_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "absent"))
    assert core_dir() is None
    with pytest.raises(ConfigError, match=ENV):
        require_core_dir()
    monkeypatch.setenv(ENV, str(tmp_path))
    assert core_dir() == tmp_path.resolve()
