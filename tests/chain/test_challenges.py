"""The v2 challenges through the deployed EpochManager on a real anvil, on both cores: a
model challenge (one leaf), a chunked sketch challenge (open, then one ``proveChunk`` per
live chunk), an expired one holding ``finalize`` back until closed, a norm proof of an
over-bound update, and the challenger's rewards in stake tokens, withdrawn with the bond.

Updates have the CNN's dimension (``PARAMS.model_dim``, 4 chunks of which 3 hold entries),
the genesis model is zero (``GENESIS``): the evidence is ``p2pfl.evidence``'s."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from web3.types import TxReceipt

from p2pfl import evidence
from p2pfl.chain.client import ChainError, events
from p2pfl.chain.epochs import SketchChallenge, Status, norm_bound_sq
from p2pfl.chain.slashing import SlashReason
from p2pfl.learn import codec, fixedpoint
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.robust.sketch import sketch_many
from tests.chain.conftest import GENESIS, OPERATORS, PARAMS, Devnet, run_to_result

DIM = PARAMS.model_dim
SPEC = ModelSpec((("w", (DIM,)),))
OUTLIER = 2  # its update is far above the norm bound
WRONG_LEAF = 5  # the leaf a cheating aggregator gets wrong


def updates(n: int) -> list[Update]:
    rng = np.random.default_rng(11)
    out = []
    for i in range(n):
        scale = 1 << 22 if i == OUTLIER else 1 << 10
        out.append(Update(SPEC, rng.integers(-scale, scale, size=DIM).astype(np.int32)))
    return out


def selected_of(operators: list[str], by_op: dict[str, Update], mask: int) -> list[np.ndarray]:
    return [by_op[a].q for i, a in enumerate(operators) if (mask >> i) & 1]


def honest_model(operators: list[str], by_op: dict[str, Update], mask: int) -> np.ndarray:
    return fixedpoint.step(GENESIS, selected_of(operators, by_op, mask))


def wrong_model(operators: list[str], by_op: dict[str, Update], mask: int) -> np.ndarray:
    posted = honest_model(operators, by_op, mask).copy()
    posted[64 * WRONG_LEAF + 7] += 1
    return posted


def slashes(d: Devnet, receipt: TxReceipt) -> list[tuple[str, SlashReason]]:
    applied = events(d.epochs.contract, receipt, "SlashApplied")
    assert events(d.epochs.contract, receipt, "SlashFailed") == []
    return [(ev.args.operator, SlashReason(ev.args.reason)) for ev in applied]


def token_balance(d: Devnet, who: str) -> int:
    token = d.chain.contract("StakeToken", d.core.token)
    return int(d.chain.call(token.functions.balanceOf(who)))


def test_default_norm_bound_is_the_codecs() -> None:
    assert PARAMS.norm_bound_sq == codec.norm_bound_sq(10.0, 46_730)
    assert norm_bound_sq(3.5, 1000) == codec.norm_bound_sq(3.5, 1000)
    assert PARAMS.slashable_span == 20 + 4 * (20 + 2 * 10)


def test_a_model_challenge_voids_a_wrong_model_and_pays_in_tokens(devnet: Devnet) -> None:
    d = devnet
    em = d.epochs
    e, operators, _, by_op = run_to_result(d, updates(OPERATORS), model=wrong_model)
    info = em.epoch(e)
    selected = selected_of(operators, by_op, info.selected_mask)
    posted = wrong_model(operators, by_op, info.selected_mask)
    assert evidence.wrong_model_leaves(GENESIS, selected, posted) == [WRONG_LEAF]
    bond = PARAMS.challenge_bond
    # a right leaf: the bond goes to the aggregator
    right = evidence.model_evidence(GENESIS, selected, posted, 0)
    upheld, _ = em.challenge_model(d.deployer, e, right)
    assert not upheld
    assert em.owed(info.aggregator) == bond
    # the wrong leaf: voided, the aggregator slashed, the watcher rewarded in stake tokens
    stake = d.stake_of(info.aggregator)
    pool = em.reward_pool()
    wrong = evidence.model_evidence(GENESIS, selected, posted, WRONG_LEAF)
    upheld, receipt = em.challenge_model(d.watcher, e, wrong)
    assert upheld
    assert slashes(d, receipt) == [(info.aggregator, SlashReason.WRONG_MODEL)]
    after = em.epoch(e)
    assert (after.status, after.attempt) == (Status.OPEN, 1)
    assert d.stake_of(info.aggregator) == 0  # aggregatorSlashWad is 100 %
    reward = min(stake * PARAMS.reward_share_wad // 10**18, pool)
    assert reward > 0
    (credited,) = events(em.contract, receipt, "RewardCredited")
    assert (credited.args.challenger, credited.args.amount, credited.args.lost) == (
        d.watcher.address,
        reward,
        stake,
    )
    assert em.owed(d.watcher.address) == bond
    assert em.owed_tokens(d.watcher.address) == reward
    assert em.reward_pool() == pool - reward
    tokens = token_balance(d, d.watcher.address)
    eth = d.chain.w3.eth.get_balance(d.watcher.address)
    em.withdraw(d.watcher)
    assert token_balance(d, d.watcher.address) == tokens + reward
    assert d.chain.w3.eth.get_balance(d.watcher.address) > eth  # the bond, less gas
    assert (em.owed(d.watcher.address), em.owed_tokens(d.watcher.address)) == (0, 0)
    with pytest.raises(ChainError, match=r"WrongStatus"):
        em.challenge_model(d.watcher, e, wrong)  # a replay finds the result voided


def test_a_sketch_challenge_in_several_transactions(devnet: Devnet) -> None:
    d = devnet
    em = d.epochs
    e, operators, _, by_op = run_to_result(d, updates(OPERATORS), lie_about=3)
    info = em.epoch(e)
    rows = sketch_many([by_op[a].q for a in operators], info.seed, PARAMS.sketch_dim).tolist()
    posted = list(rows[3])
    posted[0] += 1
    ev = evidence.sketch_evidence(by_op[operators[3]].q, 3, posted, info.seed, PARAMS.sketch_dim)
    assert ev is not None
    assert len(ev.chunks) == 3
    # a right row cannot be challenged
    assert evidence.sketch_evidence(by_op[operators[2]].q, 2, rows[2], info.seed, 64) is None
    stake = d.stake_of(info.aggregator)
    pool = em.reward_pool()
    cid, _ = em.open_sketch_challenge(d.watcher, e, ev)
    assert em.sketch_challenge_ids(e) == [cid]
    assert em.open_sketch_challenges(e) == 1
    ch = em.sketch_challenge(cid)
    assert isinstance(ch, SketchChallenge)
    assert (ch.epoch, ch.challenger, ch.index, ch.chunks, ch.bond, ch.closed) == (
        e,
        d.watcher.address,
        3,
        4,
        PARAMS.challenge_bond,
        False,
    )
    assert ch.proven_mask == 0b1000  # the padding chunk
    results = []
    for chunk in ev.chunks:
        upheld, receipt = em.prove_chunk(d.deployer, e, cid, chunk)
        results.append(upheld)
    assert results == [False, False, True]
    assert slashes(d, receipt) == [(info.aggregator, SlashReason.WRONG_SKETCH)]
    assert em.sketch_challenge(cid).closed
    assert em.sketch_challenge(cid).complete
    assert em.open_sketch_challenges(e) == 0
    assert em.epoch(e).status == Status.OPEN
    assert em.owed(d.watcher.address) == PARAMS.challenge_bond
    # the share of the lost stake, capped by what the pool holds (10 tokens here)
    reward = min(stake * PARAMS.reward_share_wad // 10**18, pool)
    assert em.owed_tokens(d.watcher.address) == reward
    assert em.reward_pool() == pool - reward
    with pytest.raises(ChainError, match=r"NoSketchChallenge"):
        em.prove_chunk(d.deployer, e, cid, ev.chunks[0])  # a replay


def test_an_expired_sketch_challenge_holds_finalize_until_closed(devnet: Devnet) -> None:
    d = devnet
    em = d.epochs
    e, operators, _, by_op = run_to_result(d, updates(OPERATORS))
    info = em.epoch(e)
    q = by_op[operators[1]].q
    rows = sketch_many([by_op[a].q for a in operators], info.seed, PARAMS.sketch_dim).tolist()
    honest = evidence.sketch_evidence(q, 1, [x + 1 for x in rows[1]], info.seed, 64)
    assert honest is not None
    # a liar: the right row, one partial changed so they no longer sum to it
    partials = list(honest.partials)
    partials[2 * 64] += 1
    lie = replace(honest, posted=tuple(rows[1]), partials=tuple(partials))
    cid, _ = em.open_sketch_challenge(d.watcher, e, lie)
    em.prove_chunk(d.deployer, e, cid, lie.chunks[0])
    with pytest.raises(ChainError, match=r"PartialSketchWrong"):
        em.prove_chunk(d.deployer, e, cid, lie.chunks[2])
    with pytest.raises(ChainError, match=r"SketchChallengeStillOpen"):
        em.close_sketch_challenge(d.deployer, e, cid)
    d.mine_to(max(info.challenge_deadline, em.sketch_challenge(cid).deadline) + 1)
    with pytest.raises(ChainError, match=rf"SketchChallengesOpen\(epoch={e}, open=1\)"):
        em.finalize(d.deployer, e)
    em.close_sketch_challenge(d.deployer, e, cid)
    assert em.owed(info.aggregator) == PARAMS.challenge_bond
    assert em.open_sketch_challenges(e) == 0
    em.finalize(d.deployer, e)
    assert em.epoch(e).status == Status.FINALIZED


def test_a_norm_proof_slashes_an_over_bound_update_once(devnet: Devnet) -> None:
    d = devnet
    em = d.epochs
    ups = updates(OPERATORS)
    e, _, _, _ = run_to_result(d, ups)
    outlier = d.operators[OUTLIER].address
    chunks = evidence.norm_evidence(ups[OUTLIER].q, PARAMS.norm_bound_sq)
    assert chunks, "the outlier is above the bound"
    before = d.stake_of(outlier)
    slashed = []
    for chunk in chunks:
        hit, receipt = em.prove_norm_chunk(d.watcher, e, outlier, chunk)
        slashed.append(hit)
    assert slashed[-1]
    assert not any(slashed[:-1])
    assert slashes(d, receipt) == [(outlier, SlashReason.NORM_VIOLATION)]
    assert d.stake_of(outlier) == before - before // 10  # normSlashWad 10 %
    proof = em.norm_proof(e, outlier)
    assert proof.slashed
    assert proof.sum_of_squares > PARAMS.norm_bound_sq
    with pytest.raises(ChainError, match=r"AlreadySlashedForNorm"):
        em.prove_norm_chunk(d.watcher, e, outlier, chunks[0])
    # an update within the bound: every live chunk proven, never slashed
    honest = d.operators[0].address
    assert evidence.norm_evidence(ups[0].q, PARAMS.norm_bound_sq) == []
    for c in range(evidence.live_chunks(DIM)):
        hit, _ = em.prove_norm_chunk(d.watcher, e, honest, evidence.chunk_evidence(ups[0].q, c))
        assert not hit
    assert not em.norm_proof(e, honest).slashed
    assert d.stake_of(honest) == 10 * 10**18
