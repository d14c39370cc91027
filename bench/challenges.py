"""Gas and calldata of protocol v2's challenge transactions through the deployed
EpochManager, as real transactions on anvil (the devnet core, 8 operators), for the CNN
(46,730 parameters, 4 chunks of which 3 hold entries), with ``commitUpdate`` and
``submitResult`` beside them, and the 128 KB public-mempool limit.

    .venv/bin/python -m bench.challenges

Gas is each receipt's ``gasUsed``: the 21 k base and the calldata included. The updates
are synthetic int32 vectors of a trained update's magnitude (normal, sigma 2^10; one
outlier at 2^20 so Krum flags it and a norm proof slashes it); the model challenge runs at
the CNN's depth 10 with m = n - f = 7 selected updates. The test verifier stands in for the
Noir verifier, so ``submitResult`` is measured without proof verification. v1's single
``challengeSketch`` (whole update in calldata, whole sketch recomputed) is gone; its
sketch gas is still measured by ``CountSketchGas.t.sol`` for the comparison.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
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
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.aggregate import aggregate

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
FORGE = ROOT / "node_modules" / ".bin" / "forge"
D = 46_730
OPERATORS = 8
OUTLIER = 7
MEMPOOL_LIMIT = 128 * 1024
TX_GAS_CAP = 1 << 24  # EIP-7825's per-transaction cap


def updates(n: int) -> list[Update]:
    spec = ModelSpec((("w", (D,)),))
    rng = np.random.default_rng(2026)
    out = []
    for i in range(n):
        sigma = 1 << 20 if i == OUTLIER else 1 << 10
        q = np.clip(rng.normal(0, sigma, D), -(2**31) + 1, 2**31 - 1).astype(np.int32)
        out.append(Update(spec, q))
    return out


def v1_sketch_gas() -> int:
    out = subprocess.run(
        [str(FORGE), "test", "--match-path", "test/CountSketchGas.t.sol", "--json", "-vv"],
        cwd=CONTRACTS,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for suite in json.loads(out).values():
        for result in suite["test_results"].values():
            for line in result["decoded_logs"]:
                if "sketch gas" in line:
                    return int(line.split(":")[1])
    raise SystemExit("bench.challenges: CountSketchGas logged no sketch gas")


def tx(receipt: Any, calldata: bytes) -> dict[str, int]:
    return {"gas": int(receipt["gasUsed"]), "calldata_bytes": len(calldata)}


def calldata(chain: Chain, receipt: Any) -> bytes:
    return bytes(chain.w3.eth.get_transaction(receipt["transactionHash"])["input"])


def main() -> None:
    build_contracts()
    ups = updates(OPERATORS)
    params = Params(commit_blocks=40, submit_blocks=40, challenge_blocks=20, max_byzantine=1)
    genesis = np.zeros(D, dtype=np.int32)
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
            genesis_model=merkle.root(genesis),
        )
        em = EpochManager(chain, dep.avs.epoch_manager)
        got: dict[str, Any] = {}
        e, _ = em.open_epoch(deployer)
        by_op: dict[str, Update] = {op.address: u for op, u in zip(ops, ups, strict=True)}
        commits = [em.commit_update(op, e, by_op[op.address].digest) for op in ops]
        got["commitUpdate"] = {
            "first": tx(commits[0], calldata(chain, commits[0])),
            "last_closes_the_phase": tx(commits[-1], calldata(chain, commits[-1])),
        }
        mine(chain.w3, 1)
        em.record_seed(deployer, e)
        seed = em.epoch(e).seed
        f = em.byzantine_bound(OPERATORS)
        agg = aggregate(by_op, seed, f)
        names, rows = agg.operators, [list(r) for r in agg.sketches]
        selected_mask, flags = agg.selected_mask, agg.flag_mask
        selected = [by_op[a].q for i, a in enumerate(names) if (selected_mask >> i) & 1]
        posted = fixedpoint.step(genesis, selected).copy()
        posted[64 * 300 + 1] += 1  # a wrong entry in leaf 300
        lying = [list(r) for r in rows]
        lying[0][0] += 1

        def submit(sketches: list[list[int]]) -> Any:
            who = next(op for op in [*ops, deployer] if op.address == em.epoch(e).aggregator)
            inputs = em.public_inputs(e, seed, sketches, selected_mask, flags)
            proof = keccak256(b"".join(inputs))
            atts = em.all_held([op.key for op in ops], e)
            return em.submit_result(
                who, e, merkle.leaf_hashes(posted), atts, sketches, selected_mask, flags, proof
            )

        r = submit(lying)
        got[f"submitResult_n{OPERATORS}_k64_without_verifier"] = tx(r, calldata(chain, r))
        # a model challenge of a right leaf (forfeits), then of the wrong one (upheld)
        right = evidence.model_evidence(genesis, selected, posted, 0)
        upheld, r = em.challenge_model(watcher, e, right)
        assert not upheld
        got[f"challengeModel_m{len(selected)}_depth10_refused"] = tx(r, calldata(chain, r))
        # the sketch challenge opened against the same result: moot once the model one wins
        ev = evidence.sketch_evidence(by_op[names[0]].q, 0, lying[0], seed, 64)
        assert ev is not None
        cid, r = em.open_sketch_challenge(watcher, e, ev)
        got["openSketchChallenge"] = tx(r, calldata(chain, r))
        proven = []
        for chunk in ev.chunks[:-1]:
            upheld, r = em.prove_chunk(watcher, e, cid, chunk)
            assert not upheld
            proven.append(tx(r, calldata(chain, r)))
        got["proveChunk"] = proven[0]
        wrong = evidence.model_evidence(genesis, selected, posted, 300)
        upheld, r = em.challenge_model(watcher, e, wrong)
        assert upheld
        got[f"challengeModel_m{len(selected)}_depth10_upheld_with_slash"] = tx(
            r, calldata(chain, r)
        )
        r = em.close_sketch_challenge(watcher, e, cid)
        got["closeSketchChallenge_moot"] = tx(r, calldata(chain, r))
        # the next aggregator posts the right model with the lying sketch row: the whole
        # sketch challenge, its last chunk upholding it
        posted = fixedpoint.step(genesis, selected)
        r = submit(lying)
        got["submitResult_second_attempt"] = tx(r, calldata(chain, r))
        cid, _ = em.open_sketch_challenge(watcher, e, ev)
        total = 0
        for chunk in ev.chunks:
            upheld, r = em.prove_chunk(watcher, e, cid, chunk)
            total += int(r["gasUsed"])
        assert upheld
        got["proveChunk_last_upheld_with_slash"] = tx(r, calldata(chain, r))
        # a norm proof of the outlier's update (first chunk already above the bound)
        norm = evidence.norm_evidence(ups[OUTLIER].q, params.norm_bound_sq)
        for chunk in norm:
            slashed, r = em.prove_norm_chunk(watcher, e, ops[OUTLIER].address, chunk)
        assert slashed
        got["proveNormChunk_with_slash"] = tx(r, calldata(chain, r))
        r = em.withdraw(watcher)
        got["withdraw_eth_and_tokens"] = tx(r, calldata(chain, r))
        # the third attempt posts the honest result and finalizes (flagSlashWad 0: no slash)
        r = submit(rows)
        mine(chain.w3, params.challenge_blocks + 1)
        r = em.finalize(deployer, e)
        got["finalize_flag_unslashed"] = tx(r, calldata(chain, r))
        size = (len(chain.w3.eth.get_code(em.address)), 24_576)
    open_tx = got["openSketchChallenge"]
    sketch_total = open_tx["gas"] + total
    largest = max(v["calldata_bytes"] for v in got.values() if "calldata_bytes" in v)
    payload: dict[str, Any] = {
        "d": D,
        "operators": OPERATORS,
        "mempool_limit_bytes": MEMPOOL_LIMIT,
        "epoch_manager_deployed_bytes": {"size": size[0], "limit": size[1]},
        "gas_is": "receipt gasUsed (21 k base and calldata included), devnet core",
        "v2": {
            **got,
            "sketch_challenge_total": {
                "transactions": 1 + len(ev.chunks),
                "gas": sketch_total,
            },
        },
        "v1": {"challengeSketch": {"calldata_bytes": 4 * D, "sketch_gas": v1_sketch_gas()}},
        "largest_calldata_bytes": largest,
        "every_tx_under_mempool_limit": largest < MEMPOOL_LIMIT,
        "every_tx_under_gas_cap": all(
            v["gas"] < TX_GAS_CAP for v in got.values() if "gas" in v and isinstance(v, dict)
        ),
    }
    path = write_result("challenges", payload)
    print(json.dumps(payload, indent=1))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
