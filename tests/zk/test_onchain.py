"""A real Krum proof for n = 10, k = 64, verified by the generated Solidity verifier on
anvil through ``EpochManager.submitResult``; tampered results are rejected on chain."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from p2pfl import merkle
from p2pfl.chain.anvil import dev_key, mine, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, ChainError, account
from p2pfl.chain.deploy import WAD, deploy_devnet
from p2pfl.chain.epochs import EpochManager, Params, Status
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.aggregate import aggregate
from p2pfl.robust.sketch_krum import sketch_krum
from p2pfl.zk import verifier
from p2pfl.zk.inputs import krum_inputs, mask
from p2pfl.zk.prover import prove

ONES = merkle.leaf_hashes(np.ones(Params().model_dim, dtype=np.int32))  # some posted model

pytestmark = pytest.mark.slow
N, K = 10, 64


def test_real_proof_through_submit_result() -> None:
    build_contracts()
    rng = np.random.default_rng(3)
    spec = ModelSpec((("w", (300,)),))
    ups = [
        Update(spec, rng.integers(-(1 << 12), 1 << 12, size=300).astype(np.int32)) for _ in range(N)
    ]
    for i in (2, 5):
        ups[i] = Update(spec, rng.integers(-(1 << 22), 1 << 22, size=300).astype(np.int32))
    with run_anvil(accounts=N + 2) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        ops = [account(dev_key(i + 1)) for i in range(N)]
        dep = deploy_devnet(
            chain,
            deployer,
            [(op, 10 * WAD, f"peer-{i}".encode()) for i, op in enumerate(ops)],
            verifier=lambda: verifier.deploy(chain, deployer, N, K),
            params=Params(commit_blocks=30, submit_blocks=30, challenge_blocks=5, max_byzantine=3),
        )
        em = EpochManager(chain, dep.avs.epoch_manager)
        e, _ = em.open_epoch(deployer)
        by_op: dict[str, Update] = {op.address: u for op, u in zip(ops, ups, strict=True)}
        for op in ops:
            em.commit_update(op, e, by_op[op.address].digest)
        mine(chain.w3, 1)  # every operator committed: the phase closed early, in the head
        em.record_seed(deployer, e)
        info = em.epoch(e)
        seed = info.seed
        f = em.byzantine_bound(N)
        agg = aggregate(by_op, seed, f, K)
        sketches, result = agg.sketches, agg.krum
        assert len(result.flagged) >= 1
        inputs = krum_inputs(e, seed, f, sketches, result.selected, result.flagged, result.rho)
        proof = prove(N, K, inputs)
        onchain = [
            int.from_bytes(x, "big")
            for x in em.public_inputs(e, seed, sketches, agg.selected_mask, agg.flag_mask)
        ]
        assert proof.public_inputs == onchain  # the circuit and the contract agree on every input
        aggregator = next(op for op in [*ops, deployer] if op.address == info.aggregator)
        sel, flags = agg.selected_mask, agg.flag_mask

        atts = em.all_held([op.key for op in ops], e)

        def submit(rows: list[list[int]], s: int, fl: int, pr: bytes, epoch: int = e) -> None:
            em.submit_result(aggregator, epoch, ONES, atts, rows, s, fl, pr)

        outside = next(i for i in range(N) if i not in result.selected)
        with pytest.raises(ChainError, match=r"EpochManager\.InvalidProof"):
            submit(sketches, sel, flags ^ (1 << outside), proof.proof)  # tampered flag
        inside = result.selected[0]
        with pytest.raises(ChainError, match=r"EpochManager\.FlaggedSelected"):
            submit(sketches, sel, flags | (1 << inside), proof.proof)  # a selected op flagged
        # A valid proof under another rho (its own flags) is refused: the contract
        # supplies this deployment's rho as public inputs.
        loose = sketch_krum(sketches, f, rho=Fraction(1))
        assert loose.flagged != result.flagged
        other_rho = prove(
            N, K, krum_inputs(e, seed, f, sketches, loose.selected, loose.flagged, loose.rho)
        )
        with pytest.raises(ChainError, match=r"EpochManager\.InvalidProof"):
            submit(sketches, sel, mask(loose.flagged), other_rho.proof)
        unflagged_out = next(
            i for i in range(N) if i not in result.selected and i not in result.flagged
        )
        other = sorted({*result.selected[1:], unflagged_out})
        with pytest.raises(ChainError, match=r"EpochManager\.InvalidProof"):
            submit(sketches, mask(other), flags, proof.proof)  # tampered selection
        tampered = [list(r) for r in sketches]
        tampered[3][7] += 1
        with pytest.raises(ChainError, match=r"EpochManager\.InvalidProof"):
            submit(tampered, sel, flags, proof.proof)  # tampered sketch
        other_epoch = prove(
            N, K, krum_inputs(e + 1, seed, f, sketches, result.selected, result.flagged, result.rho)
        )
        with pytest.raises(ChainError, match=r"EpochManager\.InvalidProof"):
            submit(sketches, sel, flags, other_epoch.proof)  # a proof for another epoch's inputs
        em.submit_result(aggregator, e, ONES, atts, sketches, sel, flags, proof.proof)
        assert em.epoch(e).status == Status.SUBMITTED
