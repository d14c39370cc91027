"""The local election equals the contract's: on the same seed (``blockhash(closeBlock)``)
every node draws the aggregator the contract records, and the linked ``Election`` library
matches the shared vectors. An epoch whose every attempt times out is skipped."""

from __future__ import annotations

import json
from pathlib import Path

from p2pfl.chain.epochs import NO_AGGREGATOR, Status
from p2pfl.hashing import keccak256
from p2pfl.protocol.election import candidates, elect
from tests.chain.conftest import OPERATORS, PARAMS, Devnet

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "election.json"


def test_every_node_computes_the_contracts_aggregator(devnet: Devnet) -> None:
    """Epoch 1: everyone commits, the last commit closes the phase. Epochs 2 and 3: one
    operator stays silent, the phase closes at the deadline and the draw is over the
    others (the contract's ``candidates``, in roster order): it is never drawn."""
    d, em = devnet, devnet.epochs
    candidates_of = em.contract.functions.candidates
    for epoch_no in range(3):  # several epochs: several seeds
        e, _ = em.open_epoch(d.deployer)
        assert em.aggregator_at(e, 0) == NO_AGGREGATOR  # nobody knows it yet
        silent = d.operators[epoch_no] if epoch_no else None
        for i, op in enumerate(d.operators):
            if op is not silent:
                em.commit_update(op, e, keccak256(b"update %d %d" % (e, i)))
        info = em.epoch(e)
        if silent is None:
            assert info.close_block == d.head() < info.commit_deadline  # the last commit
        else:
            assert info.close_block == info.commit_deadline
            d.mine_to(info.close_block)
        assert info.submit_deadline == info.close_block + PARAMS.submit_blocks
        d.mine(1)  # anvil estimates gas at the head's number: a block past the close
        em.record_seed(d.deployer, e)
        info = em.epoch(e)
        seed = bytes(d.chain.w3.eth.get_block(info.close_block)["hash"])
        assert info.seed == seed
        ops, stakes = candidates(*em.roster(e), em.committed(e))
        assert [list(x) for x in d.chain.call(candidates_of(e))] == [ops, stakes]
        assert len(ops) == OPERATORS - (silent is not None)
        drawn = []
        for attempt in range(OPERATORS + 2):
            drawn.append(em.aggregator_at(e, attempt))
            assert elect(seed, ops, stakes, attempt) == drawn[-1]
            assert drawn[-1] != getattr(silent, "address", None)
        # a full round of different operators before anyone has the epoch a second time
        assert sorted(drawn[: len(ops)]) == sorted(ops)
        assert elect(seed, ops, stakes) == info.aggregator
        # every attempt times out: rotations stop at maxAttempts and the epoch is skipped
        for attempt in range(PARAMS.max_attempts):
            assert em.epoch(e).aggregator == elect(seed, ops, stakes, attempt)
            d.mine_to(em.epoch(e).submit_deadline + 1)
            em.report_timeout(d.watcher, e)
        skipped = em.epoch(e)
        assert (skipped.status, skipped.attempt) == (Status.FINALIZED, PARAMS.max_attempts - 1)


def test_the_contracts_draw_matches_the_shared_vectors(devnet: Devnet) -> None:
    # the library the contract links and calls (src/avs/Election.sol)
    election = devnet.chain.contract("Election", devnet.chain.libraries["Election"])
    fn = election.functions.drawIndex
    for case in json.loads(VECTORS.read_text())["cases"]:
        seed = bytes.fromhex(case["seed"][2:])
        stakes = [int(s) for s in case["stakes"]]
        assert devnet.chain.call(fn(seed, case["attempt"], stakes)) == case["index"], case["name"]
    # the rotations
    for seq in json.loads(VECTORS.read_text())["sequences"]:
        seed = bytes.fromhex(seq["seed"][2:])
        stakes = [int(s) for s in seq["stakes"]]
        for attempt, index in enumerate(seq["indices"]):
            got = devnet.chain.call(election.functions.aggregatorIndex(seed, attempt, stakes))
            assert got == index, (seq["name"], attempt)
