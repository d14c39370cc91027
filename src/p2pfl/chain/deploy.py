"""Deployment: the devnet core stand-ins, the AVS and epoch manager against any core, and
operator registration (stake, allocation, signed peer-id binding).

On a public network only :func:`deploy_avs` runs, against the real EigenLayer core's
addresses; on anvil :func:`deploy_devnet` deploys our core stand-ins first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from p2pfl.chain.client import Chain
from p2pfl.chain.epochs import Params
from p2pfl.hashing import keccak256
from p2pfl.jsonfile import write_json

WAD = 10**18
OPERATOR_SET_ID = 0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Core:
    """EigenLayer core addresses the AVS needs (devnet stand-ins or the real ones)."""

    allocation_manager: str
    delegation_manager: str
    strategy: str
    token: str


@dataclass(frozen=True)
class Avs:
    service_manager: str
    epoch_manager: str
    verifier: str


@dataclass
class Deployment:
    rpc: str
    chain_id: int
    core: Core
    avs: Avs
    params: Params
    genesis_model: str
    operators: list[dict[str, Any]] = field(default_factory=list)
    block: int = 0
    seconds: float = 0.0

    def write(self, path: Path) -> None:
        write_json(path, asdict(self))

    @classmethod
    def read(cls, path: Path) -> Deployment:
        raw = json.loads(path.read_text())
        return cls(
            rpc=raw["rpc"],
            chain_id=raw["chain_id"],
            core=Core(**raw["core"]),
            avs=Avs(**raw["avs"]),
            params=Params(**raw["params"]),
            genesis_model=raw["genesis_model"],
            operators=raw["operators"],
            block=raw["block"],
            seconds=raw["seconds"],
        )


def _quiet(_: str) -> None:
    return None


def deploy_core(chain: Chain, deployer: LocalAccount, say: Progress = _quiet) -> Core:
    """Deploy the devnet stand-ins of EigenLayer's core (never on a public network)."""
    token = chain.deploy(deployer, "StakeToken", deployer.address)
    strategy = chain.deploy(deployer, "DevStrategy", token)
    delegation = chain.deploy(deployer, "DevDelegationManager")
    allocation = chain.deploy(deployer, "DevAllocationManager", delegation)
    dm = chain.contract("DevDelegationManager", delegation)
    chain.transact(deployer, dm.functions.setAllocationManager(allocation))
    say(f"core: allocation manager {allocation}, delegation {delegation}, strategy {strategy}")
    return Core(allocation, delegation, strategy, token)


def deploy_avs(
    chain: Chain,
    deployer: LocalAccount,
    core: Core,
    verifier: str,
    params: Params,
    genesis_model: bytes,
    minimum_stake: int = WAD,
    reward_pool: int = 0,
    say: Progress = _quiet,
) -> Avs:
    """Deploy the service manager and the epoch manager against ``core``."""
    sm = chain.deploy(
        deployer,
        "P2pflServiceManager",
        core.allocation_manager,
        core.strategy,
        minimum_stake,
        deployer.address,
    )
    service = chain.contract("P2pflServiceManager", sm)
    chain.transact(deployer, service.functions.initialize("p2pfl federated learning AVS"))
    em = chain.deploy(
        deployer, "EpochManager", sm, verifier, params.as_tuple(), genesis_model, deployer.address
    )
    chain.transact(deployer, service.functions.setEpochManager(em))
    if reward_pool:
        chain.transact(
            deployer, chain.contract("EpochManager", em).functions.fundRewards(), value=reward_pool
        )
    say(f"avs: service manager {sm}, epoch manager {em}, verifier {verifier}")
    return Avs(sm, em, verifier)


def peer_binding_signature(
    chain: Chain, operator: LocalAccount, service_manager: str, peer_id: bytes
) -> bytes:
    """The operator's EIP-712 signature binding ``peer_id`` to its address."""
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "PeerBinding": [
                {"name": "operator", "type": "address"},
                {"name": "peerId", "type": "bytes"},
            ],
        },
        "primaryType": "PeerBinding",
        "domain": {
            "name": "p2pfl",
            "version": "1",
            "chainId": chain.chain_id,
            "verifyingContract": service_manager,
        },
        "message": {"operator": operator.address, "peerId": peer_id},
    }
    signed = operator.sign_message(encode_typed_data(full_message=typed))
    return bytes(signed.signature)


def register_operator(
    chain: Chain,
    deployer: LocalAccount,
    core: Core,
    avs: Avs,
    operator: LocalAccount,
    stake: int,
    peer_id: bytes,
) -> None:
    """Mint devnet stake, register as an EigenLayer operator, deposit, allocate all of it
    to the AVS's operator set and register for the set with the signed peer id."""
    token = chain.contract("StakeToken", core.token)
    dm = chain.contract("DevDelegationManager", core.delegation_manager)
    am = chain.contract("DevAllocationManager", core.allocation_manager)
    zero = "0x" + "00" * 20
    chain.transact(deployer, token.functions.mint(operator.address, stake))
    chain.transact(operator, dm.functions.registerAsOperator(zero, 0, ""))
    chain.transact(operator, token.functions.approve(core.delegation_manager, stake))
    chain.transact(operator, dm.functions.depositIntoStrategy(core.strategy, core.token, stake))
    alloc = [((avs.service_manager, OPERATOR_SET_ID), [core.strategy], [WAD])]
    chain.transact(operator, am.functions.modifyAllocations(operator.address, alloc))
    sig = peer_binding_signature(chain, operator, avs.service_manager, peer_id)
    data = abi_encode(["bytes", "bytes"], [peer_id, sig])
    params = (avs.service_manager, [OPERATOR_SET_ID], data)
    chain.transact(operator, am.functions.registerForOperatorSets(operator.address, params))


def deploy_devnet(
    chain: Chain,
    deployer: LocalAccount,
    operators: list[tuple[LocalAccount, int, bytes]],
    verifier: str | Callable[[], str],
    params: Params | None = None,
    genesis_model: bytes | None = None,
    reward_pool: int = 10 * WAD,
    say: Progress = _quiet,
) -> Deployment:
    """Everything on a fresh chain: core, AVS, and ``(account, stake, peer id)`` operators."""
    started = time.perf_counter()
    params = params or Params()
    genesis = genesis_model or keccak256(b"p2pfl/genesis")
    core = deploy_core(chain, deployer, say)
    verifier_address = verifier() if callable(verifier) else verifier
    avs = deploy_avs(
        chain, deployer, core, verifier_address, params, genesis, reward_pool=reward_pool, say=say
    )
    listed = []
    for i, (op, stake, peer_id) in enumerate(operators):
        register_operator(chain, deployer, core, avs, op, stake, peer_id)
        listed.append({"address": op.address, "stake": stake, "peer_id": "0x" + peer_id.hex()})
        say(f"operator {i + 1}/{len(operators)}: {op.address} stake {stake / WAD:g}")
    return Deployment(
        rpc=chain.url,
        chain_id=chain.chain_id,
        core=core,
        avs=avs,
        params=params,
        genesis_model="0x" + genesis.hex(),
        operators=listed,
        block=int(chain.w3.eth.block_number),
        seconds=time.perf_counter() - started,
    )
