"""Register, commit, submit, challenge, finalize and slash against a real anvil."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from eth_abi.abi import encode as abi_encode

from p2pfl import merkle
from p2pfl.chain.client import ChainError
from p2pfl.chain.deploy import (
    OPERATOR_SET_ID,
    WAD,
    mint_stake,
    peer_binding_signature,
    register_operator,
)
from p2pfl.chain.epochs import Status
from p2pfl.chain.events import EventFollower
from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import ModelSpec, Update
from tests.chain.conftest import OPERATORS, PARAMS, Devnet, run_to_result

SPEC = ModelSpec((("w", (500,)),))


def updates(n: int, outliers: tuple[int, ...] = ()) -> list[Update]:
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        scale = 1 << 20 if i in outliers else 1 << 10
        out.append(Update(SPEC, rng.integers(-scale, scale, size=500).astype(np.int32)))
    return out


def stake_of(d: Devnet, op: str) -> int:
    return d.stake_of(op)


def test_deployment_registered_every_operator(devnet: Devnet) -> None:
    sm = devnet.service_manager
    ops, stakes = devnet.chain.call(sm.functions.operatorsWithStakes())
    assert list(ops) == [op.address for op in devnet.operators]
    assert list(stakes) == [(i + 1) * 10 * WAD for i in range(OPERATORS)]
    assert devnet.chain.call(sm.functions.peerIdOf(devnet.operators[2].address)) == b"peer-2"
    assert devnet.deployment.seconds < 60


def test_forged_peer_binding_is_refused(devnet: Devnet) -> None:
    d = devnet
    core, avs = d.core, d.deployment.avs
    newcomer, impostor = d.watcher, d.deployer
    # A signature by someone else for the newcomer's peer id.
    sig = peer_binding_signature(d.chain, impostor, avs.service_manager, b"peer-x")
    # An existing operator cannot register twice: refused before sending anything.
    with pytest.raises(ConfigError, match=r"already registered for the AVS's operator set"):
        register_operator(d.chain, core, avs, d.operators[0], WAD, b"p")
    # The newcomer walks the core's path by hand (the same calls on both cores).
    mint_stake(d.chain, d.deployer, core, newcomer.address, 5 * WAD)
    token = d.chain.contract("IERC20", core.token)
    dm = d.chain.contract("IDelegationManager", core.delegation_manager)
    sm = d.chain.contract("IStrategyManager", core.strategy_manager)
    am = d.allocation_manager
    d.chain.transact(newcomer, dm.functions.registerAsOperator("0x" + "00" * 20, 1, ""))
    d.chain.transact(newcomer, token.functions.approve(core.strategy_manager, 5 * WAD))
    d.chain.transact(newcomer, sm.functions.depositIntoStrategy(core.strategy, core.token, 5 * WAD))
    alloc = [((avs.service_manager, OPERATOR_SET_ID), [core.strategy], [WAD])]
    d.chain.transact(newcomer, am.functions.modifyAllocations(newcomer.address, alloc))
    d.mine(1)
    data = abi_encode(["bytes", "bytes"], [b"peer-x", sig])
    params = (avs.service_manager, [OPERATOR_SET_ID], data)
    with pytest.raises(ChainError, match=r"P2pflServiceManager\.BadPeerSignature\(operator="):
        d.chain.transact(newcomer, am.functions.registerForOperatorSets(newcomer.address, params))


def test_full_epoch_slashes_the_flagged_operator(devnet: Devnet) -> None:
    d = devnet
    e, operators, _, _ = run_to_result(d, updates(OPERATORS, outliers=(2,)))
    info = d.epochs.epoch(e)
    assert info.status == Status.SUBMITTED
    flagged = [operators[i] for i in range(len(operators)) if info.flag_mask >> i & 1]
    outlier = d.operators[2].address
    assert flagged == [outlier]  # the Python rule, posted and accepted on chain
    before = {op: stake_of(d, op) for op in operators}
    with pytest.raises(ChainError, match=r"EpochManager\.ChallengeStillOpen"):
        d.epochs.finalize(d.deployer, e)
    d.mine_to(info.challenge_deadline + 1)
    receipt = d.epochs.finalize(d.deployer, e)
    assert receipt["status"] == 1
    assert stake_of(d, outlier) == before[outlier] // 2
    assert all(stake_of(d, op) == before[op] for op in operators if op != outlier)
    ones = np.ones(d.epochs.params().model_dim, dtype=np.int32)  # run_to_result's model
    assert d.epochs.latest_model() == merkle.root(ones)
    assert d.epochs.epoch(e).status == Status.FINALIZED


def test_chain_errors_are_decoded(devnet: Devnet) -> None:
    d = devnet
    e, _ = d.epochs.open_epoch(d.deployer)
    op = d.operators[0]
    d.epochs.commit_update(op, e, keccak256(b"u"))
    with pytest.raises(
        ChainError, match=rf"EpochManager\.AlreadyCommitted\(epoch={e}, operator={op.address}\)"
    ):
        d.epochs.commit_update(op, e, keccak256(b"u2"))
    with pytest.raises(ChainError, match=r"EpochManager\.WrongEpoch\(epoch=9, current=1\)"):
        d.epochs.commit_update(op, 9, keccak256(b"u"))
    with pytest.raises(ChainError, match=r"EpochManager\.NotInRoster"):
        d.epochs.commit_update(d.watcher, e, keccak256(b"u"))
    d.mine_to(d.epochs.epoch(e).commit_deadline + 1)
    with pytest.raises(ChainError, match=r"EpochManager\.CommitClosed"):
        d.epochs.commit_update(d.operators[1], e, keccak256(b"u"))


def test_event_follower_sees_the_epoch_in_order_once(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    follower = EventFollower(d.epochs.contract, start_block=start)
    e, operators, _, _ = run_to_result(d, updates(OPERATORS, outliers=(2,)))
    d.mine_to(d.epochs.epoch(e).challenge_deadline + 1)
    d.epochs.finalize(d.deployer, e)
    names = [ev.name for ev in follower.poll()]
    assert names[0] == "EpochOpened"
    assert names.count("UpdateCommitted") == OPERATORS
    assert names.index("SeedRecorded") > names.index("UpdateCommitted")
    assert names[names.index("ResultSubmitted") :] == [
        "ResultSubmitted",
        "EpochFinalized",
        "SlashApplied",
    ]
    assert follower.poll() == []  # nothing twice
    committed = [
        ev for ev in EventFollower(d.epochs.contract, start).poll() if ev.name == "UpdateCommitted"
    ]
    assert {ev.args["operator"] for ev in committed} == set(operators)


def test_the_byzantine_bound_is_the_contracts_and_is_read_once_per_n(
    devnet: Devnet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``byzantineBound(n) = min(maxByzantine, (n - 3) / 2)``; the client reads each ``n``
    once (the parameters never change), so a second read needs no RPC."""
    em = devnet.epochs
    want = {n: min(PARAMS.max_byzantine, max(0, (n - 3) // 2)) for n in range(12)}
    assert {n: em.byzantine_bound(n) for n in want} == want
    calls: list[object] = []
    real = em.chain.call

    def counted(fn: Any) -> Any:
        calls.append(fn)
        return real(fn)

    monkeypatch.setattr(em.chain, "call", counted)
    assert {n: em.byzantine_bound(n) for n in want} == want
    assert not calls
