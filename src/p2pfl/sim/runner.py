"""The simulation loop: train, encode, attack, sketch, Krum, aggregate, evaluate."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from p2pfl.hashing import keccak256
from p2pfl.learn.codec import Update, dequantize, flatten_state, norm_bound_sq, squared_norm
from p2pfl.learn.mnist import Mnist, Split
from p2pfl.learn.model import new_model
from p2pfl.learn.partition import dirichlet_shards, iid_shards
from p2pfl.learn.train import TrainConfig, evaluate, train_local
from p2pfl.robust.attacks import AttackContext, make_attack
from p2pfl.robust.attacks.label_flip import FLIP_MAP
from p2pfl.robust.registry import make_rule
from p2pfl.robust.sketch import sketch_many
from p2pfl.robust.sketch_krum import KrumResult, sketch_krum
from p2pfl.sim.config import SimConfig
from p2pfl.sim.globalmodel import SimModel

PROTOCOL_SELECTION_RULES = {"krum": 1, "multikrum": None}  # m per rule; None: n - f


@dataclass(frozen=True)
class RoundResult:
    round: int
    accuracy: float
    selected: list[int]
    flagged: list[int]
    suspicious: bool
    scores: list[int]
    threshold: float  # rho * T: a score above it is flagged
    mean_score: float
    seconds: float
    diverged: list[int] = field(default_factory=list)
    norm_violations: list[int] = field(default_factory=list)  # updates over the norm bound
    largest_selected: int = 0  # T


@dataclass
class RunResult:
    rule: str
    byzantine_clients: list[int]
    initial_accuracy: float
    rounds: list[RoundResult] = field(default_factory=list)

    def flag_rates(self, clients: int) -> dict[str, float]:
        """Rounds flagged per client, as fractions."""
        count = np.zeros(clients)
        for r in self.rounds:
            count[r.flagged] += 1
        return {str(c): float(count[c] / max(len(self.rounds), 1)) for c in range(clients)}

    def summary(self, clients: int) -> dict[str, float | None]:
        rates = self.flag_rates(clients)
        byz = [rates[str(c)] for c in self.byzantine_clients]
        honest = [rates[str(c)] for c in range(clients) if c not in self.byzantine_clients]
        return {
            "final_accuracy": self.rounds[-1].accuracy if self.rounds else self.initial_accuracy,
            "byzantine_min_flag_rate": min(byz) if byz else None,
            "honest_flag_rate": float(np.mean(honest)) if honest else None,
            "honest_max_flag_rate": max(honest) if honest else None,
            "suspicious_rounds": float(sum(r.suspicious for r in self.rounds)),
            "byzantine_norm_violation_rate": _rate(
                [c in r.norm_violations for r in self.rounds for c in self.byzantine_clients]
            ),
            "honest_norm_violations": float(
                sum(c not in self.byzantine_clients for r in self.rounds for c in r.norm_violations)
            ),
            "honest_max_score_over_t": max(
                (
                    r.scores[c] / r.largest_selected
                    for r in self.rounds
                    if r.largest_selected > 0
                    for c in range(clients)
                    if c not in self.byzantine_clients
                ),
                default=None,
            ),
            "seconds": float(sum(r.seconds for r in self.rounds)),
        }


def _rate(hits: list[bool]) -> float | None:
    return float(np.mean(hits)) if hits else None


ClientHook = Callable[[int, int], None]  # (round, client) after each client trains
RoundHook = Callable[[str, RoundResult, list[int]], None]  # (rule, result, byzantine)


def round_seed(seed: int, rnd: int) -> bytes:
    """Stand-in for the commit-deadline blockhash: 32 bytes nobody knew in advance."""
    return keccak256(b"p2pfl/sim/seed" + seed.to_bytes(8, "big") + rnd.to_bytes(8, "big"))


def byzantine_clients(config: SimConfig) -> list[int]:
    rng = np.random.default_rng([config.seed, 0xB42])
    return sorted(int(c) for c in rng.choice(config.clients, config.byzantine, replace=False))


def make_shards(config: SimConfig, train: Split) -> list[Split]:
    labels = train.labels.numpy()
    if config.partition == "iid":
        shards = iid_shards(len(labels), config.clients, config.seed)
    else:
        shards = dirichlet_shards(labels, config.clients, config.alpha, config.seed)
    if config.samples_per_client is not None:
        shards = [s[: config.samples_per_client] for s in shards]
    return [Split(train.images[s], train.labels[s]) for s in shards]


def run_rule(
    config: SimConfig,
    rule_name: str,
    data: Mnist,
    on_client: ClientHook | None = None,
    on_round: RoundHook | None = None,
    runs: list[RunResult] | None = None,
) -> RunResult:
    """One federated run with one aggregation rule.

    With ``runs``, the result is appended before the first round and filled as rounds
    finish, so an interrupt keeps every completed round.
    """
    f = config.assumed_f
    n = config.clients
    rule = make_rule(rule_name, f)
    attack = make_attack(config.attack)
    byz = byzantine_clients(config)
    shards = make_shards(config, data.train)
    test = data.test
    if config.test_samples is not None:
        test = Split(test.images[: config.test_samples], test.labels[: config.test_samples])
    train_cfg = TrainConfig(config.local_epochs, config.batch_size, config.lr, config.momentum)

    model = new_model(config.seed)
    glob = SimModel.start(model.state_dict(), config.arithmetic)
    spec = glob.spec
    model.load_state_dict(glob.state())
    result = RunResult(rule_name, byz, evaluate(model, test))
    if runs is not None:
        runs.append(result)
    for rnd in range(1, config.rounds + 1):
        started = time.perf_counter()
        updates: list[NDArray[np.int32]] = []
        honest_of: dict[int, NDArray[np.float64]] = {}
        diverged: list[int] = []
        base = glob.base()
        for c in range(n):
            model.load_state_dict(glob.state())
            poison = c in byz and attack.poisons_labels
            train_local(
                model,
                shards[c],
                train_cfg,
                seed=config.seed * 1_000_003 + rnd * 1009 + c,
                label_map=FLIP_MAP if poison else None,
            )
            delta = flatten_state(model.state_dict()) - base
            if not np.all(np.isfinite(delta)):
                # Local training blew up (a poisoned global model does that): the client
                # has no valid update and sends a zero one, keeping the global model.
                diverged.append(c)
                delta = np.zeros_like(delta)
            upd = Update.from_delta(spec, delta, config.clip)
            updates.append(upd.q)
            honest_of[c] = upd.to_float()
            if on_client:
                on_client(rnd, c)
        if byz:
            known = np.stack([honest_of[c] for c in byz])
            shared_seed = config.seed * 7919 + rnd
            for c in byz:
                ctx = AttackContext(
                    own=honest_of[c], known=known, n=n, f=f, seed=shared_seed, client=c
                )
                # A Byzantine sender does not have to clip.
                updates[c] = Update.from_delta(spec, attack.craft(ctx), clip=None).q
        bound = norm_bound_sq(config.clip, spec.dim)
        violations = [c for c, q in enumerate(updates) if squared_norm(q) > bound]

        detection = _detect(config, rnd, updates, f, rule_name)
        if rule_name in PROTOCOL_SELECTION_RULES:
            # The network's rule: the model step with the updates the proven selection keeps.
            selected = detection.selected
            glob.step(updates, selected)
        else:
            out = rule(np.stack([dequantize(u) for u in updates]))
            glob.add(out.vector)
            selected = list(out.selected) if out.selected is not None else list(range(n))
        model.load_state_dict(glob.state())
        accuracy = evaluate(model, test)
        scores = detection.scores
        rr = RoundResult(
            round=rnd,
            accuracy=accuracy,
            selected=selected,
            flagged=detection.flagged,
            suspicious=detection.suspicious,
            scores=scores,
            threshold=float(detection.rho * detection.threshold),
            mean_score=sum(scores) / len(scores),
            seconds=time.perf_counter() - started,
            diverged=diverged,
            norm_violations=violations,
            largest_selected=detection.threshold,
        )
        result.rounds.append(rr)
        if on_round:
            on_round(rule_name, rr, byz)
    return result


def _detect(
    config: SimConfig, rnd: int, updates: list[NDArray[np.int32]], f: int, rule_name: str
) -> KrumResult:
    """The protocol's detection, as the aggregator would compute and prove it."""
    m = PROTOCOL_SELECTION_RULES.get(rule_name)
    rho = config.rho_fraction
    if config.sketch_k > 0:
        sketches = sketch_many(updates, round_seed(config.seed, rnd), config.sketch_k)
        return sketch_krum(sketches, f, m=m, rho=rho)
    # Full-vector Krum on the integer updates (exact, slower): for comparison runs.
    full = np.stack([u.astype(np.int64) for u in updates])
    return sketch_krum(full, f, m=m, rho=rho)


def set_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
