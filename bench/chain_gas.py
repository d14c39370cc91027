"""Gas of the epoch manager's calls and the devnet deployment time, as real transactions
on anvil (calldata included, which forge's in-test gas leaves out).

    .venv/bin/python -m bench.chain_gas

The update is a real one: the CNN (46,730 parameters) trained on 600 MNIST samples,
clipped and quantized as the network does, so its calldata has a realistic mix of zero
and non-zero bytes. The test verifier stands in for the Noir verifier (issue 5), so
``submitResult`` is measured without verification cost (the stand-in hashes the public
inputs: a few thousand gas). Goals: the whole sketch challenge (open + one proveChunk per
live chunk, see ``bench.challenges``) of a 47k-parameter update under 15 M gas; a full
devnet deployment under 10 s.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.common import write_result
from p2pfl import evidence, merkle
from p2pfl.chain.anvil import dev_key, mine, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import WAD, deploy_devnet
from p2pfl.chain.epochs import EpochManager, Params
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import ModelSpec, Update, flatten_state
from p2pfl.learn.mnist import Split, load_mnist
from p2pfl.learn.model import new_model
from p2pfl.learn.train import TrainConfig, train_local
from p2pfl.protocol.aggregate import aggregate

ONES = merkle.leaf_hashes(np.ones(Params().model_dim, dtype=np.int32))  # some posted model

OPERATORS = 8


def real_updates(n: int) -> list[Update]:
    data = load_mnist()
    base = new_model(0)
    spec = ModelSpec.of(base.state_dict())
    start = flatten_state(base.state_dict())
    out = []
    for i in range(n):
        model = new_model(0)
        part = Split(
            data.train.images[i * 600 : (i + 1) * 600], data.train.labels[i * 600 : (i + 1) * 600]
        )
        train_local(model, part, TrainConfig(), seed=i)
        out.append(Update.from_delta(spec, flatten_state(model.state_dict()) - start, clip=10.0))
    return out


def main() -> None:
    build_contracts()
    ups = real_updates(OPERATORS)
    raw = ups[0].canonical_bytes()
    params = Params(commit_blocks=40, submit_blocks=40, challenge_blocks=20, max_byzantine=2)
    with run_anvil(accounts=OPERATORS + 2) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        ops = [account(dev_key(i + 1)) for i in range(OPERATORS)]
        watcher = account(dev_key(OPERATORS + 1))
        dep = deploy_devnet(
            chain,
            deployer,
            [(op, 10 * WAD, f"peer-{i}".encode()) for i, op in enumerate(ops)],
            verifier=lambda: chain.deploy(deployer, "MockVerifier"),
            params=params,
        )
        em = EpochManager(chain, dep.avs.epoch_manager)
        gas: dict[str, Any] = {}
        e, receipt = em.open_epoch(deployer)
        gas["openEpoch"] = receipt["gasUsed"]
        by_op: dict[str, Update] = {op.address: u for op, u in zip(ops, ups, strict=True)}
        commits = [em.commit_update(op, e, by_op[op.address].digest)["gasUsed"] for op in ops]
        gas["commitUpdate"] = {"first": commits[0], "later": commits[-1]}
        info = em.epoch(e)
        mine(chain.w3, params.commit_blocks + 1)
        em.record_seed(deployer, e)
        seed = em.epoch(e).seed
        f = em.byzantine_bound(len(by_op))
        agg = aggregate(by_op, seed, f)
        names, sketches = agg.operators, agg.sketches
        selected = (1 << (len(names) - f)) - 1

        def submit(flags: int, rows: list[list[int]]) -> int:
            who = next(op for op in [*ops, deployer] if op.address == em.epoch(e).aggregator)
            proof = keccak256(b"".join(em.public_inputs(e, seed, rows, selected, flags)))
            atts = em.all_held([op.key for op in ops], e)
            r = em.submit_result(who, e, ONES, atts, rows, selected, flags, proof)
            return int(r["gasUsed"])

        lying = [list(r) for r in sketches]
        lying[0][0] += 1
        gas["submitResult_n8_k64_without_verifier"] = submit(0, lying)
        ev = evidence.sketch_evidence(by_op[names[0]].q, 0, lying[0], seed, params.sketch_dim)
        assert ev is not None
        cid, receipt = em.open_sketch_challenge(watcher, e, ev)
        total = int(receipt["gasUsed"])
        for chunk in ev.chunks:
            upheld, receipt = em.prove_chunk(watcher, e, cid, chunk)
            total += int(receipt["gasUsed"])
        assert upheld
        gas["sketchChallenge_47k_upheld_all_txs"] = total
        flags = 0b11 << (len(names) - 2)
        gas["submitResult_after_void"] = submit(flags, sketches)
        mine(chain.w3, params.challenge_blocks + 1)
        gas["finalize_two_slashes"] = em.finalize(deployer, e)["gasUsed"]
        zero = raw.count(0)
        payload = {
            "update": {"parameters": ups[0].spec.dim, "bytes": len(raw), "zero_bytes": zero},
            "gas": gas,
            "tx_gas_cap": 1 << 24,
            "deploy_seconds": dep.seconds,
            "deploy_transactions": int(chain.w3.eth.block_number) - 0,
            "goals": {
                "sketchChallenge_under_15M": gas["sketchChallenge_47k_upheld_all_txs"] < 15_000_000,
                "deploy_under_10s": dep.seconds < 10,
            },
            "commit_deadline_block": info.commit_deadline,
            "max_abs_entry": int(np.abs(ups[0].q).max()),
        }
    path = write_result("chain_gas", payload)
    print(payload)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
