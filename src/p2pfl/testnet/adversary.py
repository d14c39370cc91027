"""Testnet-only behaviour, injected into a node to show the defenses at work: a
Byzantine operator's attack (its update replaced by the attack's) and a cheating
aggregator, of one of three kinds (:class:`Cheat`): a wrong sketch that frames an honest
operator, proven honestly over the wrong sketches, a wrong model (a backdoor in the
posted model, whose bytes it serves), or an available operator left out (attestations
dropped until it is no longer available); and a withholder, which commits its update
and never serves it. The protocol package never imports this module;
the node's assembly passes these in, and refuses them on any chain but a devnet's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from p2pfl.errors import ConfigError
from p2pfl.learn.fixedpoint import SCALE, clamp32
from p2pfl.net import availability
from p2pfl.net.availability import Attestation
from p2pfl.protocol.aggregate import Aggregation
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.options import Tamper
from p2pfl.robust.attacks import ATTACKS, Attack, make_attack
from p2pfl.robust.sketch_krum import sketch_krum
from p2pfl.testnet.cheat import Cheat

DEV_CHAIN_IDS = frozenset({31337, 1337})  # anvil / hardhat: where testnet-only options work


@dataclass(frozen=True)
class Adversary:
    attack: str | None = None  # send this attack's update instead of an honest one
    cheat_epochs: frozenset[int] = field(default_factory=frozenset)  # cheat as aggregator
    cheat: Cheat = Cheat.WRONG_SKETCH
    withhold: bool = False  # commit, never serve the update

    @property
    def dishonest(self) -> bool:
        return self.attack is not None or bool(self.cheat_epochs) or self.withhold

    def check(self, chain_id: int) -> None:
        if self.attack is not None and self.attack not in ATTACKS:
            raise ConfigError(f"unknown attack {self.attack!r}; choose from {', '.join(ATTACKS)}")
        if self.dishonest and chain_id not in DEV_CHAIN_IDS:
            raise ConfigError(
                "--testnet-attack, --testnet-cheat-epoch and --testnet-withhold are refused "
                f"on chain {chain_id}: they exist to demonstrate the defenses on a local devnet"
            )

    def make_attack(self) -> Attack | None:
        return make_attack(self.attack) if self.attack else None

    def tamper(self) -> Tamper | None:
        if not self.cheat_epochs:
            return Tamper(withhold=True) if self.withhold else None
        epochs = self.cheat_epochs

        def result(agg: Aggregation, epoch: int, attempt: int, me: str) -> Aggregation | None:
            if epoch in epochs and attempt == 0:
                return frame_an_honest_operator(agg, me)
            return None

        def model(new: GlobalModel, epoch: int, attempt: int) -> GlobalModel | None:
            if epoch in epochs and attempt == 0:
                return plant_a_backdoor(new)
            return None

        def attestations(
            atts: list[Attestation], committed: list[str], f_c: int, epoch: int, attempt: int
        ) -> list[Attestation] | None:
            if epoch in epochs and attempt == 0:
                return leave_an_operator_out(atts, committed, f_c)
            return None

        if self.cheat is Cheat.WRONG_MODEL:
            return Tamper(model=model, withhold=self.withhold)
        if self.cheat is Cheat.EXCLUDE:
            return Tamper(attestations=attestations, withhold=self.withhold)
        return Tamper(result=result, withhold=self.withhold)


def leave_an_operator_out(
    atts: list[Attestation], committed: list[str], f_c: int
) -> list[Attestation] | None:
    """The cheating aggregator's attestations: it picks the first operator that at least
    the exclusion quorum of others attest (so its exclusion is provable), keeps only
    ``f_c`` of those attestations plus every attestation that does not attest it, and
    posts the rest as if it had never received them. The victim is then attested by
    ``f_c`` others, one short of being available, and the result leaves it out; the Krum
    proof over the others is honest. Every other node holds the dropped attestations."""
    quorum = availability.exclusion_quorum(f_c)
    for op in availability.ordered(committed):
        support = availability.supporters(committed, atts, op)
        if len(support) >= quorum:
            dropped = {a.operator for a in support[f_c:]}
            return [a for a in atts if a.operator not in dropped]
    return None


def frame_an_honest_operator(agg: Aggregation, me: str) -> Aggregation:
    """The cheating aggregator's result. It posts a wrong sketch for the first operator it
    did not flag (itself excepted), pushed far from the others so that operator is
    flagged, and proves Krum honestly over the wrong sketches: the proof verifies, and
    only a watcher who recomputes the sketch from the update catches it."""
    victim = next(
        i for i in range(len(agg.operators)) if i not in agg.krum.flagged and agg.operators[i] != me
    )
    sketches = [list(row) for row in agg.sketches]
    sketches[victim] = [
        x + (1 << 30) * (1 if b % 2 else -1) for b, x in enumerate(sketches[victim])
    ]
    return Aggregation(agg.operators, sketches, sketch_krum(sketches, agg.krum.f, rho=agg.krum.rho))


BACKDOOR_ENTRIES = 128  # the last entries of the posted model, which the cheat changes


def plant_a_backdoor(model: GlobalModel) -> GlobalModel:
    """The cheating aggregator's model: the honest one with the last weights (the output
    layer, in canonical order) shifted by 1.0, standing for a backdoor. Its sketches and
    proof are honest, so only a watcher who recomputes the model step catches it."""
    w = model.w.astype(np.int64)
    w[-BACKDOOR_ENTRIES:] += SCALE
    return GlobalModel(model.spec, clamp32(w))
