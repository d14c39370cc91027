"""Checking a posted result the way DESIGN.md's watchers do: recompute every sketch from
the committed update bytes and the epoch's seed, find the rows the aggregator got wrong
(each one a ``challengeSketch`` the watcher wins), and rebuild the new model from the
posted selection to check the posted model digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from p2pfl.errors import CodecError
from p2pfl.learn.codec import Update
from p2pfl.protocol.aggregate import selected_updates, wrong_sketches
from p2pfl.protocol.chainview import PostedResult
from p2pfl.protocol.model import GlobalModel
from p2pfl.robust.sketch_krum import sketch_krum
from p2pfl.zk.inputs import mask


@dataclass(frozen=True)
class Verdict:
    wrong_rows: list[int]  # rows whose sketch does not match the committed update
    model: GlobalModel | None  # the rebuilt model when the sketches are right
    model_matches: bool
    # Krum recomputed from the posted sketches gives the posted selection and flags: the
    # proof says so too; this is the second line of defence against a circuit bug.
    krum_matches: bool = True
    # Committed operators the result left out although at least the exclusion quorum of
    # others attest their updates (``p2pfl.net.availability.exclusion_quorum``).
    excluded: tuple[str, ...] = ()

    @property
    def honest(self) -> bool:
        return (
            not self.wrong_rows and self.model_matches and self.krum_matches and not self.excluded
        )


def krum_matches(posted: PostedResult, f: int, rho: Fraction) -> bool:
    """Krum, Multi-Krum and the flags recomputed from the posted sketches agree with the
    posted masks."""
    res = sketch_krum(posted.sketches, f, rho=rho)
    return mask(res.selected) == posted.selected_mask and mask(res.flagged) == posted.flag_mask


def check_result(
    posted: PostedResult,
    updates: Mapping[str, Update],
    base: GlobalModel,
    k: int,
    f: int,
    rho: Fraction,
) -> Verdict:
    """``updates``: the committed update of every operator in ``posted.operators``; ``f``
    the epoch's Byzantine bound for that many operators; ``rho`` the deployment's."""
    krum = krum_matches(posted, f, rho)
    wrong = wrong_sketches(posted.sketches, posted.operators, updates, posted.seed, k)
    if wrong:
        return Verdict(wrong, None, False, krum)
    try:
        model = base.step(selected_updates(updates, posted.operators, posted.selected_mask))
    except CodecError:  # an empty selection: no model step gives the posted digest
        return Verdict([], None, False, krum)
    return Verdict([], model, model.digest == posted.model_digest, krum)
