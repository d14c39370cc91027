"""An operator's own view of and actions on a deployed p2pfl network: find the core from
the AVS alone, read its registration state, register (:func:`register_operator`) and
deregister. ``p2pfl operator`` is the command line over this module.

The core is found on chain from the epoch manager, so an operator needs only the RPC
URL and the epoch manager's address (or a deployment file): epoch manager →
``serviceManager()`` → ``allocationManager()`` and ``strategy()``; allocation manager →
``delegation()``; delegation manager → ``strategyManager()``; strategy →
``underlyingToken()``. These getters are public on the real EigenLayer core (v1.x) and
on the devnet stand-ins alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from p2pfl.chain.client import Chain
from p2pfl.chain.deploy import (
    OPERATOR_SET_ID,
    WAD,
    Avs,
    Core,
    Deployment,
)
from p2pfl.errors import ConfigError

_ADDRESS_GETTERS = [
    {
        "name": name,
        "type": "function",
        "stateMutability": "view",
        "inputs": [],
        "outputs": [{"name": "", "type": "address"}],
    }
    for name in ("delegation", "strategyManager", "underlyingToken")
]


@dataclass(frozen=True)
class Network:
    """Where an operator registers: the chain, the core and the AVS."""

    chain: Chain
    core: Core
    avs: Avs


def _getter(chain: Chain, address: str, name: str, what: str) -> str:
    contract = chain.w3.eth.contract(
        address=Web3.to_checksum_address(address), abi=_ADDRESS_GETTERS
    )
    try:
        return str(contract.functions[name]().call())
    except Exception:
        raise ConfigError(
            f"{what} at {address} has no {name}(): not an EigenLayer core contract"
        ) from None


def discover(chain: Chain, epoch_manager: str) -> Network:
    """The core and AVS behind ``epoch_manager``, read from the chain (see the module
    docstring). One :class:`ConfigError` line when something on the way is missing."""
    if not Web3.is_address(epoch_manager):
        raise ConfigError(f"--epoch-manager {epoch_manager!r} is not an address")
    em = Web3.to_checksum_address(epoch_manager)
    if not chain.w3.eth.get_code(em):
        raise ConfigError(
            f"no contract at {em} on chain {chain.chain_id}: is the AVS deployed on this chain?"
        )
    try:
        epochs = chain.contract("EpochManager", em)
        sm = str(chain.call(epochs.functions.serviceManager()))
        verifier = str(chain.call(epochs.functions.verifier()))
        service = chain.contract("P2pflServiceManager", sm)
        am = str(chain.call(service.functions.allocationManager()))
        strategy = str(chain.call(service.functions.strategy()))
    except ConfigError:
        raise
    except Exception:
        raise ConfigError(f"{em} on chain {chain.chain_id} is not a p2pfl epoch manager") from None
    dm = _getter(chain, am, "delegation", "the allocation manager")
    core = Core(
        allocation_manager=am,
        delegation_manager=dm,
        strategy=strategy,
        token=_getter(chain, strategy, "underlyingToken", "the strategy"),
        strategy_manager=_getter(chain, dm, "strategyManager", "the delegation manager"),
    )
    core.check(chain)
    return Network(chain, core, Avs(sm, em, verifier))


def from_deployment(path: Path, rpc: str | None = None) -> Network:
    """The network a deployment file (``p2pfl deploy --out``) describes; ``rpc``
    overrides the file's RPC URL. Its addresses are checked against the chain."""
    try:
        deployment = Deployment.read(path)
    except FileNotFoundError:
        raise ConfigError(f"deployment file {path} not found") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path} is not a p2pfl deployment file ({exc})") from None
    chain = connect(rpc or deployment.rpc)
    if chain.chain_id != deployment.chain_id:
        raise ConfigError(
            f"{path} describes chain {deployment.chain_id}, the RPC serves chain {chain.chain_id}"
        )
    found = discover(chain, deployment.avs.epoch_manager)
    if found.avs.service_manager.lower() != deployment.avs.service_manager.lower():
        raise ConfigError(
            f"{path}'s service manager {deployment.avs.service_manager} is not the epoch "
            f"manager's ({found.avs.service_manager})"
        )
    return found


def connect(rpc: str) -> Chain:
    try:
        return Chain(rpc)
    except Exception as exc:
        raise ConfigError(f"cannot reach the chain at {rpc}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class Allocation:
    current: int  # magnitude counting now (WAD = all of the operator's stake)
    pending: int  # change waiting for ``effect_block`` (negative: a deallocation)
    effect_block: int  # 0 when nothing is pending


@dataclass(frozen=True)
class OperatorStatus:
    operator: str
    block: int
    is_operator: bool  # registered with the DelegationManager
    member: bool  # in the AVS's operator set
    slashable: bool  # member, or deregistered less than DEALLOCATION_DELAY blocks ago
    deallocation_delay: int  # blocks
    token_balance: int
    shares: int  # delegated shares in the AVS's strategy
    max_magnitude: int
    allocation: Allocation
    stake: int  # what the AVS counts (stakeOf)
    minimum_stake: int
    peer_id: bytes  # the libp2p peer id bound at registration (empty if none)

    @property
    def state(self) -> str:
        if self.member:
            return "registered" if self.stake >= self.minimum_stake else "registered, under stake"
        if self.slashable:
            return "deregistered, still slashable"
        return "not registered" if self.is_operator else "not an EigenLayer operator"


def status(net: Network, operator: str) -> OperatorStatus:
    """Everything the chain says about ``operator`` and this AVS (reads only)."""
    if not Web3.is_address(operator):
        raise ConfigError(f"{operator!r} is not an address")
    chain, core, avs = net.chain, net.core, net.avs
    op = Web3.to_checksum_address(operator)
    am = chain.contract("IAllocationManager", core.allocation_manager)
    dm = chain.contract("IDelegationManager", core.delegation_manager)
    token = chain.contract("IERC20", core.token)
    service = chain.contract("P2pflServiceManager", avs.service_manager)
    operator_set = (avs.service_manager, OPERATOR_SET_ID)
    is_operator = bool(chain.call(dm.functions.isOperator(op)))
    current, pending, effect = _allocation(chain, am, op, operator_set, core.strategy)
    return OperatorStatus(
        operator=op,
        block=int(chain.w3.eth.block_number),
        is_operator=is_operator,
        member=bool(chain.call(am.functions.isMemberOfOperatorSet(op, operator_set))),
        slashable=bool(chain.call(am.functions.isOperatorSlashable(op, operator_set))),
        deallocation_delay=int(chain.call(am.functions.DEALLOCATION_DELAY())),
        token_balance=int(chain.call(token.functions.balanceOf(op))),
        shares=int(chain.call(dm.functions.operatorShares(op, core.strategy))),
        max_magnitude=int(chain.call(am.functions.getMaxMagnitude(op, core.strategy))),
        allocation=Allocation(current, pending, effect),
        stake=int(chain.call(service.functions.stakeOf(op))),
        minimum_stake=int(chain.call(service.functions.minimumStake())),
        peer_id=bytes(chain.call(service.functions.peerIdOf(op))),
    )


def _allocation(
    chain: Chain, am: Any, op: str, operator_set: tuple[str, int], strategy: str
) -> tuple[int, int, int]:
    current, pending, effect = chain.call(am.functions.getAllocation(op, operator_set, strategy))
    return int(current), int(pending), int(effect)


@dataclass(frozen=True)
class Deregistered:
    operator: str
    block: int | None  # block of the deregistration (None: it left in an earlier run)
    slashable_until: int | None  # last block it can still be slashed for leaving then
    deallocated: bool  # the allocation's release was sent
    deallocation_effect_block: int  # when the stake is free again (0: at once)


def deregister(net: Network, operator: LocalAccount, *, deallocate: bool = True) -> Deregistered:
    """Leave the AVS's operator set (``deregisterFromOperatorSets``) and, with
    ``deallocate``, queue the release of the magnitude allocated to it
    (``modifyAllocations`` to 0). The operator stays slashable for DEALLOCATION_DELAY
    blocks after either, as on the real core. Run again it finishes what is left (an
    allocation that could not be released while a change was pending). Nothing to do:
    :class:`ConfigError`, nothing sent."""
    chain, core, avs = net.chain, net.core, net.avs
    now = status(net, operator.address)
    left = now.allocation.current + now.allocation.pending
    release = deallocate and left > 0
    if not now.member and not release:
        raise ConfigError(f"{now.operator} is not registered for the AVS ({now.state})")
    if release and now.allocation.effect_block and not now.member:
        raise ConfigError(
            f"{now.operator} left the AVS; its allocation change is pending until block "
            f"{now.allocation.effect_block}: run this again after it to release the stake"
        )
    am = chain.contract("IAllocationManager", core.allocation_manager)
    operator_set = (avs.service_manager, OPERATOR_SET_ID)
    block: int | None = None
    if now.member:
        params = (now.operator, avs.service_manager, [OPERATOR_SET_ID])
        receipt = chain.transact(operator, am.functions.deregisterFromOperatorSets(params))
        block = int(receipt["blockNumber"])
    until = block + now.deallocation_delay if block is not None else None
    effect = 0
    if release:
        if now.allocation.effect_block:
            raise ConfigError(
                f"deregistered in block {block}; an allocation change is still pending until "
                f"block {now.allocation.effect_block}: run `p2pfl operator deregister` "
                "again after it to release the stake"
            )
        change = [(operator_set, [core.strategy], [0])]
        chain.transact(operator, am.functions.modifyAllocations(now.operator, change))
        _, _, effect = _allocation(chain, am, now.operator, operator_set, core.strategy)
    return Deregistered(now.operator, block, until, release, effect)


def update_peer_id(net: Network, operator: LocalAccount, peer_id: bytes) -> int:
    """Bind a new libp2p peer id to a registered operator (``updatePeerId`` with the
    operator's EIP-712 signature), e.g. after the node's identity key was lost or
    rotated; returns the block. Not registered or already bound: :class:`ConfigError`."""
    from p2pfl.chain.deploy import peer_binding_signature

    service = net.chain.contract("P2pflServiceManager", net.avs.service_manager)
    bound = bytes(net.chain.call(service.functions.peerIdOf(operator.address)))
    if not bound:
        raise ConfigError(f"{operator.address} is not registered for the AVS: register first")
    if bound == peer_id:
        raise ConfigError(f"{operator.address} already has this peer id bound")
    sig = peer_binding_signature(net.chain, operator, net.avs.service_manager, peer_id)
    receipt = net.chain.transact(operator, service.functions.updatePeerId(peer_id, sig))
    return int(receipt["blockNumber"])


def tokens(amount: str) -> int:
    """A token amount as typed by a person ("32", "0.5", "1e3") in base units (18
    decimals, the strategy tokens EigenLayer uses); one clear error otherwise."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ConfigError(f"{amount!r} is not an amount of tokens (e.g. 32 or 0.5)") from None
    base = value * WAD
    if not value.is_finite() or base < 0 or base != base.to_integral_value():
        raise ConfigError(f"{amount!r} is not an amount of tokens with at most 18 decimals")
    return int(base)


@dataclass(frozen=True)
class PastSlash:
    epoch: int
    wad: int  # the fraction of the allocated stake slashed, in WAD
    reason: str
    applied: bool  # False: refused by the core, pending a retry

    @property
    def fraction(self) -> float:
        return self.wad / WAD


def past_slashes(net: Network, operator: str, from_block: int = 0) -> list[PastSlash]:
    """Every slash of ``operator`` by this AVS's epoch manager, from its events."""
    from p2pfl.chain.events import EventFollower
    from p2pfl.protocol.history import History

    history = History(
        EventFollower(net.chain.contract("EpochManager", net.avs.epoch_manager), from_block)
    )
    history.refresh()
    op = operator.lower()
    out: list[PastSlash] = []
    for epoch, rec in sorted(history.epochs.items()):
        out += [
            PastSlash(epoch, s.wad, s.reason.describe, True)
            for s in rec.slashes
            if s.operator.lower() == op
        ]
        out += [
            PastSlash(epoch, 0, f"{f.reason.describe} (refused: {f.why})", False)
            for f in rec.failed_slashes
            if f.operator.lower() == op
        ]
    return out
