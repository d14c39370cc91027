"""One-shot challenges from files (``p2pfl challenge sketch|model|norm|exclusion``): everything a
person needs checked before a bond is sent, then the transactions, each under 128 KB.

Every function checks the inputs against the chain first (the epoch is challengeable,
the bytes are what was committed or posted, the result really is wrong) and raises
``ConfigError`` with one line otherwise; ``force`` sends a challenge the local check
finds pointless (its bond goes to the aggregator)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from p2pfl import evidence
from p2pfl.chain.epochs import EpochInfo, Status
from p2pfl.errors import CodecError, ConfigError
from p2pfl.learn.codec import Update
from p2pfl.learn.spec import ModelSpec
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.protocol.aggregate import selected_updates
from p2pfl.protocol.chainview import ChainView, PostedResult
from p2pfl.protocol.model import GlobalModel

Say = Callable[[str], None]


@dataclass(frozen=True)
class Outcome:
    """What the challenge did on chain: ``upheld`` (the result voided and the aggregator
    slashed, or for a norm proof the operator slashed), and per transaction its gas."""

    upheld: bool
    gas: tuple[int, ...]
    detail: str


def _challengeable(view: ChainView, epoch: int) -> tuple[EpochInfo, PostedResult]:
    info = view.epochs.epoch(epoch)
    if info.status != Status.SUBMITTED:
        raise ConfigError(
            f"epoch {epoch} has no result under challenge (status {info.status.name})"
        )
    block = int(view.chain.w3.eth.block_number)
    if block > info.challenge_deadline:
        raise ConfigError(
            f"the challenge window of epoch {epoch} closed at block {info.challenge_deadline}"
        )
    posted = view.result(epoch, info.open_block)
    if posted is None:
        raise ConfigError(f"no result event found for epoch {epoch}")
    return info, posted


def _row_of(posted: PostedResult, operator: str) -> int:
    wanted = operator.lower()
    rows = [i for i, op in enumerate(posted.operators) if op.lower() == wanted]
    if not rows:
        raise ConfigError(f"{operator} is not among the result's operators of epoch {posted.epoch}")
    return rows[0]


def _spec() -> ModelSpec:
    """The model's spec (every blob decodes against it)."""
    return GlobalModel.genesis(0).spec


def committed_update(view: ChainView, epoch: int, operator: str, data: bytes, name: str) -> Update:
    """``data`` decoded, and checked to be the update ``operator`` committed in ``epoch``."""
    spec = _spec()
    try:
        upd = Update.from_safetensors(data, spec)
    except CodecError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    committed = view.epochs.commitment(epoch, operator)
    if upd.digest != committed:
        raise ConfigError(
            f"{name} is not the update {operator} committed in epoch {epoch} "
            f"(root 0x{upd.digest.hex()}, committed 0x{committed.hex()})"
        )
    return upd


def challenge_sketch(
    view: ChainView,
    account: LocalAccount,
    epoch: int,
    operator: str,
    data: bytes,
    say: Say,
    force: bool = False,
) -> Outcome:
    """Open a chunked sketch challenge of ``operator``'s row and prove every chunk."""
    _, posted = _challengeable(view, epoch)
    row = _row_of(posted, operator)
    upd = committed_update(view, epoch, posted.operators[row], data, "the update")
    k = view.params.sketch_dim
    sk = evidence.sketch_evidence(upd.q, row, posted.sketches[row], posted.seed, k)
    if sk is None:
        if not force:
            raise ConfigError(
                f"the posted sketch of {operator} is correct: a challenge would lose the bond "
                "(--force sends it anyway)"
            )
        raise ConfigError("the posted sketch is correct: there is no wrong partial to claim")
    em = view.epochs
    cid, receipt = em.open_sketch_challenge(account, epoch, sk)
    gas = [int(receipt["gasUsed"])]
    say(f"opened sketch challenge {cid} of row {row}: gas {gas[-1]:,}")
    upheld = False
    for chunk in sk.chunks:
        upheld, receipt = em.prove_chunk(account, epoch, cid, chunk)
        gas.append(int(receipt["gasUsed"]))
        say(f"proved chunk {chunk.index}: gas {gas[-1]:,}")
    return Outcome(upheld, tuple(gas), f"row {row} ({posted.operators[row]})")


def challenge_model(
    view: ChainView,
    account: LocalAccount,
    epoch: int,
    base: bytes,
    updates: Sequence[bytes],
    say: Say,
) -> Outcome:
    """Challenge the posted model at its first wrong leaf, given the base model and the
    selected operators' updates (any order; others are ignored). The posted model is read
    from the result's leaf hashes: its bytes are not needed."""
    info, posted = _challengeable(view, epoch)
    spec = _spec()
    try:
        base_model = GlobalModel.from_safetensors(base, spec)
        given = [Update.from_safetensors(u, spec) for u in updates]
    except CodecError as exc:
        raise ConfigError(str(exc)) from None
    if base_model.digest != info.base_model:
        want = info.base_model.hex()
        raise ConfigError(f"the base model given is not epoch {epoch}'s (0x{want})")
    if not posted.model_leaf_hashes:
        raise ConfigError("the result's model leaf hashes are not in its transaction's calldata")
    by_root = {u.digest: u for u in given}
    have: dict[str, Update] = {}
    for i, op in enumerate(posted.operators):
        if posted.selected_mask >> i & 1:
            root = view.epochs.commitment(epoch, op)
            if root not in by_root:
                raise ConfigError(f"the update of selected operator {op} is missing")
            have[op] = by_root[root]
    sel = [u.q for u in selected_updates(have, posted.operators, posted.selected_mask)]
    hashes = list(posted.model_leaf_hashes)
    wrong = evidence.wrong_model_leaves(base_model.w, sel, hashes)
    if not wrong:
        raise ConfigError("the posted model is the model step: nothing to challenge")
    ev = evidence.model_evidence(base_model.w, sel, hashes, wrong[0])
    upheld, receipt = view.epochs.challenge_model(account, epoch, ev)
    gas = int(receipt["gasUsed"])
    say(f"challenged leaf {wrong[0]} of {len(wrong)} wrong: gas {gas:,}")
    return Outcome(upheld, (gas,), f"leaf {wrong[0]}")


def prove_norm(
    view: ChainView,
    account: LocalAccount,
    epoch: int,
    operator: str,
    data: bytes,
    say: Say,
) -> Outcome:
    """Prove ``operator``'s committed update of ``epoch`` above the norm bound, chunk by
    chunk (the fewest chunks, largest first), until it is slashed."""
    upd = committed_update(view, epoch, operator, data, "the update")
    bound = view.params.norm_bound_sq  # the deployment's
    chunks = evidence.norm_evidence(upd.q, bound)
    if not chunks:
        raise ConfigError(
            f"the update is within the norm bound (Σ q² = {upd.norm_sq} ≤ {bound}): "
            "nothing to prove"
        )
    gas: list[int] = []
    slashed = False
    for chunk in chunks:
        slashed, receipt = view.epochs.prove_norm_chunk(account, epoch, operator, chunk)
        gas.append(int(receipt["gasUsed"]))
        say(f"proved chunk {chunk.index}: gas {gas[-1]:,}")
    return Outcome(slashed, tuple(gas), f"{operator}, Σ q² = {upd.norm_sq} > {bound}")


def challenge_exclusion(
    view: ChainView,
    account: LocalAccount,
    epoch: int,
    operator: str,
    attestations: Sequence[Attestation],
    say: Say,
) -> Outcome:
    """Prove that the standing result of ``epoch`` left out ``operator`` although the
    exclusion quorum (``2·f_c + 1``) of other committed operators attest its update, with
    attestations saved by a node (``attestfile``). Invalid ones (another epoch or network,
    a forged signature, a non-member) are set aside; too few valid ones: nothing is sent."""
    _, posted = _challengeable(view, epoch)
    try:
        wanted = to_checksum_address(operator)
    except ValueError:
        raise ConfigError(f"{operator!r} is not an address") from None
    committed = view.epochs.committed(epoch)
    if wanted not in {to_checksum_address(a) for a in committed}:
        raise ConfigError(f"{wanted} committed no update in epoch {epoch}")
    if wanted in {to_checksum_address(a) for a in posted.operators}:
        raise ConfigError(f"{wanted} is included in the result of epoch {epoch}: no exclusion")
    good = availability.valid(
        attestations,
        chain_id=view.chain.chain_id,
        avs=view.service_manager,
        epoch=epoch,
        committed=committed,
    )
    if len(good) < len(attestations):
        say(f"set aside {len(attestations) - len(good)} invalid or duplicate attestations")
    support = availability.supporters(committed, good, wanted)
    f_c = view.epochs.byzantine_bound(len(committed))
    need = availability.exclusion_quorum(f_c)
    if len(support) < need:
        raise ConfigError(
            f"{len(support)} valid attestations by others hold {wanted}'s update; "
            f"an exclusion challenge needs {need} (2·f_c + 1, f_c = {f_c})"
        )
    receipt = view.epochs.challenge_exclusion(account, epoch, wanted, support)
    gas = int(receipt["gasUsed"])
    say(f"challenged the exclusion with {len(support)} attestations: gas {gas:,}")
    return Outcome(True, (gas,), f"{wanted} left out")
