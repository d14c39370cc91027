"""Gas of the slashing transactions on the real EigenLayer core and on the devnet
stand-ins, side by side, and the real core's deployment time.

    PYTHONPATH=src .venv/bin/python -m bench.slash_gas

Each core gets its own anvil, the AVS (test verifier) and 11 operators registered through
:func:`p2pfl.chain.deploy.register_operator` (so ``f = 4`` and up to four flags), then
one epoch per measurement: ``finalize`` with 0, 1 and 4 flagged operators (flags slash
50 %), the ``proveChunk`` that upholds a sketch challenge (the aggregator loses 10 %)
and ``reportTimeout`` (1 %). Every transaction is sent as nodes send it: gas estimated by
the chain plus the client's margin; the bench fails unless every slash applies
(``SlashApplied``, no ``SlashFailed``). ``slashOperator`` is the gas of the core's own
call inside the 1-flag ``finalize`` (a call trace). Updates have 500 parameters (one
chunk): the challenge's sketch recomputation is small here (``bench.challenges``
measures it for the CNN). The real core needs its artifacts (``$P2PFL_EIGENLAYER_CORE``
or ``../shared/eigenlayer-core``); without them only the devnet column is measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import RPCEndpoint, TxReceipt

from bench.common import write_result
from p2pfl import evidence, merkle
from p2pfl.chain import realcore
from p2pfl.chain.anvil import dev_key, mine, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account, events
from p2pfl.chain.deploy import WAD, Core, deploy_core, deploy_devnet
from p2pfl.chain.epochs import EpochManager, Params
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.aggregate import contract_order
from p2pfl.robust.sketch import sketch_many

OPERATORS = 11
PARAMS = Params(
    commit_blocks=30,
    submit_blocks=30,
    challenge_blocks=10,
    max_byzantine=4,
    flag_slash_wad=WAD // 2,
    model_dim=500,  # the updates' size: one chunk, so a sketch challenge is open + 1 proof
)
ONES = merkle.leaf_hashes(np.ones(PARAMS.model_dim, dtype=np.int32))  # some posted model
SPEC = ModelSpec((("w", (500,)),))
SLASH_OPERATOR = Web3.keccak(
    text="slashOperator(address,(address,uint32,address[],uint256[],string))"
)[:4].hex()


def find_call(frame: dict[str, Any], to: str, selector: str) -> dict[str, Any] | None:
    """The first call frame (depth first) to ``to`` whose input starts with ``selector``."""
    if frame.get("to", "").lower() == to.lower() and frame.get("input", "")[2:].startswith(
        selector
    ):
        return frame
    for child in frame.get("calls", []):
        found = find_call(child, to, selector)
        if found is not None:
            return found
    return None


def mine_to(chain: Chain, block: int) -> None:
    now = int(chain.w3.eth.block_number)
    if block > now:
        mine(chain.w3, block - now)


class Run:
    """One core's chain with the AVS and operators, and the epochs the bench drives."""

    def __init__(self, chain: Chain, deployer: LocalAccount, ops: list[LocalAccount]) -> None:
        self.chain = chain
        self.deployer = deployer
        self.ops = ops
        self.watcher = account(dev_key(OPERATORS + 1))
        rng = np.random.default_rng(0)
        self.updates: dict[str, Update] = {
            str(op.address): Update(SPEC, rng.integers(-1024, 1024, size=500).astype(np.int32))
            for op in ops
        }
        self.em: EpochManager

    def who(self, address: str) -> LocalAccount:
        return next(a for a in [*self.ops, self.deployer] if a.address == address)

    def submitted(self, flags: int, lie: bool = False) -> int:
        """Open an epoch, everyone commits, the aggregator submits with ``flags`` flagged
        operators (the last ones in contract order), a wrong row 0 if ``lie``."""
        em = self.em
        e, _ = em.open_epoch(self.deployer)
        for op in self.ops:
            em.commit_update(op, e, self.updates[op.address].digest)
        mine(self.chain.w3, 1)  # every operator committed: the phase closed in the head
        em.record_seed(self.deployer, e)
        info = em.epoch(e)  # the aggregator is drawn
        seed = info.seed
        names = contract_order(list(self.updates))
        rows = sketch_many([self.updates[a].q for a in names], seed, PARAMS.sketch_dim).tolist()
        if lie:
            rows[0][0] += 1
        n, f = len(names), em.byzantine_bound(len(names))
        selected = (1 << (n - f)) - 1
        flag_mask = ((1 << flags) - 1) << (n - flags) if flags else 0
        proof = keccak256(b"".join(em.public_inputs(e, seed, rows, selected, flag_mask)))
        atts = em.all_held([op.key for op in self.ops], e)
        em.submit_result(self.who(info.aggregator), e, ONES, atts, rows, selected, flag_mask, proof)
        self.rows, self.names = rows, names
        return e

    def finalize(self, flags: int) -> TxReceipt:
        e = self.submitted(flags)
        deadline = self.em.epoch(e).challenge_deadline
        mine_to(self.chain, deadline + 1)
        receipt = self.em.finalize(self.deployer, e)
        self.check(receipt, flags)
        return receipt

    def check(self, receipt: TxReceipt, slashes: int) -> None:
        applied = events(self.em.contract, receipt, "SlashApplied")
        failed = events(self.em.contract, receipt, "SlashFailed")
        if len(applied) != slashes or failed:
            raise SystemExit(f"slashes did not apply: {len(applied)} applied, {len(failed)} failed")


Deploy = Callable[[Chain, LocalAccount], tuple[Core, float]]


def measure(kind: str, deploy: Deploy) -> dict[str, Any]:
    with run_anvil(accounts=OPERATORS + 2) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        ops = [account(dev_key(i + 1)) for i in range(OPERATORS)]
        core, core_seconds = deploy(chain, deployer)
        started = time.perf_counter()
        dep = deploy_devnet(
            chain,
            deployer,
            [(op, 10 * WAD, f"peer-{i}".encode()) for i, op in enumerate(ops)],
            verifier=lambda: chain.deploy(deployer, "MockVerifier"),
            params=PARAMS,
            core=core,
        )
        avs_seconds = time.perf_counter() - started
        run = Run(chain, deployer, ops)
        run.em = EpochManager(chain, dep.avs.epoch_manager)
        gas: dict[str, int] = {}
        gas["finalize_0_slashes"] = int(run.finalize(0)["gasUsed"])
        one = run.finalize(1)
        gas["finalize_1_slash"] = int(one["gasUsed"])
        gas["finalize_4_slashes"] = int(run.finalize(4)["gasUsed"])
        trace = chain.w3.provider.make_request(
            RPCEndpoint("debug_traceTransaction"),
            [Web3.to_hex(one["transactionHash"]), {"tracer": "callTracer"}],
        )["result"]
        frame = find_call(trace, core.allocation_manager, SLASH_OPERATOR)
        gas["slashOperator_call"] = int(frame["gasUsed"], 16) if frame else 0
        e = run.submitted(0, lie=True)
        seed = run.em.epoch(e).seed
        ev = evidence.sketch_evidence(
            run.updates[run.names[0]].q, 0, run.rows[0], seed, PARAMS.sketch_dim
        )
        assert ev is not None
        cid, _ = run.em.open_sketch_challenge(run.watcher, e, ev)
        for chunk in ev.chunks:
            upheld, receipt = run.em.prove_chunk(run.watcher, e, cid, chunk)
        assert upheld
        run.check(receipt, 1)
        gas["proveChunk_upheld"] = int(receipt["gasUsed"])
        info = run.em.epoch(e)  # back to Open, the next aggregator stays silent
        mine_to(chain, info.submit_deadline + 1)
        receipt = run.em.report_timeout(run.watcher, e)
        run.check(receipt, 1)
        gas["reportTimeout"] = int(receipt["gasUsed"])
        gas["per_extra_slash"] = (gas["finalize_4_slashes"] - gas["finalize_1_slash"]) // 3
        return {
            "core": kind,
            "gas": gas,
            "core_deploy_seconds": round(core_seconds, 2),
            "avs_and_operators_seconds": round(avs_seconds, 2),
        }


def devnet_core(chain: Chain, deployer: LocalAccount) -> tuple[Core, float]:
    started = time.perf_counter()
    core = deploy_core(chain, deployer, deallocation_delay=PARAMS.slashable_span)
    return core, time.perf_counter() - started


def real_core(chain: Chain, deployer: LocalAccount) -> tuple[Core, float]:
    core = realcore.deploy_real_core(chain, deployer)
    return core.as_core(), core.seconds


def main() -> None:
    build_contracts()
    results = {"devnet": measure("devnet", devnet_core)}
    if realcore.core_dir() is not None:
        results["real-core"] = measure("real-core", real_core)
    else:
        print(f"no EigenLayer core artifacts (${realcore.ENV}): devnet only")
    payload = {
        "operators": OPERATORS,
        "params": {
            "flag_slash_wad": PARAMS.flag_slash_wad,
            "aggregator_slash_wad": PARAMS.aggregator_slash_wad,
            "timeout_slash_wad": PARAMS.timeout_slash_wad,
        },
        "update_parameters": SPEC.dim,
        "results": results,
        "real_core_deploy_seconds": results["real-core"]["core_deploy_seconds"]
        if "real-core" in results
        else None,
    }
    path = write_result("slash_gas", payload)
    for kind, r in results.items():
        print(kind, r)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
