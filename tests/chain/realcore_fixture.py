"""A real anvil with the real EigenLayer core, the p2pfl AVS on top and operators that
joined through the real path; what the AVS saw of each stake on the way is recorded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from p2pfl.chain.anvil import Anvil, dev_key, run_anvil
from p2pfl.chain.artifacts import build_contracts
from p2pfl.chain.client import Chain, account
from p2pfl.chain.deploy import WAD, Avs, deploy_avs
from p2pfl.chain.epochs import Params
from p2pfl.chain.realcore import (
    RealCore,
    deploy_real_core,
    join_operator_set_real,
    mine_to,
    stake_and_allocate_real,
)
from p2pfl.hashing import keccak256

ALLOCATION_DELAY = 5  # each operator's own allocation delay (blocks)


@dataclass(frozen=True)
class Joined:
    """One operator's way in: the stake the AVS saw before and after the allocation delay."""

    operator: LocalAccount
    stake: int
    peer_id: bytes
    allocated_block: int
    effect_block: int
    stake_before_delay: int
    stake_after_delay: int


@dataclass(frozen=True)
class RealDevnet:
    anvil: Anvil
    chain: Chain
    deployer: LocalAccount
    core: RealCore
    avs: Avs
    joined: tuple[Joined, ...]

    def stake_of(self, operator: str) -> int:
        sm = self.chain.contract("P2pflServiceManager", self.avs.service_manager)
        return int(self.chain.call(sm.functions.stakeOf(operator)))


@contextmanager
def real_devnet(operators: int = 4, params: Params | None = None) -> Iterator[RealDevnet]:
    """Real core + AVS (test verifier) + ``operators`` operators of stake 10, 20, ... WAD."""
    build_contracts()
    with run_anvil(accounts=operators + 2) as anvil:
        chain = Chain(anvil.url)
        deployer = account(dev_key(0))
        core = deploy_real_core(chain, deployer)
        verifier = chain.deploy(deployer, "MockVerifier")  # test tree only
        avs = deploy_avs(
            chain, deployer, core.as_core(), verifier, params or Params(), keccak256(b"genesis")
        )
        sm = chain.contract("P2pflServiceManager", avs.service_manager)
        joined = []
        for i in range(operators):
            op = account(dev_key(i + 1))
            stake, peer_id = (i + 1) * 10 * WAD, f"peer-{i}".encode()
            pending = stake_and_allocate_real(
                chain, deployer, core, avs.service_manager, op, stake, delay=ALLOCATION_DELAY
            )
            allocated = int(chain.w3.eth.block_number)
            before = int(chain.call(sm.functions.stakeOf(op.address)))
            mine_to(chain, pending.effect_block)
            after = int(chain.call(sm.functions.stakeOf(op.address)))
            join_operator_set_real(chain, core, avs.service_manager, op, peer_id)
            joined.append(
                Joined(op, stake, peer_id, allocated, pending.effect_block, before, after)
            )
        yield RealDevnet(anvil, chain, deployer, core, avs, tuple(joined))
