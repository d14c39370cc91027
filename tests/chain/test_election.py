"""The local election equals the contract's: on the same seed (``blockhash(closeBlock)``)
every node draws the aggregator the contract records, and ``drawIndex`` matches the
shared vectors. An epoch whose every attempt times out is skipped."""

from __future__ import annotations

import json
from pathlib import Path

from p2pfl.chain.epochs import NO_AGGREGATOR, Status
from p2pfl.hashing import keccak256
from p2pfl.protocol.election import elect
from tests.chain.conftest import OPERATORS, PARAMS, Devnet

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "election.json"


def test_every_node_computes_the_contracts_aggregator(devnet: Devnet) -> None:
    d, em = devnet, devnet.epochs
    for _ in range(2):  # several epochs: several seeds
        e, _ = em.open_epoch(d.deployer)
        assert em.aggregator_at(e, 0) == NO_AGGREGATOR  # nobody knows it yet
        for i, op in enumerate(d.operators):
            em.commit_update(op, e, keccak256(b"update %d %d" % (e, i)))
        info = em.epoch(e)
        assert info.close_block == d.head() < info.commit_deadline  # the last commit closed it
        assert info.submit_deadline == info.close_block + PARAMS.submit_blocks
        d.mine(1)  # anvil estimates gas at the head's number: a block past the close
        em.record_seed(d.deployer, e)
        info = em.epoch(e)
        seed = bytes(d.chain.w3.eth.get_block(info.close_block)["hash"])
        assert info.seed == seed
        roster, stakes = em.roster(e)
        for attempt in range(OPERATORS + 2):
            assert elect(seed, roster, stakes, attempt) == em.aggregator_at(e, attempt)
        assert elect(seed, roster, stakes) == info.aggregator
        # every attempt times out: rotations stop at maxAttempts and the epoch is skipped
        for attempt in range(PARAMS.max_attempts):
            assert em.epoch(e).aggregator == elect(seed, roster, stakes, attempt)
            d.mine_to(em.epoch(e).submit_deadline + 1)
            em.report_timeout(d.watcher, e)
        skipped = em.epoch(e)
        assert (skipped.status, skipped.attempt) == (Status.FINALIZED, PARAMS.max_attempts - 1)


def test_the_contracts_draw_matches_the_shared_vectors(devnet: Devnet) -> None:
    fn = devnet.epochs.contract.functions.drawIndex
    for case in json.loads(VECTORS.read_text())["cases"]:
        seed = bytes.fromhex(case["seed"][2:])
        stakes = [int(s) for s in case["stakes"]]
        assert devnet.chain.call(fn(seed, case["attempt"], stakes)) == case["index"], case["name"]
