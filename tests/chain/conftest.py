"""A real anvil with the whole deployment made once per core; every test runs on a snapshot.

The session fixture is parametrized over the cores: ``devnet`` (the project's stand-ins)
and ``real-core`` (EigenLayer's core v1.12 deployed from the artifacts that
:mod:`p2pfl.chain.realcore` finds; skipped, with the reason, when there are none). The
AVS, the operators (through :func:`p2pfl.chain.deploy.register_operator`, the one path
for both) and every test are the same on both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from p2pfl import merkle
from p2pfl.chain import realcore
from p2pfl.chain.anvil import Anvil, dev_key, mine, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import WAD, Core, Deployment, deploy_devnet
from p2pfl.chain.epochs import EpochManager, Params
from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update
from p2pfl.protocol.aggregate import aggregate, wrong_sketches

OPERATORS = 6
CORES = ("devnet", "real-core")
# Automine puts every transaction in its own block: windows must fit the sequential txs.
PARAMS = Params(
    commit_blocks=20,
    submit_blocks=20,
    challenge_blocks=10,
    max_byzantine=1,
    # the chain tests exercise every slash path, the flag's included (default 0)
    flag_slash_wad=5 * 10**17,
    aggregator_slash_wad=10**18,
    timeout_slash_wad=10**17,
)
# The genesis model: zero in every entry of the default model dimension (the CNN's), so a
# model challenge can prove the base model's leaves.
GENESIS = np.zeros(PARAMS.model_dim, dtype=np.int32)


@dataclass
class Devnet:
    """One local chain with a core (``kind``: ``devnet`` or ``real-core``), the AVS and
    ``OPERATORS`` registered operators of stake 10, 20, ... tokens."""

    kind: str
    anvil: Anvil
    chain: Chain
    deployer: LocalAccount
    operators: list[LocalAccount]
    watcher: LocalAccount
    deployment: Deployment
    epochs: EpochManager

    @property
    def core(self) -> Core:
        return self.deployment.core

    @property
    def allocation_manager(self) -> Contract:
        """The core's AllocationManager through the project's interface (both cores)."""
        return self.chain.contract("IAllocationManager", self.core.allocation_manager)

    @property
    def service_manager(self) -> Contract:
        return self.chain.contract("P2pflServiceManager", self.deployment.avs.service_manager)

    def stake_of(self, operator: str) -> int:
        return int(self.chain.call(self.service_manager.functions.stakeOf(operator)))

    def deallocation_delay(self) -> int:
        return int(self.chain.call(self.allocation_manager.functions.DEALLOCATION_DELAY()))

    def head(self) -> int:
        return int(self.chain.w3.eth.block_number)

    def mine(self, blocks: int) -> None:
        mine(self.chain.w3, blocks)

    def mine_to(self, block: int) -> None:
        now = self.head()
        if block > now:
            self.mine(block - now)


@pytest.fixture(scope="session", params=CORES)
def devnet_session(request: pytest.FixtureRequest) -> Iterator[Devnet]:
    kind: str = request.param
    if kind == "real-core" and realcore.core_dir() is None:
        pytest.skip(
            f"no EigenLayer core artifacts: set {realcore.ENV} (or provide "
            "../shared/eigenlayer-core) to run the chain tests against the real core"
        )
    build_contracts()
    with run_anvil(accounts=OPERATORS + 3) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        ops = [account(dev_key(i + 1)) for i in range(OPERATORS)]
        watcher = account(dev_key(OPERATORS + 1))
        core = realcore.deploy_real_core(chain, deployer).as_core() if kind == "real-core" else None
        stakes = [(op, (i + 1) * 10 * WAD, f"peer-{i}".encode()) for i, op in enumerate(ops)]
        deployment = deploy_devnet(
            chain,
            deployer,
            stakes,
            verifier=lambda: chain.deploy(deployer, "MockVerifier"),  # test tree only
            params=PARAMS,
            genesis_model=merkle.root(GENESIS),
            core=core,
        )
        yield Devnet(
            kind,
            anvil,
            chain,
            deployer,
            ops,
            watcher,
            deployment,
            EpochManager(chain, deployment.avs.epoch_manager),
        )


@pytest.fixture
def devnet(devnet_session: Devnet) -> Iterator[Devnet]:
    w3 = devnet_session.chain.w3
    snap = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    try:
        yield devnet_session
    finally:
        w3.provider.make_request("evm_revert", [snap])  # type: ignore[arg-type]


def run_to_result(
    d: Devnet,
    ups: list[Update],
    lie_about: int | None = None,
    model: Callable[[list[str], dict[str, Update], int], np.ndarray] | None = None,
) -> tuple[int, list[str], list[Update], dict[str, Update]]:
    """Open an epoch, commit operator i's update ``ups[i]``, and submit the Python-computed
    result (with a wrong sketch in row ``lie_about``, if given) under the test verifier.
    The posted model is the all-ones vector, or ``model(operators, by_op, selected_mask)``
    when given (posted by its leaf hashes)."""
    em = d.epochs
    e, _ = em.open_epoch(d.deployer)
    by_op: dict[str, Update] = {op.address: u for op, u in zip(d.operators, ups, strict=True)}
    for op in d.operators:
        em.commit_update(op, e, by_op[op.address].digest)
    assert em.epoch(e).close_block == d.head()  # the last commit closed the phase
    # anvil estimates gas at the head's number: recordSeed needs a block past the close
    d.mine(1)
    em.record_seed(d.deployer, e)
    info = em.epoch(e)  # the aggregator is drawn
    seed = info.seed
    assert seed == bytes(d.chain.w3.eth.get_block(info.close_block)["hash"])
    agg = aggregate(by_op, seed, em.byzantine_bound(len(by_op)))
    operators, sketches = agg.operators, agg.sketches
    if lie_about is not None:
        sketches[lie_about][0] += 1
        assert wrong_sketches(sketches, operators, by_op, seed) == [lie_about]
    selected, flags = agg.selected_mask, agg.flag_mask
    inputs = em.public_inputs(e, seed, sketches, selected, flags)
    proof = keccak256(b"".join(inputs))  # the test verifier's rule
    aggregator = next(op for op in [*d.operators, d.deployer] if op.address == info.aggregator)
    posted = (
        np.ones(em.params().model_dim, dtype=np.int32)
        if model is None
        else model(operators, by_op, selected)
    )
    atts = em.all_held([op.key for op in d.operators], e)
    em.submit_result(
        aggregator, e, merkle.leaf_hashes(posted), atts, sketches, selected, flags, proof
    )
    return e, operators, ups, by_op
