"""Every slash path, the core's delays and windows, registration refusals and the core's
errors, on both cores (the ``devnet`` stand-ins and EigenLayer's ``real-core``).

Slashing transactions go through the Python client as nodes send them: gas estimated by
the chain, plus the client's margin; and, to leave no doubt, once more with exactly the
estimate. On either core each slash must *apply* (``SlashApplied``, stake reduced): a
slash starved of gas inside the epoch manager's ``try`` would show up as ``SlashFailed``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt, Wei

from p2pfl import evidence
from p2pfl.chain.client import ChainError, decode_error, events
from p2pfl.chain.deploy import (
    OPERATOR_SET_ID,
    WAD,
    mint_stake,
    plan_registration,
    register_operator,
)
from p2pfl.chain.events import EventFollower
from p2pfl.chain.slashing import SlashReason
from p2pfl.errors import ConfigError
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.history import History
from p2pfl.robust.sketch import sketch_many
from tests.chain.conftest import GENESIS, OPERATORS, PARAMS, Devnet, run_to_result
from tests.chain.test_challenges import OUTLIER as CNN_OUTLIER
from tests.chain.test_challenges import WRONG_LEAF, selected_of, wrong_model
from tests.chain.test_challenges import updates as cnn_updates

SPEC = ModelSpec((("w", (500,)),))
OUTLIER = 2  # the operator whose update Krum flags


def updates(n: int) -> list[Update]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        scale = 1 << 20 if i == OUTLIER else 1 << 10
        out.append(Update(SPEC, rng.integers(-scale, scale, size=500).astype(np.int32)))
    return out


def slash_events(d: Devnet, receipt: TxReceipt) -> tuple[list[Any], list[Any]]:
    """(SlashApplied, SlashFailed) events of ``receipt``."""
    em = d.epochs.contract
    return list(events(em, receipt, "SlashApplied")), list(events(em, receipt, "SlashFailed"))


def send_with_exact_estimate(
    d: Devnet, fn: ContractFunction, who: Any, value: int = 0
) -> TxReceipt:
    """``fn`` signed with exactly the gas the chain estimates (no client margin)."""
    w3 = d.chain.w3
    tx = fn.build_transaction(
        {
            "from": who.address,
            "nonce": w3.eth.get_transaction_count(who.address, "pending"),
            "chainId": d.chain.chain_id,
            "value": Wei(value),
        }
    )
    signed = who.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed.raw_transaction)
    )
    assert receipt["status"] == 1
    assert receipt["gasUsed"] <= tx["gas"]
    return receipt


def explain_call(d: Devnet, fn: ContractFunction, sender: str) -> str:
    """Why ``fn`` reverts when ``sender`` (any address, a contract's too) calls it."""
    try:
        fn.call({"from": sender})
    except ContractLogicError as exc:
        return d.chain.explain(exc)
    raise AssertionError("the call did not revert")


def deregister(d: Devnet, index: int) -> int:
    """Operator ``index`` leaves the AVS's operator set; returns the block it left in."""
    op = d.operators[index]
    params = (op.address, d.deployment.avs.service_manager, [OPERATOR_SET_ID])
    fn = d.allocation_manager.functions.deregisterFromOperatorSets(params)
    return int(d.chain.transact(op, fn)["blockNumber"])


def submitted(d: Devnet) -> tuple[int, str]:
    """An epoch with a submitted result flagging the outlier; (epoch, outlier address)."""
    e, operators, _, _ = run_to_result(d, updates(OPERATORS))
    info = d.epochs.epoch(e)
    outlier = d.operators[OUTLIER].address
    assert [operators[i] for i in range(len(operators)) if info.flag_mask >> i & 1] == [outlier]
    return e, outlier


# ------------------------------------------------------------------ the three slash paths


def test_a_flag_slash_applies_under_the_estimated_gas(devnet: Devnet) -> None:
    d = devnet
    e, outlier = submitted(d)
    before = d.stake_of(outlier)
    d.mine_to(d.epochs.epoch(e).challenge_deadline + 1)
    receipt = send_with_exact_estimate(d, d.epochs.contract.functions.finalize(e), d.deployer)
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [(ev.args.operator, ev.args.wad, ev.args.reason) for ev in applied] == [
        (outlier, PARAMS.flag_slash_wad, SlashReason.FLAGGED)
    ]
    assert d.stake_of(outlier) == before // 2
    assert d.epochs.pending_slash_count() == 0


def test_an_upheld_challenge_slashes_the_aggregator_fully(devnet: Devnet) -> None:
    d = devnet
    e, operators, _, by_op = run_to_result(d, cnn_updates(OPERATORS), model=wrong_model)
    info = d.epochs.epoch(e)
    selected = selected_of(operators, by_op, info.selected_mask)
    posted = wrong_model(operators, by_op, info.selected_mask)
    ev = evidence.model_evidence(GENESIS, selected, posted, WRONG_LEAF)
    stake = d.stake_of(info.aggregator)
    pool = d.epochs.reward_pool()
    fn = d.epochs.contract.functions.challengeModel(
        e,
        ev.leaf,
        ev.base.data,
        list(ev.base.proof),
        [s.data for s in ev.selected],
        [list(s.proof) for s in ev.selected],
        ev.model.hash,
        list(ev.model.proof),
    )
    receipt = send_with_exact_estimate(d, fn, d.watcher, value=PARAMS.challenge_bond)
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [(ev.args.operator, ev.args.reason) for ev in applied] == [
        (info.aggregator, SlashReason.WRONG_MODEL)
    ]
    # the reward is measured on this core: what the slash removed, times the share
    (credited,) = events(d.epochs.contract, receipt, "RewardCredited")
    assert credited.args.lost == stake
    reward = min(stake * PARAMS.reward_share_wad // WAD, pool)
    assert d.epochs.owed_tokens(d.watcher.address) == reward
    # aggregatorSlashWad is 100 %: nothing is left, max magnitude 0 (on both cores)
    assert d.stake_of(info.aggregator) == 0
    am = d.allocation_manager
    assert d.chain.call(am.functions.getMaxMagnitude(info.aggregator, d.core.strategy)) == 0


def test_a_sketch_and_a_norm_slash_apply_under_the_estimated_gas(devnet: Devnet) -> None:
    d = devnet
    ups = cnn_updates(OPERATORS)
    e, operators, _, by_op = run_to_result(d, ups, lie_about=3)
    info = d.epochs.epoch(e)
    rows = sketch_many([by_op[a].q for a in operators], info.seed, PARAMS.sketch_dim).tolist()
    rows[3][0] += 1
    ev = evidence.sketch_evidence(by_op[operators[3]].q, 3, rows[3], info.seed, PARAMS.sketch_dim)
    assert ev is not None
    cid, _ = d.epochs.open_sketch_challenge(d.watcher, e, ev)
    for c in ev.chunks:
        fn = d.epochs.contract.functions.proveChunk(e, cid, c.index, c.data, list(c.proof))
        receipt = send_with_exact_estimate(d, fn, d.deployer)
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [(a.args.operator, a.args.reason) for a in applied] == [
        (info.aggregator, SlashReason.WRONG_SKETCH)
    ]
    outlier = d.operators[CNN_OUTLIER].address
    before = d.stake_of(outlier)
    for c in evidence.norm_evidence(ups[CNN_OUTLIER].q, PARAMS.norm_bound_sq):
        fn = d.epochs.contract.functions.proveNormChunk(e, outlier, c.index, c.data, list(c.proof))
        receipt = send_with_exact_estimate(d, fn, d.watcher)
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [(a.args.operator, a.args.reason) for a in applied] == [
        (outlier, SlashReason.NORM_VIOLATION)
    ]
    assert d.stake_of(outlier) == before - before // 10


def test_a_timeout_slash_applies_under_the_estimated_gas(devnet: Devnet) -> None:
    d = devnet
    e, _ = d.epochs.open_epoch(d.deployer)
    for op, u in zip(d.operators, updates(OPERATORS), strict=True):
        d.epochs.commit_update(op, e, u.digest)
    d.mine(1)  # past the close block (anvil estimates gas at the head's number)
    d.epochs.record_seed(d.deployer, e)  # draws the aggregator
    info = d.epochs.epoch(e)
    before = d.stake_of(info.aggregator)
    d.mine_to(info.submit_deadline + 1)
    receipt = send_with_exact_estimate(d, d.epochs.contract.functions.reportTimeout(e), d.watcher)
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [(ev.args.operator, ev.args.reason) for ev in applied] == [
        (info.aggregator, SlashReason.MISSED_DEADLINE)
    ]
    assert d.stake_of(info.aggregator) == before - before // 10


# ------------------------------------------------------------------ deregistered operators


def test_a_deregistered_operator_is_slashed_inside_its_window(devnet: Devnet) -> None:
    d = devnet
    e, outlier = submitted(d)
    before = d.stake_of(outlier)
    d.mine_to(d.epochs.epoch(e).challenge_deadline)
    left = deregister(d, OUTLIER)
    am = d.allocation_manager
    operator_set = (d.deployment.avs.service_manager, OPERATOR_SET_ID)
    assert not d.chain.call(am.functions.isMemberOfOperatorSet(outlier, operator_set))
    receipt = d.epochs.finalize(d.deployer, e)
    assert int(receipt["blockNumber"]) <= left + d.deallocation_delay()
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [ev.args.operator for ev in applied] == [outlier]
    assert d.stake_of(outlier) == before // 2
    # still inside the window: it cannot come back yet (checked before sending, and by the core)
    with pytest.raises(ConfigError, match=r"still slashable"):
        register_operator(d.chain, d.core, d.deployment.avs, d.operators[OUTLIER], 0, b"back")
    fn = am.functions.registerForOperatorSets(outlier, (operator_set[0], [OPERATOR_SET_ID], b""))
    with pytest.raises(ChainError, match=r"AllocationManager\.AlreadyMemberOfSet\(\)"):
        d.chain.transact(d.operators[OUTLIER], fn)


def test_an_aggregator_that_deregisters_is_still_slashed_and_the_reward_measured(
    devnet: Devnet,
) -> None:
    """The reward is what the slash removed from the allocation, which a deregistered but
    still slashable operator keeps: measured the same on both cores."""
    d = devnet
    e, operators, _, by_op = run_to_result(d, cnn_updates(OPERATORS), model=wrong_model)
    info = d.epochs.epoch(e)
    index = next(i for i, op in enumerate(d.operators) if op.address == info.aggregator)
    stake = d.stake_of(info.aggregator)
    left = deregister(d, index)
    assert d.stake_of(info.aggregator) == stake  # still allocated, still slashable
    selected = selected_of(operators, by_op, info.selected_mask)
    posted = wrong_model(operators, by_op, info.selected_mask)
    ev = evidence.model_evidence(GENESIS, selected, posted, WRONG_LEAF)
    pool = d.epochs.reward_pool()
    upheld, receipt = d.epochs.challenge_model(d.watcher, e, ev)
    assert upheld
    assert int(receipt["blockNumber"]) <= left + d.deallocation_delay()
    applied, failed = slash_events(d, receipt)
    assert failed == []
    assert [a.args.operator for a in applied] == [info.aggregator]
    assert d.stake_of(info.aggregator) == 0
    (credited,) = events(d.epochs.contract, receipt, "RewardCredited")
    assert credited.args.lost == stake
    assert credited.args.amount == min(stake * PARAMS.reward_share_wad // WAD, pool)


def test_outside_its_window_the_slash_is_pending_and_a_retry_applies_it(devnet: Devnet) -> None:
    d = devnet
    e, outlier = submitted(d)
    before = d.stake_of(outlier)
    left = deregister(d, OUTLIER)
    d.mine_to(max(d.epochs.epoch(e).challenge_deadline, left + d.deallocation_delay()) + 1)
    receipt = d.epochs.finalize(d.deployer, e)
    applied, failed = slash_events(d, receipt)
    assert applied == []
    (refused,) = failed
    assert refused.args.operator == outlier
    assert decode_error(bytes(refused.args.error)) == "AllocationManager.OperatorNotSlashable()"
    history = History(EventFollower(d.epochs.contract, int(receipt["blockNumber"])))
    history.refresh()
    (recorded,) = history.epochs[e].failed_slashes
    assert (recorded.operator, recorded.reason) == (outlier, SlashReason.FLAGGED)
    assert recorded.why == "AllocationManager.OperatorNotSlashable()"
    (pending,) = events(d.epochs.contract, receipt, "SlashPending")
    pending_id = int(pending.args.id)
    assert d.epochs.pending_slash_count() == 1
    assert d.stake_of(outlier) == before  # the allocation is still there, unslashed
    with pytest.raises(ChainError, match=r"AllocationManager\.OperatorNotSlashable\(\)"):
        d.epochs.retry_slash(d.watcher, pending_id)
    # The operator comes back (its allocation never left): the pending slash now applies.
    back = register_operator(d.chain, d.core, d.deployment.avs, d.operators[OUTLIER], 0, b"back")
    assert back.allocated_block == 0  # nothing to allocate: it was still allocated
    retried = d.epochs.retry_slash(d.watcher, pending_id)
    applied, failed = slash_events(d, retried)
    assert failed == []
    assert [(ev.args.operator, ev.args.reason) for ev in applied] == [
        (outlier, SlashReason.FLAGGED)
    ]
    assert d.stake_of(outlier) == before // 2
    with pytest.raises(ChainError, match=r"EpochManager\.NoPendingSlash\(id="):
        d.epochs.retry_slash(d.watcher, pending_id)


# ------------------------------------------------------------------ delays


def test_an_allocation_counts_only_after_the_operators_delay(devnet: Devnet) -> None:
    d = devnet
    newcomer = d.watcher
    mint_stake(d.chain, d.deployer, d.core, newcomer.address, 5 * WAD)
    joined = register_operator(
        d.chain, d.core, d.deployment.avs, newcomer, 5 * WAD, b"new", allocation_delay=4
    )
    assert joined.effect_block == joined.allocated_block + 4
    assert joined.stake == 5 * WAD
    am = d.allocation_manager
    assert tuple(d.chain.call(am.functions.getAllocationDelay(newcomer.address))) == (True, 4)


def test_a_deallocation_is_queued_while_the_operator_is_slashable(devnet: Devnet) -> None:
    d = devnet
    op = d.operators[1]
    stake = d.stake_of(op.address)
    operator_set = (d.deployment.avs.service_manager, OPERATOR_SET_ID)
    params = [(operator_set, [d.core.strategy], [WAD // 2])]
    receipt = d.chain.transact(
        op, d.allocation_manager.functions.modifyAllocations(op.address, params)
    )
    (update,) = events(d.allocation_manager, receipt, "AllocationUpdated")
    effect = int(receipt["blockNumber"]) + d.deallocation_delay() + 1
    assert (update.args.magnitude, update.args.effectBlock) == (WAD // 2, effect)
    d.mine_to(effect - 1)
    assert d.stake_of(op.address) == stake  # still slashable through here
    d.mine_to(effect)
    assert d.stake_of(op.address) == stake // 2


# ------------------------------------------------------------------ the core's errors


def test_the_cores_reverts_are_named_as_the_core_names_them(devnet: Devnet) -> None:
    d = devnet
    am = d.allocation_manager
    core, avs = d.core, d.deployment.avs
    op = d.operators[0]
    operator_set = (avs.service_manager, OPERATOR_SET_ID)
    same = [(operator_set, [core.strategy], [WAD])]
    with pytest.raises(ChainError, match=r"AllocationManager\.SameMagnitude\(\)"):
        d.chain.transact(op, am.functions.modifyAllocations(op.address, same))
    with pytest.raises(ChainError, match=r"AllocationManager\.UninitializedAllocationDelay\(\)"):
        d.chain.transact(d.watcher, am.functions.modifyAllocations(d.watcher.address, same))
    half = [(operator_set, [core.strategy], [WAD // 2])]
    d.chain.transact(op, am.functions.modifyAllocations(op.address, half))
    with pytest.raises(ChainError, match=r"AllocationManager\.ModificationAlreadyPending\(\)"):
        d.chain.transact(op, am.functions.modifyAllocations(op.address, same))
    # Slashes as the service manager sends them (from the epoch manager, and from the AVS).
    sm = d.service_manager
    assert (
        explain_call(d, sm.functions.slash(op.address, 0, "zero"), avs.epoch_manager)
        == "AllocationManager.InvalidWadToSlash()"
    )
    twice = (op.address, OPERATOR_SET_ID, [core.strategy] * 2, [1, 1], "twice")
    assert (
        explain_call(d, am.functions.slashOperator(avs.service_manager, twice), avs.service_manager)
        == "AllocationManager.StrategiesMustBeInAscendingOrder()"
    )
    deposit = d.chain.contract("IStrategyManager", core.strategy_manager).functions
    assert (
        explain_call(d, deposit.depositIntoStrategy(core.token, core.token, 1), op.address)
        == "StrategyManager.StrategyNotWhitelisted()"
    )


# ------------------------------------------------------------------ registration refusals


def test_registration_refuses_bad_input_before_sending_anything(devnet: Devnet) -> None:
    d = devnet
    core, avs = d.core, d.deployment.avs
    newcomer = d.watcher
    nonce, head = d.chain.w3.eth.get_transaction_count(newcomer.address), d.head()

    def refused(match: str, **changes: Any) -> None:
        bad = replace(core, **{k: v for k, v in changes.items() if k != "stake"})
        stake = int(changes.get("stake", 5 * WAD))
        with pytest.raises(ConfigError, match=match) as info:
            register_operator(d.chain, bad, avs, newcomer, stake, b"new")
        assert "\n" not in str(info.value)

    refused(r"no strategy_manager address", strategy_manager="")
    refused(r"allocation_manager '0x12' is not an address", allocation_manager="0x12")
    refused(r"no contract at the core's strategy_manager", strategy_manager="0x" + "11" * 20)
    refused(r"not whitelisted for deposits .*StrategyNotWhitelisted", strategy=core.token)
    refused(rf"holds 0 of token {core.token}, needs {5 * WAD}")
    assert (d.chain.w3.eth.get_transaction_count(newcomer.address), d.head()) == (nonce, head)
    mint_stake(d.chain, d.deployer, core, newcomer.address, WAD // 2)
    head = d.head()
    refused(r"would allocate .* below its minimum stake", stake=WAD // 2)
    assert (d.chain.w3.eth.get_transaction_count(newcomer.address), d.head()) == (nonce, head)
    mint_stake(d.chain, d.deployer, core, newcomer.address, WAD)
    plan = plan_registration(d.chain, core, avs, newcomer.address, WAD)
    assert (plan.register_as_operator, plan.deposit, plan.approve, plan.allocate) == (
        True,
        WAD,
        True,
        True,
    )
    with pytest.raises(ConfigError, match=r"already registered"):
        register_operator(d.chain, core, avs, d.operators[0], 0, b"again")
