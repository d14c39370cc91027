"""Typed access to the EpochManager: the calls nodes and watchers make, and its views.

The v2 challenges (``contracts/src/avs/ResultChallenges.sol``) take the evidence that
``p2pfl.evidence`` builds: ``challenge_model`` (one leaf), ``open_sketch_challenge`` then one
``prove_chunk`` per live chunk (or ``close_sketch_challenge`` once expired or moot), and
``prove_norm_chunk`` against an operator's update. Challenges send ``challenge_bond`` wei;
an upheld one's reward is paid in the stake token (``owed_tokens``), ``withdraw`` pays both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from web3.types import TxReceipt

from p2pfl.chain.client import Chain, events

if TYPE_CHECKING:  # the evidence module pulls in the learning stack (torch)
    from p2pfl.evidence import ChunkEvidence, ModelEvidence, SketchEvidence
    from p2pfl.net.availability import Attestation

# The CNN's parameter count (p2pfl.learn's default model): the default model dimension.
DEFAULT_MODEL_DIM = 46_730
# The default update clip C (p2pfl.learn.codec): the norm bound of the default deployment.
DEFAULT_CLIP = 10.0
_SCALE = 1 << 16  # p2pfl.learn.fixedpoint.SCALE


def norm_bound_sq(clip: float, dim: int) -> int:
    """``p2pfl.learn.codec.norm_bound_sq`` (``(⌊C·2^16⌋ + ⌈√d⌉)²``) without importing the
    learning stack into the chain layer; tests/chain check that both agree."""
    if not clip > 0 or dim < 1:
        raise ValueError(f"the norm bound needs a positive clip and dimension ({clip}, {dim})")
    return (math.floor(clip * _SCALE) + math.isqrt(dim - 1) + 1) ** 2


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
    # Entries (int32) of the model and of every update: the size of their Merkle trees.
    model_dim: int = DEFAULT_MODEL_DIM
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
    # An operator whose update a norm proof shows above the bound loses 10 %.
    norm_slash_wad: int = 10**17
    # Wei a challenge sends: back when upheld (or moot), the aggregator's otherwise.
    challenge_bond: int = 10**17
    # Share (WAD, < 1) of the stake an upheld challenge's slash removed that its challenger
    # is paid, in stake tokens from the reward pool (never more than the pool holds).
    reward_share_wad: int = 5 * 10**17
    # Bound on an update's Σ q² (fixed point): p2pfl.learn.codec.norm_bound_sq(C, d).
    norm_bound_sq: int = norm_bound_sq(DEFAULT_CLIP, DEFAULT_MODEL_DIM)
    # N_max: the largest committee, the largest n a Krum verifier is deployed for. More
    # registered operators than this: each epoch a committee of this many is drawn by stake.
    committee_size: int = 16

    @property
    def rho(self) -> Fraction:
        return Fraction(self.flag_rho_num, self.flag_rho_den)

    def as_tuple(self) -> tuple[int, ...]:
        return (
            self.commit_blocks,
            self.submit_blocks,
            self.challenge_blocks,
            self.sketch_dim,
            self.model_dim,
            self.max_byzantine,
            self.flag_rho_num,
            self.flag_rho_den,
            self.max_attempts,
            self.flag_slash_wad,
            self.aggregator_slash_wad,
            self.timeout_slash_wad,
            self.norm_slash_wad,
            self.challenge_bond,
            self.reward_share_wad,
            self.norm_bound_sq,
            self.committee_size,
        )

    @property
    def slashable_span(self) -> int:
        """Blocks an epoch's operators must stay slashable after it opened: the commit phase,
        then per attempt the submit phase, the challenge window and a sketch challenge's own
        deadline. The allocation manager's ``DEALLOCATION_DELAY`` must be at least this."""
        return self.commit_blocks + self.max_attempts * (
            self.submit_blocks + 2 * self.challenge_blocks
        )


@dataclass(frozen=True)
class SketchChallenge:
    """``ResultChallenges.SketchChallenge``, field for field: challenge ``id`` of row
    ``index`` of ``epoch``'s result (attempt ``attempt``), to complete by block
    ``deadline``; ``proven_mask`` has bit ``c`` once chunk ``c`` is proven (the padding-only
    chunks from the start)."""

    epoch: int
    challenger: str
    deadline: int
    attempt: int
    index: int
    chunks: int
    bond: int
    proven_mask: int
    closed: bool

    @property
    def complete(self) -> bool:
        return self.proven_mask == (1 << self.chunks) - 1


@dataclass(frozen=True)
class NormProof:
    """``ResultChallenges.NormProof``: the chunks of an operator's update proven so far,
    their ``Σ q²``, and whether the operator was slashed for it."""

    proven_mask: int
    sum_of_squares: int
    slashed: bool


class EpochManager:
    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.contract = chain.contract("EpochManager", address)
        self.address = self.contract.address
        self._bounds: dict[int, int] = {}  # n -> byzantineBound(n)

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
        model_leaf_hashes: Sequence[bytes],
        attestations: Sequence[Attestation],
        sketches: list[list[int]],
        selected_mask: int,
        flag_mask: int,
        proof: bytes,
    ) -> TxReceipt:
        """``submitResult``: the new model by the hashes of its ``ceil(modelDim / 64)``
        leaves (``p2pfl.merkle.leaf_hashes``; the contract derives the root from them),
        the availability attestations (ascending by operator) from which the contract
        derives the included operators, their sketches (in that order), the masks and the
        proof. Fewer than three included: everything but the attestations empty."""
        flat = [int(x) for row in sketches for x in row]
        fn = self.contract.functions.submitResult(
            epoch,
            [bytes(h) for h in model_leaf_hashes],
            [_attestation(a) for a in attestations],
            flat,
            selected_mask,
            flag_mask,
            proof,
        )
        return self.chain.transact(who, fn)

    def challenge_exclusion(
        self, who: LocalAccount, epoch: int, operator: str, attestations: Sequence[Attestation]
    ) -> TxReceipt:
        """``challengeExclusion``: ``operator`` was left out of the standing result though
        these attestations by others (at least ``exclusion_quorum``) attest its update.
        Reverts unless upheld; upheld voids the result and slashes the aggregator."""
        fn = self.contract.functions.challengeExclusion(
            epoch, operator, [_attestation(a) for a in attestations]
        )
        return self.chain.transact(who, fn)

    def all_held(self, keys: Sequence[bytes | str], epoch: int) -> list[Attestation]:
        """Every key's attestation that it holds all of ``epoch``'s committed updates (the
        honest attestations when nothing is withheld: devnet tools, tests, benches)."""
        from p2pfl.net.availability import all_held

        sm = str(self.contract.functions.serviceManager().call())
        committed = self.committed(epoch)
        return all_held(
            keys, chain_id=self.chain.chain_id, avs=sm, epoch=epoch, committed=committed
        )

    def exclusion_quorum(self, committed: int) -> int:
        return int(self.contract.functions.exclusionQuorum(committed).call())

    def committed_sorted(self, epoch: int) -> list[str]:
        return [str(a) for a in self.contract.functions.committedSorted(epoch).call()]

    # ---- v2 challenges (ResultChallenges): evidence from p2pfl.evidence
    def challenge_bond(self) -> int:
        return self.params().challenge_bond

    def challenge_model(
        self, who: LocalAccount, epoch: int, ev: ModelEvidence
    ) -> tuple[bool, TxReceipt]:
        """``challengeModel``: one leaf of the posted model recomputed from the base model's
        and the selected updates' leaves. Sends the bond; True when upheld (the result is
        voided, the aggregator slashed ``WRONG_MODEL``), False when the leaf was right (the
        bond goes to the aggregator)."""
        fn = self.contract.functions.challengeModel(
            epoch,
            ev.leaf,
            ev.base.data,
            list(ev.base.proof),
            [s.data for s in ev.selected],
            [list(s.proof) for s in ev.selected],
            ev.model.hash,
            list(ev.model.proof),
        )
        receipt = self.chain.transact(who, fn, value=self.challenge_bond())
        (log,) = events(self.contract, receipt, "ModelChallenged")
        return bool(log["args"]["upheld"]), receipt

    def open_sketch_challenge(
        self, who: LocalAccount, epoch: int, ev: SketchEvidence
    ) -> tuple[int, TxReceipt]:
        """``openSketchChallenge`` of row ``ev.row`` with the challenger's partial sketches;
        sends the bond. Returns the challenge id: prove ``ev.chunks`` with ``prove_chunk``
        before its deadline (``sketch_challenge(id).deadline``)."""
        fn = self.contract.functions.openSketchChallenge(
            epoch, ev.row, [int(x) for x in ev.posted], [int(x) for x in ev.partials]
        )
        receipt = self.chain.transact(who, fn, value=self.challenge_bond())
        (log,) = events(self.contract, receipt, "SketchChallengeOpened")
        return int(log["args"]["id"]), receipt

    def prove_chunk(
        self, who: LocalAccount, epoch: int, challenge_id: int, chunk: ChunkEvidence
    ) -> tuple[bool, TxReceipt]:
        """``proveChunk``: True when this chunk completed the challenge and upheld it (the
        result voided, the aggregator slashed ``WRONG_SKETCH``). False otherwise, including
        when the result was voided meanwhile (the challenge closes as moot, bond refunded)."""
        fn = self.contract.functions.proveChunk(
            epoch, challenge_id, chunk.index, chunk.data, list(chunk.proof)
        )
        receipt = self.chain.transact(who, fn)
        upheld = any(
            bool(log["args"]["upheld"])
            for log in events(self.contract, receipt, "SketchChallengeClosed")
        )
        return upheld, receipt

    def close_sketch_challenge(self, who: LocalAccount, epoch: int, challenge_id: int) -> TxReceipt:
        """``closeSketchChallenge``: close an expired challenge (its bond to the aggregator)
        or a moot one (its bond back). Anyone may call it; finalize waits for it."""
        fn = self.contract.functions.closeSketchChallenge(epoch, challenge_id)
        return self.chain.transact(who, fn)

    def prove_norm_chunk(
        self, who: LocalAccount, epoch: int, operator: str, chunk: ChunkEvidence
    ) -> tuple[bool, TxReceipt]:
        """``proveNormChunk``: add a chunk's ``Σ q²`` to ``operator``'s total for ``epoch``;
        True when this chunk took it past the bound and the operator was slashed
        ``NORM_VIOLATION`` (once)."""
        fn = self.contract.functions.proveNormChunk(
            epoch, operator, chunk.index, chunk.data, list(chunk.proof)
        )
        receipt = self.chain.transact(who, fn)
        # A transaction on an already slashed proof reverts, so a proof marked slashed after
        # this one was slashed by it.
        return self.norm_proof(epoch, operator).slashed, receipt

    def fund_rewards(self, who: LocalAccount, amount: int) -> TxReceipt:
        """``fundRewards``: add ``amount`` stake tokens to the reward pool (``who`` must have
        approved the EpochManager for them, see ``approve_rewards``)."""
        return self.chain.transact(who, self.contract.functions.fundRewards(amount))

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
        """``byzantineBound(n)``, read once per ``n``: it depends only on the deployment's
        parameters, which the constructor sets for good."""
        if n not in self._bounds:
            self._bounds[n] = int(self.chain.call(self.contract.functions.byzantineBound(n)))
        return self._bounds[n]

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
        """Wei (challenge bonds) credited to ``account``, paid by ``withdraw``."""
        return int(self.chain.call(self.contract.functions.owed(account)))

    def owed_tokens(self, account: str) -> int:
        """Stake tokens (challenge rewards) credited to ``account``, paid by ``withdraw``."""
        return int(self.chain.call(self.contract.functions.owedTokens(account)))

    def reward_pool(self) -> int:
        """Stake tokens left in the challenger reward pool."""
        return int(self.chain.call(self.contract.functions.rewardPool()))

    def reward_token(self) -> str:
        """The stake token (the strategy's underlying token) rewards are paid in."""
        return str(self.chain.call(self.contract.functions.rewardToken()))

    def open_sketch_challenges(self, epoch: int) -> int:
        """Sketch challenges of ``epoch`` not yet closed: ``finalize`` waits for zero."""
        return int(self.chain.call(self.contract.functions.openSketchChallenges(epoch)))

    def sketch_challenge_ids(self, epoch: int) -> list[int]:
        """Every sketch challenge id opened against ``epoch``, closed ones included."""
        return [int(i) for i in self.chain.call(self.contract.functions.sketchChallengeIds(epoch))]

    def sketch_challenge(self, challenge_id: int) -> SketchChallenge:
        raw: Any = self.chain.call(self.contract.functions.sketchChallenge(challenge_id))
        return SketchChallenge(
            int(raw[0]),
            str(raw[1]),
            int(raw[2]),
            int(raw[3]),
            int(raw[4]),
            int(raw[5]),
            int(raw[6]),
            int(raw[7]),
            bool(raw[8]),
        )

    def norm_proof(self, epoch: int, operator: str) -> NormProof:
        raw: Any = self.chain.call(self.contract.functions.normProof(epoch, operator))
        return NormProof(int(raw[0]), int(raw[1]), bool(raw[2]))

    def latest_model(self) -> bytes:
        return bytes(self.chain.call(self.contract.functions.latestModel()))


def _attestation(att: Attestation) -> tuple[str, int, bytes]:
    """``IEpochManager.Attestation``: (operator, heldMask, 65-byte signature)."""
    return (att.operator, att.held_mask, bytes.fromhex(att.signature[2:]))
