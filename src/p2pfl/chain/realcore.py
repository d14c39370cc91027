"""The real EigenLayer core (v1.12) on a local chain, from compiled artifacts outside the
repository, and the operator path spelled out with the core's own ABIs (a check of
:func:`p2pfl.chain.deploy.register_operator`, the path nodes use on either core).

The artifacts (one JSON per contract: ABI, creation bytecode, method identifiers) live in
``$P2PFL_EIGENLAYER_CORE`` or ``<project root>/../shared/eigenlayer-core``; they are read
there, never copied. Without them the project runs on its devnet stand-ins
(:mod:`p2pfl.chain.deploy`) and :func:`core_dir` returns ``None``.

The deployment follows the core repository's local deploy script
(``script/deploy/local/deploy_from_scratch.slashing.s.sol``): proxies first, then
implementations, then ``upgradeAndCall`` with each ``initialize``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from p2pfl.chain.anvil import mine
from p2pfl.chain.artifacts import Artifact, ErrorEntry, abi_errors, format_revert
from p2pfl.chain.client import Chain, ChainError
from p2pfl.chain.deploy import WAD, Core, peer_binding_signature
from p2pfl.chain.toolchain import project_root
from p2pfl.errors import ConfigError

ENV = "P2PFL_EIGENLAYER_CORE"
ZERO = "0x" + "00" * 20
VERSION = "v0.0.0"  # the semver string the local deploy script gives the core

# The core's local deploy values (blocks).
DEALLOCATION_DELAY = 900
ALLOCATION_CONFIGURATION_DELAY = 1200
MIN_WITHDRAWAL_DELAY_BLOCKS = 900
EIGEN_POD_MANAGER_PAUSED = 30  # the local deploy script's initial paused status
# An operator's own allocation delay (blocks) for :func:`stake_and_allocate_real`.
OPERATOR_ALLOCATION_DELAY = 1

# Every artifact :func:`deploy_real_core` reads, in deploy order.
CONTRACTS = (
    "ProxyAdmin",
    "PauserRegistry",
    "EmptyContract",
    "TransparentUpgradeableProxy",
    "EigenStrategy",
    "ETHPOSDepositMock",
    "EigenPod",
    "UpgradeableBeacon",
    "AllocationManagerView",
    "DelegationManager",
    "StrategyManager",
    "AVSDirectory",
    "EigenPodManager",
    "AllocationManager",
    "PermissionController",
    "StrategyBase",
)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# ----------------------------------------------------------------------------- artifacts


def core_dir() -> Path | None:
    """The folder of the core's artifacts (``$P2PFL_EIGENLAYER_CORE``, default
    ``<project root>/../shared/eigenlayer-core``), or ``None`` when it does not exist."""
    env = os.environ.get(ENV)
    if env:
        folder = Path(env).expanduser()
    else:
        try:
            folder = project_root().parent / "shared" / "eigenlayer-core"
        except ConfigError:
            return None
    return folder.resolve() if folder.is_dir() else None


def require_core_dir(folder: Path | None = None) -> Path:
    """``folder`` or :func:`core_dir`, with a :class:`ConfigError` when there is none."""
    found = folder if folder is not None else core_dir()
    if found is None or not found.is_dir():
        where = folder if folder is not None else f"${ENV} or ../shared/eigenlayer-core"
        raise ConfigError(
            f"no EigenLayer core artifacts at {where}: set {ENV} to the folder holding "
            "the compiled core (AllocationManager.json, ...)"
        )
    return found


@cache
def load_core_artifact(name: str, folder: Path) -> Artifact:
    """The core artifact ``folder/name.json``; :class:`ConfigError` naming the file when it
    is missing or malformed (no ABI list, no creation bytecode, unlinked libraries)."""
    path = folder / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"EigenLayer core artifact missing: {path}")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"EigenLayer core artifact {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"EigenLayer core artifact {path} is not a JSON object")
    abi = data.get("abi")
    bytecode = data.get("bytecode")
    if isinstance(bytecode, dict):  # forge's layout, tolerated
        bytecode = bytecode.get("object")
    links = data.get("linkReferences") or {}
    if not isinstance(abi, list) or not all(isinstance(item, dict) for item in abi):
        raise ConfigError(f"EigenLayer core artifact {path} has no ABI list ('abi')")
    if not isinstance(bytecode, str) or not re.fullmatch(r"(0x)?([0-9a-fA-F]{2})+", bytecode):
        raise ConfigError(f"EigenLayer core artifact {path} has no hex creation 'bytecode'")
    if links:
        raise ConfigError(f"EigenLayer core artifact {path} needs library links: {sorted(links)}")
    if not bytecode.startswith("0x"):
        bytecode = "0x" + bytecode
    return Artifact(name=name, abi=abi, bytecode=bytecode, link_references={})


def check_core_dir(folder: Path | None = None) -> Path:
    """Load every artifact the deployment needs (fails before any transaction)."""
    found = require_core_dir(folder)
    for name in CONTRACTS:
        load_core_artifact(name, found)
    return found


@cache
def _core_errors(folder: Path) -> dict[bytes, ErrorEntry]:
    table: dict[bytes, ErrorEntry] = {}
    for name in CONTRACTS:
        for selector, entry in abi_errors(load_core_artifact(name, folder).abi, name):
            table.setdefault(selector, entry)
    return table


def decode_core_revert(data: bytes, folder: Path) -> str:
    """Revert data of the core, readable: ``AllocationManager.SameMagnitude()``."""
    return format_revert(data, _core_errors(folder))


_UNKNOWN = re.compile(r"reverted with unknown error 0x([0-9a-fA-F]+)")


def _redecode(exc: ChainError, folder: Path) -> ChainError:
    """The chain client decodes the project's errors only: add the core's."""
    message = str(exc)
    found = _UNKNOWN.search(message)
    if found is None:
        return exc
    decoded = decode_core_revert(bytes.fromhex(found.group(1)), folder)
    return ChainError(message[: found.start()] + decoded + message[found.end() :])


# ----------------------------------------------------------------------------- the core


@dataclass(frozen=True)
class RealCore:
    """Addresses of a real EigenLayer core deployment (proxies where the core is proxied)."""

    allocation_manager: str
    delegation_manager: str
    strategy_manager: str
    permission_controller: str
    avs_directory: str
    eigen_pod_manager: str
    strategy: str
    token: str
    proxy_admin: str
    pauser_registry: str
    deallocation_delay: int
    allocation_configuration_delay: int
    min_withdrawal_delay_blocks: int
    artifacts: Path
    seconds: float
    block: int

    def as_core(self) -> Core:
        """The addresses :func:`p2pfl.chain.deploy.deploy_avs` needs."""
        return Core(
            allocation_manager=self.allocation_manager,
            delegation_manager=self.delegation_manager,
            strategy=self.strategy,
            token=self.token,
            strategy_manager=self.strategy_manager,
        )


def core_contract(chain: Chain, folder: Path, name: str, address: str) -> Contract:
    """The core contract ``name`` (its artifact's ABI) at ``address``."""
    abi = load_core_artifact(name, folder).abi
    return chain.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def _deploy(chain: Chain, deployer: LocalAccount, folder: Path, name: str, *args: Any) -> str:
    art = load_core_artifact(name, folder)
    try:
        return chain.deploy_bytecode(deployer, art.abi, art.bytecode, *args, label=name)
    except ChainError as exc:
        raise _redecode(exc, folder) from None


def _transact(
    chain: Chain, account: LocalAccount, fn: ContractFunction, folder: Path, value: int = 0
) -> TxReceipt:
    try:
        return chain.transact(account, fn, value=value)
    except ChainError as exc:
        raise _redecode(exc, folder) from None


def _call(chain: Chain, fn: ContractFunction, folder: Path) -> Any:
    try:
        return chain.call(fn)
    except ChainError as exc:
        raise _redecode(exc, folder) from None


def _calldata(folder: Path, name: str, function: str, *args: Any) -> bytes:
    """ABI-encoded call of ``name.function(args)`` (an ``initialize`` for a proxy)."""
    factory = Web3().eth.contract(abi=load_core_artifact(name, folder).abi)
    return bytes(Web3.to_bytes(hexstr=factory.encode_abi(function, args=list(args))))


def deploy_real_core(
    chain: Chain,
    deployer: LocalAccount,
    say: Progress = _quiet,
    *,
    folder: Path | None = None,
    token: str | None = None,
    deallocation_delay: int = DEALLOCATION_DELAY,
    allocation_configuration_delay: int = ALLOCATION_CONFIGURATION_DELAY,
    min_withdrawal_delay_blocks: int = MIN_WITHDRAWAL_DELAY_BLOCKS,
) -> RealCore:
    """Deploy the real core as its local deploy script does (``deployer`` owns, pauses and
    whitelists), one ``StrategyBase`` over ``token`` (default: a new ``StakeToken`` the
    deployer mints), then mine past ``min_withdrawal_delay_blocks`` so slashes work."""
    folder = check_core_dir(folder)
    started = time.perf_counter()

    def deploy(name: str, *args: Any) -> str:
        return _deploy(chain, deployer, folder, name, *args)

    def send(fn: ContractFunction) -> TxReceipt:
        return _transact(chain, deployer, fn, folder)

    # 1. Admin, pausers, and empty proxies (their addresses are the constructor arguments).
    proxy_admin = deploy("ProxyAdmin")
    pauser_registry = deploy("PauserRegistry", [deployer.address], deployer.address)
    empty = deploy("EmptyContract")
    proxied = (
        "DelegationManager",
        "StrategyManager",
        "AVSDirectory",
        "EigenPodManager",
        "AllocationManager",
        "PermissionController",
    )
    proxy = {n: deploy("TransparentUpgradeableProxy", empty, proxy_admin, b"") for n in proxied}
    delegation = proxy["DelegationManager"]
    strategy_manager = proxy["StrategyManager"]
    avs_directory = proxy["AVSDirectory"]
    pod_manager = proxy["EigenPodManager"]
    allocation = proxy["AllocationManager"]
    permissions = proxy["PermissionController"]
    say(f"real core: proxies, admin {proxy_admin}, pauser registry {pauser_registry}")

    # 2. EIGEN's strategy and the beacon-chain side (needed by the constructors).
    eigen_strategy = deploy("EigenStrategy", strategy_manager, pauser_registry)
    eth_pos = deploy("ETHPOSDepositMock")
    eigen_pod = deploy("EigenPod", eth_pos, pod_manager)
    beacon = deploy("UpgradeableBeacon", eigen_pod)

    # 3. Implementations.
    impl = {
        "AllocationManagerView": deploy(
            "AllocationManagerView",
            delegation,
            eigen_strategy,
            deallocation_delay,
            allocation_configuration_delay,
        ),
        "DelegationManager": deploy(
            "DelegationManager",
            strategy_manager,
            pod_manager,
            allocation,
            pauser_registry,
            permissions,
            min_withdrawal_delay_blocks,
            VERSION,
        ),
        "StrategyManager": deploy(
            "StrategyManager", allocation, delegation, pauser_registry, VERSION
        ),
        "AVSDirectory": deploy("AVSDirectory", delegation, pauser_registry, VERSION),
        "EigenPodManager": deploy("EigenPodManager", eth_pos, beacon, delegation, pauser_registry),
        "PermissionController": deploy("PermissionController"),
    }
    impl["AllocationManager"] = deploy(
        "AllocationManager",
        impl["AllocationManagerView"],
        delegation,
        eigen_strategy,
        pauser_registry,
        permissions,
        deallocation_delay,
        allocation_configuration_delay,
    )
    say("real core: implementations deployed")

    # 4. Point the proxies at them, initializing each.
    admin = core_contract(chain, folder, "ProxyAdmin", proxy_admin)
    owner = deployer.address
    inits: dict[str, tuple[Any, ...]] = {
        "DelegationManager": (0,),
        "StrategyManager": (owner, owner, 0),
        "AVSDirectory": (owner, 0),
        "EigenPodManager": (owner, EIGEN_POD_MANAGER_PAUSED),
        "AllocationManager": (0,),
    }
    for name, args in inits.items():
        data = _calldata(folder, name, "initialize", *args)
        send(admin.functions.upgradeAndCall(proxy[name], impl[name], data))
    send(admin.functions.upgrade(permissions, impl["PermissionController"]))

    # 5. The stake strategy over the token, whitelisted for deposits.
    if token is None:
        token = chain.deploy(deployer, "StakeToken", deployer.address)
    base = deploy("StrategyBase", strategy_manager, pauser_registry)
    init = _calldata(folder, "StrategyBase", "initialize", token)
    strategy = deploy("TransparentUpgradeableProxy", base, proxy_admin, init)
    sm = core_contract(chain, folder, "StrategyManager", strategy_manager)
    send(sm.functions.addStrategiesToDepositWhitelist([strategy]))
    say(f"real core: strategy {strategy} over token {token}")

    # 6. DelegationManager computes block.number - MIN_WITHDRAWAL_DELAY_BLOCKS - 1 in every
    # slash: on a younger chain slashes panic (0x11). Age the chain.
    now = int(chain.w3.eth.block_number)
    if now <= min_withdrawal_delay_blocks + 1:
        mine(chain.w3, min_withdrawal_delay_blocks + 2 - now)
    seconds = time.perf_counter() - started
    say(f"real core: allocation manager {allocation}, delegation {delegation} ({seconds:.1f} s)")
    return RealCore(
        allocation_manager=allocation,
        delegation_manager=delegation,
        strategy_manager=strategy_manager,
        permission_controller=permissions,
        avs_directory=avs_directory,
        eigen_pod_manager=pod_manager,
        strategy=strategy,
        token=token,
        proxy_admin=proxy_admin,
        pauser_registry=pauser_registry,
        deallocation_delay=deallocation_delay,
        allocation_configuration_delay=allocation_configuration_delay,
        min_withdrawal_delay_blocks=min_withdrawal_delay_blocks,
        artifacts=folder,
        seconds=seconds,
        block=int(chain.w3.eth.block_number),
    )


# ----------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class AllocationDelay:
    """``AllocationManager.getAllocationDelay``: whether set, and the delay in blocks."""

    is_set: bool
    blocks: int


@dataclass(frozen=True)
class PendingAllocation:
    """An operator's allocation to an operator set, slashable from ``effect_block`` on."""

    operator: str
    current_magnitude: int
    pending_diff: int
    effect_block: int


def allocation_delay(chain: Chain, core: RealCore, operator: str) -> AllocationDelay:
    am = core_contract(chain, core.artifacts, "AllocationManager", core.allocation_manager)
    is_set, blocks = _call(chain, am.functions.getAllocationDelay(operator), core.artifacts)
    return AllocationDelay(bool(is_set), int(blocks))


def allocation_of(
    chain: Chain, core: RealCore, service_manager: str, operator: str, operator_set_id: int = 0
) -> PendingAllocation:
    am = core_contract(chain, core.artifacts, "AllocationManager", core.allocation_manager)
    fn = am.functions.getAllocation(operator, (service_manager, operator_set_id), core.strategy)
    current, pending, effect = _call(chain, fn, core.artifacts)
    return PendingAllocation(operator, int(current), int(pending), int(effect))


def mine_to(chain: Chain, block: int) -> None:
    """Mine until the chain's head is at least ``block`` (anvil)."""
    now = int(chain.w3.eth.block_number)
    if block > now:
        mine(chain.w3, block - now)


def stake_and_allocate_real(
    chain: Chain,
    deployer: LocalAccount,
    core: RealCore,
    service_manager: str,
    operator: LocalAccount,
    stake: int,
    operator_set_id: int = 0,
    *,
    delay: int = OPERATOR_ALLOCATION_DELAY,
    mint: bool = True,
) -> PendingAllocation:
    """The real operator path up to the allocation: (test only: mint ``stake``), register
    as an EigenLayer operator with allocation delay ``delay``, deposit into the strategy,
    wait until the allocation delay is configured, allocate all of the strategy's magnitude
    to the set. The allocation counts from the returned ``effect_block`` on."""
    folder = core.artifacts
    token = chain.contract("StakeToken", core.token)  # any ERC-20: approve is standard
    dm = core_contract(chain, folder, "DelegationManager", core.delegation_manager)
    sm = core_contract(chain, folder, "StrategyManager", core.strategy_manager)
    am = core_contract(chain, folder, "AllocationManager", core.allocation_manager)
    if mint:
        _transact(chain, deployer, token.functions.mint(operator.address, stake), folder)
    _transact(chain, operator, dm.functions.registerAsOperator(ZERO, delay, ""), folder)
    _transact(chain, operator, token.functions.approve(core.strategy_manager, stake), folder)
    deposit = sm.functions.depositIntoStrategy(core.strategy, core.token, stake)
    _transact(chain, operator, deposit, folder)
    # registerAsOperator set the delay; it takes effect only after the configuration delay
    # (modifyAllocations reverts with UninitializedAllocationDelay before).
    if not allocation_delay(chain, core, operator.address).is_set:
        mine(chain.w3, core.allocation_configuration_delay + 1)
    configured = allocation_delay(chain, core, operator.address)
    if not configured.is_set:
        raise ChainError(
            f"allocation delay of {operator.address} still unset after "
            f"{core.allocation_configuration_delay + 1} blocks"
        )
    params = [((service_manager, operator_set_id), [core.strategy], [WAD])]
    _transact(chain, operator, am.functions.modifyAllocations(operator.address, params), folder)
    return allocation_of(chain, core, service_manager, operator.address, operator_set_id)


def join_operator_set_real(
    chain: Chain,
    core: RealCore,
    service_manager: str,
    operator: LocalAccount,
    peer_id: bytes,
    operator_set_id: int = 0,
) -> TxReceipt:
    """``registerForOperatorSets`` with the AVS's data: ``abi.encode(peerId, signature)``."""
    am = core_contract(chain, core.artifacts, "AllocationManager", core.allocation_manager)
    sig = peer_binding_signature(chain, operator, service_manager, peer_id)
    data = abi_encode(["bytes", "bytes"], [peer_id, sig])
    params = (service_manager, [operator_set_id], data)
    fn = am.functions.registerForOperatorSets(operator.address, params)
    return _transact(chain, operator, fn, core.artifacts)
