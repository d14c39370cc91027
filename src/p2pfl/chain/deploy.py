"""Deployment: the devnet core stand-ins, the AVS and epoch manager against any core, and
operator registration (stake, allocation, signed peer-id binding).

On a public network only :func:`deploy_avs` runs, against the real EigenLayer core's
addresses; on anvil :func:`deploy_devnet` deploys our core stand-ins first (or takes a
real core deployed there, :mod:`p2pfl.chain.realcore`). :func:`register_operator` is the
one operator path for both: it talks to the core through the project's copies of the
core's interfaces (``contracts/src/interfaces/IEigenLayer.sol``), which the stand-ins
implement with the real signatures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from web3 import Web3

from p2pfl.chain.anvil import mine
from p2pfl.chain.client import Chain
from p2pfl.chain.epochs import Params
from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.jsonfile import write_json

WAD = 10**18
OPERATOR_SET_ID = 0
ZERO_ADDRESS = "0x" + "00" * 20
DEVNET_CHAIN_ID = 31337  # anvil's: a chain we may mine blocks on
# The devnet stand-ins' delays (blocks; the real core uses days of blocks). Small, so a
# local testnet stays fast, but not zero, so the delays are exercised. A devnet deployment
# raises the deallocation delay to the parameters' slashable span (``Params.slashable_span``)
# when that is longer: the EpochManager refuses a shorter one.
DEVNET_DEALLOCATION_DELAY = 10
DEVNET_ALLOCATION_CONFIGURATION_DELAY = 10
# The allocation delay a newly registered operator asks for (blocks).
ALLOCATION_DELAY = 2
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Core:
    """EigenLayer core addresses the AVS and its operators need (devnet stand-ins or the
    real core). ``strategy_manager`` is empty in descriptions written before it was
    recorded: registering an operator then asks for it."""

    allocation_manager: str
    delegation_manager: str
    strategy: str
    token: str
    strategy_manager: str = ""

    def check(self, chain: Chain | None = None, *names: str) -> None:
        """One :class:`ConfigError` naming the first of ``names`` (default: all) that is
        missing, not an address or, given ``chain``, holds no contract there."""
        for name in names or tuple(f.name for f in fields(self)):
            value = getattr(self, name)
            if not value:
                raise ConfigError(
                    f"the core description has no {name} address (written by an older "
                    f"p2pfl?): add the core's {name} to it"
                )
            if not Web3.is_address(value):
                raise ConfigError(f"the core description's {name} {value!r} is not an address")
            if chain is not None and not chain.w3.eth.get_code(Web3.to_checksum_address(value)):
                raise ConfigError(
                    f"no contract at the core's {name} {value} on chain {chain.chain_id}"
                )


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
        """A deployment file; older ones (no ``strategy_manager``) read with it empty."""
        raw = json.loads(path.read_text())
        known = {f.name for f in fields(Params)}
        if set(raw["params"]) != known:
            raise ConfigError(
                f"{path}: its params {sorted(set(raw['params']) ^ known)} differ from this "
                "version's EpochManager.Params (a deployment from before the v2 challenges?): "
                "redeploy"
            )
        return cls(
            rpc=raw["rpc"],
            chain_id=raw["chain_id"],
            core=core_from_dict(raw["core"], str(path)),
            avs=Avs(**raw["avs"]),
            params=Params(**raw["params"]),
            genesis_model=raw["genesis_model"],
            operators=raw["operators"],
            block=raw["block"],
            seconds=raw["seconds"],
        )


def core_from_dict(raw: Any, where: str) -> Core:
    """A :class:`Core` from JSON: the four original addresses are required, the
    ``strategy_manager`` may be missing (older files); unknown keys are refused."""
    names = [f.name for f in fields(Core)]
    required = names[:4]
    if not isinstance(raw, dict) or any(k not in raw for k in required):
        raise ConfigError(
            f"cannot read core addresses from {where}: a JSON object with "
            f"{', '.join(required)} (and strategy_manager) is needed"
        )
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(f"core addresses in {where}: unknown keys {unknown}")
    return Core(**{k: str(v) for k, v in raw.items()})


def _quiet(_: str) -> None:
    return None


def deploy_core(
    chain: Chain,
    deployer: LocalAccount,
    say: Progress = _quiet,
    *,
    deallocation_delay: int = DEVNET_DEALLOCATION_DELAY,
    allocation_configuration_delay: int = DEVNET_ALLOCATION_CONFIGURATION_DELAY,
) -> Core:
    """Deploy the devnet stand-ins of EigenLayer's core (never on a public network): the
    three managers wired to each other, a strategy over a fresh ``StakeToken`` the
    deployer mints, whitelisted for deposits (the deployer is the strategy whitelister)."""
    token = chain.deploy(deployer, "StakeToken", deployer.address)
    delegation = chain.deploy(deployer, "DevDelegationManager")
    allocation = chain.deploy(
        deployer,
        "DevAllocationManager",
        delegation,
        deallocation_delay,
        allocation_configuration_delay,
    )
    strategy_manager = chain.deploy(deployer, "DevStrategyManager", delegation, deployer.address)
    dm = chain.contract("DevDelegationManager", delegation)
    chain.transact(deployer, dm.functions.initialize(allocation, strategy_manager))
    strategy = chain.deploy(deployer, "DevStrategy", strategy_manager, token)
    sm = chain.contract("IStrategyManager", strategy_manager)
    chain.transact(deployer, sm.functions.addStrategiesToDepositWhitelist([strategy]))
    say(
        f"core (devnet stand-ins): allocation manager {allocation}, delegation {delegation}, "
        f"strategy manager {strategy_manager}, strategy {strategy}"
    )
    return Core(
        allocation_manager=allocation,
        delegation_manager=delegation,
        strategy=strategy,
        token=token,
        strategy_manager=strategy_manager,
    )


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
    """Deploy the service manager and the epoch manager against ``core``, and put
    ``reward_pool`` stake tokens in the challenger reward pool. Refuses, before sending
    anything, a core whose ``DEALLOCATION_DELAY`` is shorter than
    ``params.slashable_span`` (the EpochManager would revert ``DeallocationDelayTooShort``):
    an operator could deregister inside an epoch and escape its slash."""
    core.check(chain, "allocation_manager", "strategy")
    am = chain.contract("IAllocationManager", core.allocation_manager)
    delay = int(chain.call(am.functions.DEALLOCATION_DELAY()))
    if delay < params.slashable_span:
        raise ConfigError(
            f"the core's DEALLOCATION_DELAY is {delay} blocks, shorter than the "
            f"{params.slashable_span} blocks an epoch's operators must stay slashable "
            "(commit + max_attempts * (submit + 2 * challenge blocks)): shorten the "
            "periods or use a core with a longer delay"
        )
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
        fund_reward_pool(chain, deployer, core, em, reward_pool)
        say(f"reward pool: {reward_pool / WAD:g} stake tokens")
    say(f"avs: service manager {sm}, epoch manager {em}, verifier {verifier}")
    return Avs(sm, em, verifier)


def fund_reward_pool(
    chain: Chain, funder: LocalAccount, core: Core, epoch_manager: str, amount: int
) -> None:
    """Add ``amount`` stake tokens to the EpochManager's challenger reward pool: the funder
    mints what it lacks (a devnet ``StakeToken`` it owns: the stand-ins' or the real core's
    test token), approves the EpochManager and calls ``fundRewards``."""
    token = chain.contract("StakeToken", core.token)
    held = int(chain.call(token.functions.balanceOf(funder.address)))
    if held < amount:
        chain.transact(funder, token.functions.mint(funder.address, amount - held))
    chain.transact(funder, token.functions.approve(epoch_manager, amount))
    chain.transact(
        funder, chain.contract("EpochManager", epoch_manager).functions.fundRewards(amount)
    )


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


# ----------------------------------------------------------------------------- operators


@dataclass(frozen=True)
class RegistrationPlan:
    """What :func:`register_operator` will send, decided from chain state before sending
    anything: each step already done is skipped, so an interrupted registration resumes."""

    operator: str
    register_as_operator: bool
    deposit: int  # tokens to deposit (the shortfall of delegated shares against the stake)
    approve: bool
    allocate: bool
    magnitude: int
    expected_stake: int  # what the AVS will see once the allocation counts


@dataclass(frozen=True)
class Registered:
    operator: str
    allocated_block: int  # block of the allocation (0 if it was already in place)
    effect_block: int  # first block the allocation counts (is slashable)
    stake: int  # the AVS's stakeOf once registered


@dataclass(frozen=True)
class _Handles:
    am: Any
    dm: Any
    sm: Any
    strategy: Any
    token: Any
    avs: Any


def _handles(chain: Chain, core: Core, avs: Avs) -> _Handles:
    return _Handles(
        am=chain.contract("IAllocationManager", core.allocation_manager),
        dm=chain.contract("IDelegationManager", core.delegation_manager),
        sm=chain.contract("IStrategyManager", core.strategy_manager),
        strategy=chain.contract("IStrategy", core.strategy),
        token=chain.contract("IERC20", core.token),
        avs=chain.contract("P2pflServiceManager", avs.service_manager),
    )


def plan_registration(
    chain: Chain,
    core: Core,
    avs: Avs,
    operator: str,
    stake: int,
    magnitude: int = WAD,
) -> RegistrationPlan:
    """Check everything the registration needs, reading the chain only: the core's
    addresses, the strategy (whitelisted, over the core's token), the operator's tokens,
    its delegation and membership, free magnitude and the AVS's minimum stake. Any
    problem is one :class:`ConfigError` line; nothing has been sent."""
    if stake < 0:
        raise ConfigError(f"stake must be >= 0, got {stake}")
    if not 0 < magnitude <= WAD:
        raise ConfigError(f"magnitude must be in (0, {WAD}], got {magnitude}")
    core.check(chain)
    if not chain.w3.eth.get_code(Web3.to_checksum_address(avs.service_manager)):
        raise ConfigError(f"no service manager at {avs.service_manager} on chain {chain.chain_id}")
    h = _handles(chain, core, avs)
    op = Web3.to_checksum_address(operator)
    operator_set = (avs.service_manager, OPERATOR_SET_ID)
    if not chain.w3.eth.get_balance(op):
        raise ConfigError(f"{op} holds no ETH to pay for the registration's transactions")
    if not chain.call(h.sm.functions.strategyIsWhitelistedForDeposit(core.strategy)):
        raise ConfigError(
            f"strategy {core.strategy} is not whitelisted for deposits in the StrategyManager "
            f"{core.strategy_manager} (StrategyNotWhitelisted): the core's whitelister must add it"
        )
    underlying = str(chain.call(h.strategy.functions.underlyingToken()))
    if underlying.lower() != core.token.lower():
        raise ConfigError(
            f"strategy {core.strategy} holds token {underlying}, not the core description's "
            f"token {core.token}"
        )
    is_operator = bool(chain.call(h.dm.functions.isOperator(op)))
    delegated_to = str(chain.call(h.dm.functions.delegatedTo(op)))
    if not is_operator and int(delegated_to, 16) != 0:
        raise ConfigError(
            f"{op} is delegated to {delegated_to} as a staker and cannot register as an "
            "operator (ActivelyDelegated)"
        )
    if chain.call(h.am.functions.isMemberOfOperatorSet(op, operator_set)):
        raise ConfigError(f"{op} is already registered for the AVS's operator set")
    if chain.call(h.am.functions.isOperatorSlashable(op, operator_set)):
        delay = int(chain.call(h.am.functions.DEALLOCATION_DELAY()))
        raise ConfigError(
            f"{op} deregistered from the AVS less than {delay} blocks ago and is still "
            "slashable: it can register again once that window has passed (AlreadyMemberOfSet)"
        )
    shares = int(chain.call(h.dm.functions.operatorShares(op, core.strategy))) if is_operator else 0
    deposit = max(0, stake - shares)
    if deposit:
        balance = int(chain.call(h.token.functions.balanceOf(op)))
        if balance < deposit:
            raise ConfigError(
                f"operator {op} holds {balance} of token {core.token}, needs {deposit} to stake "
                f"{stake}"
            )
    approve = bool(deposit) and (
        int(chain.call(h.token.functions.allowance(op, core.strategy_manager))) < deposit
    )
    max_magnitude = int(chain.call(h.am.functions.getMaxMagnitude(op, core.strategy)))
    if max_magnitude == 0:
        raise ConfigError(f"{op} was fully slashed in strategy {core.strategy} (FullySlashed)")
    allocate = True
    if is_operator:
        is_set, _ = chain.call(h.am.functions.getAllocationDelay(op))
        if not is_set:
            raise ConfigError(
                f"{op}'s allocation delay is not set yet (UninitializedAllocationDelay): set it "
                "with AllocationManager.setAllocationDelay and wait ALLOCATION_CONFIGURATION_DELAY"
            )
        current, pending, effect = chain.call(
            h.am.functions.getAllocation(op, operator_set, core.strategy)
        )
        target = int(current) + int(pending)
        if target == magnitude:
            allocate = False  # in place, or on its way (waited for below)
        elif int(effect) != 0:
            raise ConfigError(
                f"{op} has an allocation change to the AVS pending until block {effect} "
                "(ModificationAlreadyPending): register once it took effect"
            )
        elif magnitude > int(current):
            free = int(chain.call(h.am.functions.getAllocatableMagnitude(op, core.strategy)))
            if magnitude - int(current) > free:
                raise ConfigError(
                    f"{op} has {free} magnitude of strategy {core.strategy} free, needs "
                    f"{magnitude - int(current)} (InsufficientMagnitude)"
                )
    expected = (shares + deposit) * (magnitude * WAD // max_magnitude) // WAD
    minimum = int(chain.call(h.avs.functions.minimumStake()))
    if expected < minimum:
        raise ConfigError(
            f"{op} would allocate {expected} to the AVS, below its minimum stake {minimum} "
            "(StakeTooLow): stake more"
        )
    return RegistrationPlan(
        operator=op,
        register_as_operator=not is_operator,
        deposit=deposit,
        approve=approve,
        allocate=allocate,
        magnitude=magnitude,
        expected_stake=expected,
    )


def wait_for_block(
    chain: Chain,
    block: int,
    mine_blocks: bool | None = None,
    poll: float = 2.0,
    say: Progress = _quiet,
) -> None:
    """Until the head is at least ``block``: mined at once on a devnet (anvil), waited
    for, with a word, on a live chain."""
    now = int(chain.w3.eth.block_number)
    if now >= block:
        return
    if mine_blocks if mine_blocks is not None else chain.chain_id == DEVNET_CHAIN_ID:
        mine(chain.w3, block - now)
        return
    say(f"waiting {block - now} blocks, until block {block}, for the allocation to count")
    while int(chain.w3.eth.block_number) < block:
        time.sleep(poll)


def register_operator(
    chain: Chain,
    core: Core,
    avs: Avs,
    operator: LocalAccount,
    stake: int,
    peer_id: bytes,
    *,
    magnitude: int = WAD,
    allocation_delay: int = ALLOCATION_DELAY,
    metadata_uri: str = "",
    mine_blocks: bool | None = None,
    poll: float = 2.0,
    say: Progress = _quiet,
) -> Registered:
    """The operator path, the same on the devnet stand-ins and the real core:
    ``DelegationManager.registerAsOperator`` (with ``allocation_delay``) unless already an
    operator; approve and ``StrategyManager.depositIntoStrategy`` until ``stake`` is
    delegated in the strategy; ``AllocationManager.modifyAllocations`` of ``magnitude``
    (default all) to the AVS's operator set; wait until the allocation counts (mined on a
    devnet, waited for on a live chain); ``registerForOperatorSets`` with the signed peer
    id. Everything is checked first (:func:`plan_registration`): bad input is a
    :class:`ConfigError` with nothing sent."""
    plan = plan_registration(chain, core, avs, operator.address, stake, magnitude)
    h = _handles(chain, core, avs)
    operator_set = (avs.service_manager, OPERATOR_SET_ID)
    if plan.register_as_operator:
        fn = h.dm.functions.registerAsOperator(ZERO_ADDRESS, allocation_delay, metadata_uri)
        chain.transact(operator, fn)
    if plan.approve:
        chain.transact(operator, h.token.functions.approve(core.strategy_manager, plan.deposit))
    if plan.deposit:
        fn = h.sm.functions.depositIntoStrategy(core.strategy, core.token, plan.deposit)
        chain.transact(operator, fn)
    allocated = 0
    if plan.allocate:
        params = [(operator_set, [core.strategy], [magnitude])]
        receipt = chain.transact(operator, h.am.functions.modifyAllocations(plan.operator, params))
        allocated = int(receipt["blockNumber"])
    _, _, effect = chain.call(
        h.am.functions.getAllocation(plan.operator, operator_set, core.strategy)
    )
    effect_block = int(effect) or int(chain.w3.eth.block_number)
    wait_for_block(chain, effect_block, mine_blocks, poll, say)
    sig = peer_binding_signature(chain, operator, avs.service_manager, peer_id)
    data = abi_encode(["bytes", "bytes"], [peer_id, sig])
    register = (avs.service_manager, [OPERATOR_SET_ID], data)
    chain.transact(operator, h.am.functions.registerForOperatorSets(plan.operator, register))
    staked = int(chain.call(h.avs.functions.stakeOf(plan.operator)))
    return Registered(plan.operator, allocated, effect_block, staked)


def mint_stake(chain: Chain, deployer: LocalAccount, core: Core, to: str, amount: int) -> None:
    """Devnet only: the deployer mints ``amount`` of the core's ``StakeToken`` to ``to``."""
    token = chain.contract("StakeToken", core.token)
    chain.transact(deployer, token.functions.mint(to, amount))


def deploy_devnet(
    chain: Chain,
    deployer: LocalAccount,
    operators: list[tuple[LocalAccount, int, bytes]],
    verifier: str | Callable[[], str],
    params: Params | None = None,
    genesis_model: bytes | None = None,
    reward_pool: int = 10 * WAD,
    say: Progress = _quiet,
    *,
    core: Core | None = None,
) -> Deployment:
    """Everything on a fresh local chain: the core (the devnet stand-ins, their
    deallocation delay at least ``params.slashable_span``, or ``core`` already deployed
    there, whose token the deployer mints), the AVS with ``reward_pool`` stake tokens in its
    challenger reward pool, and ``(account, stake, peer id)`` operators, each minted its
    stake and registered."""
    started = time.perf_counter()
    params = params or Params()
    genesis = genesis_model or keccak256(b"p2pfl/genesis")
    delay = max(DEVNET_DEALLOCATION_DELAY, params.slashable_span)
    core = core or deploy_core(chain, deployer, say, deallocation_delay=delay)
    verifier_address = verifier() if callable(verifier) else verifier
    avs = deploy_avs(
        chain, deployer, core, verifier_address, params, genesis, reward_pool=reward_pool, say=say
    )
    listed = []
    for i, (op, stake, peer_id) in enumerate(operators):
        mint_stake(chain, deployer, core, op.address, stake)
        register_operator(chain, core, avs, op, stake, peer_id, mine_blocks=True, say=say)
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
