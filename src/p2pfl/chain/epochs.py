"""Typed access to the EpochManager: the calls nodes and watchers make, and its views."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from p2pfl.chain.client import Chain, events

NO_AGGREGATOR = "0x" + "00" * 20  # EpochInfo.aggregator before the seed is recorded
NO_SEED = bytes(32)


class Status(IntEnum):
    NONE = 0
    OPEN = 1
    SUBMITTED = 2
    FINALIZED = 3


@dataclass(frozen=True)
class EpochInfo:
    """``EpochManager.Epoch``, field for field. ``close_block`` is the block the commit
    phase closes in: ``commit_deadline``, or earlier the block of the last roster member's
    commit. ``aggregator`` is the current attempt's draw, ``NO_AGGREGATOR`` until the seed
    (``blockhash(close_block)``) is recorded."""

    status: Status
    attempt: int
    open_block: int
    commit_deadline: int
    close_block: int
    submit_deadline: int
    challenge_deadline: int
    aggregator: str
    seed: bytes
    base_model: bytes
    model_digest: bytes
    selected_mask: int
    flag_mask: int
    total_stake: int

    def commit_closed(self, block: int, committed: int, roster_size: int) -> bool:
        """True once no commit can land any more: past the close block, or every roster
        member has committed (the chain closed the phase in that commit's block)."""
        return block > self.close_block or (roster_size > 0 and committed >= roster_size)

    @property
    def seed_recorded(self) -> bool:
        return self.seed != NO_SEED


@dataclass(frozen=True)
class Params:
    commit_blocks: int = 10
    submit_blocks: int = 20
    challenge_blocks: int = 10
    sketch_dim: int = 64
    max_byzantine: int = 3
    # The flag rule's rho = num / den: flagged iff den * score > num * T (DESIGN.md: 3).
    flag_rho_num: int = 3
    flag_rho_den: int = 1
    # Aggregator attempts per epoch: a timeout or an upheld challenge on the last one
    # skips the epoch instead of rotating (DESIGN.md "Liveness": rotations are bounded).
    max_attempts: int = 4
    # Slash sizes (WAD fractions of the allocated stake), DESIGN.md v2's defaults: a flag
    # excludes and is reported but does not slash (honest operators with skewed data are
    # flagged too); an aggregator caught by a challenge loses 10 %, a silent one 1 %.
    flag_slash_wad: int = 0
    aggregator_slash_wad: int = 10**17
    timeout_slash_wad: int = 10**16
    challenge_bond: int = 10**17
    challenge_reward: int = 10**18

    @property
    def rho(self) -> Fraction:
        return Fraction(self.flag_rho_num, self.flag_rho_den)

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.commit_blocks,
            self.submit_blocks,
            self.challenge_blocks,
            self.sketch_dim,
            self.max_byzantine,
            self.flag_rho_num,
            self.flag_rho_den,
            self.max_attempts,
            self.flag_slash_wad,
            self.aggregator_slash_wad,
            self.timeout_slash_wad,
            self.challenge_bond,
            self.challenge_reward,
        )


class EpochManager:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract = chain.contract("EpochManager", address)
        self.address = self.contract.address

    # ---- transactions
    def open_epoch(self, who: LocalAccount) -> tuple[int, TxReceipt]:
        receipt = self.chain.transact(who, self.contract.functions.openEpoch())
        (ev,) = events(self.contract, receipt, "EpochOpened")
        return int(ev["args"]["epoch"]), receipt

    def commit_update(self, who: LocalAccount, epoch: int, digest: bytes) -> TxReceipt:
        return self.chain.transact(who, self.contract.functions.commitUpdate(epoch, digest))

    def submit_result(
        self,
        who: LocalAccount,
        epoch: int,
        model_digest: bytes,
        operators: Sequence[str],
        sketches: list[list[int]],
        selected_mask: int,
        flag_mask: int,
        proof: bytes,
    ) -> TxReceipt:
        flat = [int(x) for row in sketches for x in row]
        fn = self.contract.functions.submitResult(
            epoch, model_digest, list(operators), flat, selected_mask, flag_mask, proof
        )
        return self.chain.transact(who, fn)

    def challenge_sketch(
        self, who: LocalAccount, epoch: int, index: int, update: bytes, posted: list[int]
    ) -> tuple[bool, TxReceipt]:
        bond = self.params().challenge_bond
        fn = self.contract.functions.challengeSketch(epoch, index, update, [int(x) for x in posted])
        receipt = self.chain.transact(who, fn, value=bond)
        (ev,) = events(self.contract, receipt, "SketchChallenged")
        return bool(ev["args"]["upheld"]), receipt

    def report_timeout(self, who: LocalAccount, epoch: int) -> TxReceipt:
        return self.chain.transact(who, self.contract.functions.reportTimeout(epoch))

    def finalize(self, who: LocalAccount, epoch: int) -> TxReceipt:
        return self.chain.transact(who, self.contract.functions.finalize(epoch))

    def withdraw(self, who: LocalAccount) -> TxReceipt:
        return self.chain.transact(who, self.contract.functions.withdraw())

    def retry_slash(self, who: LocalAccount, pending_id: int) -> TxReceipt:
        """Retry a slash the core refused (``SlashPending``); reverts while it still does."""
        return self.chain.transact(who, self.contract.functions.retrySlash(pending_id))

    def pending_slash_count(self) -> int:
        return int(self.chain.call(self.contract.functions.pendingSlashCount()))

    def record_seed(self, who: LocalAccount, epoch: int) -> TxReceipt:
        return self.chain.transact(who, self.contract.functions.recordSeed(epoch))

    # ---- views
    def current_epoch(self) -> int:
        return int(self.chain.call(self.contract.functions.currentEpoch()))

    def epoch(self, epoch: int) -> EpochInfo:
        raw: Any = self.chain.call(self.contract.functions.getEpoch(epoch))
        return EpochInfo(Status(raw[0]), *raw[1:])

    def params(self) -> Params:
        return Params(*self.chain.call(self.contract.functions.params()))

    def roster(self, epoch: int) -> tuple[list[str], list[int]]:
        """The operators snapshotted when ``epoch`` opened, with their stakes."""
        ops, stakes = self.chain.call(self.contract.functions.roster(epoch))
        return list(ops), [int(s) for s in stakes]

    def aggregator_at(self, epoch: int, attempt: int) -> str:
        return str(self.chain.call(self.contract.functions.aggregatorAt(epoch, attempt)))

    def committed(self, epoch: int) -> list[str]:
        return list(self.chain.call(self.contract.functions.committed(epoch)))

    def commitment(self, epoch: int, operator: str) -> bytes:
        return bytes(self.chain.call(self.contract.functions.commitmentOf(epoch, operator)))

    def byzantine_bound(self, n: int) -> int:
        return int(self.chain.call(self.contract.functions.byzantineBound(n)))

    def public_inputs(
        self,
        epoch: int,
        seed: bytes,
        sketches: list[list[int]],
        selected_mask: int,
        flag_mask: int,
    ) -> list[bytes]:
        n = len(sketches)
        flat = [int(x) for row in sketches for x in row]
        fn = self.contract.functions.publicInputs(
            epoch, seed, n, self.byzantine_bound(n), flat, selected_mask, flag_mask
        )
        return [bytes(x) for x in self.chain.call(fn)]

    def owed(self, account: str) -> int:
        return int(self.chain.call(self.contract.functions.owed(account)))

    def latest_model(self) -> bytes:
        return bytes(self.chain.call(self.contract.functions.latestModel()))
