"""SlashReason mirrors the contract's enum, and History decodes it from the events."""

from __future__ import annotations

import re

import numpy as np
import pytest

from p2pfl import evidence
from p2pfl.chain.artifacts import build_contracts, load
from p2pfl.chain.events import EventFollower
from p2pfl.chain.slashing import SlashReason
from p2pfl.chain.toolchain import contracts_dir
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.history import History, Slash
from p2pfl.robust.sketch import sketch_many
from tests.chain.conftest import GENESIS, OPERATORS, PARAMS, Devnet, run_to_result
from tests.chain.test_challenges import OUTLIER, WRONG_LEAF, selected_of, wrong_model
from tests.chain.test_challenges import updates as cnn_updates

SPEC = ModelSpec((("w", (500,)),))


def solidity_enum(source: str, name: str) -> list[str]:
    """The members of ``enum name { ... }`` in Solidity source, in order."""
    match = re.search(rf"\benum\s+{name}\s*\{{(.*?)\}}", source, re.DOTALL)
    assert match, f"enum {name} not found"
    body = re.sub(r"//[^\n]*|/\*.*?\*/", "", match.group(1), flags=re.DOTALL)
    return [m.strip() for m in body.split(",") if m.strip()]


def upper_snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def test_python_enum_mirrors_the_solidity_enum() -> None:
    source = (contracts_dir() / "src/interfaces/IEpochManager.sol").read_text()
    members = solidity_enum(source, "SlashReason")
    assert members == [
        "Flagged",
        "WrongSketch",
        "MissedDeadline",
        "WrongModel",
        "NormViolation",
        "WrongfulExclusion",
    ]
    assert [upper_snake(m) for m in members] == [r.name for r in SlashReason]
    assert [r.value for r in SlashReason] == list(range(len(members)))


def test_words_and_phrases() -> None:
    assert [r.short for r in SlashReason] == ["flag", "cheat", "late", "cheat", "norm", "cheat"]
    assert len({r.describe for r in SlashReason}) == len(SlashReason)
    # the contract hands EigenLayer the same phrases
    contract = (contracts_dir() / "src/avs/EpochManager.sol").read_text()
    for r in SlashReason:
        assert f'"p2pfl: {r.describe}"' in contract, r


@pytest.fixture(scope="module")
def epoch_manager_abi() -> list[dict[str, object]]:
    build_contracts()
    return load("EpochManager").abi


@pytest.mark.parametrize("event", ["SlashApplied", "SlashFailed"])
def test_the_events_carry_the_enum_as_uint8(
    epoch_manager_abi: list[dict[str, object]], event: str
) -> None:
    (item,) = [e for e in epoch_manager_abi if e.get("type") == "event" and e["name"] == event]
    inputs = item["inputs"]
    assert isinstance(inputs, list)
    (reason,) = [p for p in inputs if p["name"] == "reason"]
    assert reason["type"] == "uint8"
    assert reason["internalType"] == "enum IEpochManager.SlashReason"
    assert not reason["indexed"]


# ---------------------------------------------------------------- decoded from the chain


def updates(n: int, outlier: int) -> list[Update]:
    rng = np.random.default_rng(11)
    out = []
    for i in range(n):
        scale = 1 << 20 if i == outlier else 1 << 10
        out.append(Update(SPEC, rng.integers(-scale, scale, size=500).astype(np.int32)))
    return out


def slashes(d: Devnet, start: int) -> list[Slash]:
    history = History(EventFollower(d.epochs.contract, start_block=start))
    history.refresh()
    return [s for rec in history.epochs.values() for s in rec.slashes]


def test_history_decodes_flagged(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    e, _, _, _ = run_to_result(d, updates(OPERATORS, outlier=2))
    d.mine_to(d.epochs.epoch(e).challenge_deadline + 1)
    d.epochs.finalize(d.deployer, e)
    (slash,) = slashes(d, start)
    assert slash == Slash(d.operators[2].address, PARAMS.flag_slash_wad, SlashReason.FLAGGED)
    assert type(slash.reason) is SlashReason


def test_history_decodes_wrong_model(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    e, operators, _, by_op = run_to_result(d, cnn_updates(OPERATORS), model=wrong_model)
    info = d.epochs.epoch(e)
    selected = selected_of(operators, by_op, info.selected_mask)
    posted = wrong_model(operators, by_op, info.selected_mask)
    ev = evidence.model_evidence(GENESIS, selected, posted, WRONG_LEAF)
    upheld, _ = d.epochs.challenge_model(d.watcher, e, ev)
    assert upheld
    (slash,) = slashes(d, start)
    assert slash == Slash(info.aggregator, PARAMS.aggregator_slash_wad, SlashReason.WRONG_MODEL)
    assert slash.reason.short == "cheat"


def test_history_decodes_wrong_sketch(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    e, operators, _, by_op = run_to_result(d, cnn_updates(OPERATORS), lie_about=3)
    info = d.epochs.epoch(e)
    rows = sketch_many([by_op[a].q for a in operators], info.seed, PARAMS.sketch_dim).tolist()
    rows[3][0] += 1  # the posted (wrong) row
    ev = evidence.sketch_evidence(by_op[operators[3]].q, 3, rows[3], info.seed, PARAMS.sketch_dim)
    assert ev is not None
    cid, _ = d.epochs.open_sketch_challenge(d.watcher, e, ev)
    upheld = [d.epochs.prove_chunk(d.watcher, e, cid, c)[0] for c in ev.chunks]
    assert upheld[-1]
    (slash,) = slashes(d, start)
    assert slash == Slash(info.aggregator, PARAMS.aggregator_slash_wad, SlashReason.WRONG_SKETCH)


def test_history_decodes_norm_violation(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    ups = cnn_updates(OPERATORS)
    e, _, _, _ = run_to_result(d, ups)
    outlier = d.operators[OUTLIER].address
    for chunk in evidence.norm_evidence(ups[OUTLIER].q, PARAMS.norm_bound_sq):
        d.epochs.prove_norm_chunk(d.watcher, e, outlier, chunk)
    (slash,) = slashes(d, start)
    assert slash == Slash(outlier, PARAMS.norm_slash_wad, SlashReason.NORM_VIOLATION)
    assert (slash.reason.short, slash.reason.describe) == ("norm", "update above the norm bound")


def test_history_decodes_missed_deadline(devnet: Devnet) -> None:
    d = devnet
    start = int(d.chain.w3.eth.block_number) + 1
    e, _ = d.epochs.open_epoch(d.deployer)
    for op, u in zip(d.operators, updates(OPERATORS, outlier=2), strict=True):
        d.epochs.commit_update(op, e, u.digest)
    d.mine(1)  # past the close block (anvil estimates gas at the head's number)
    d.epochs.record_seed(d.deployer, e)  # draws the aggregator
    info = d.epochs.epoch(e)
    d.mine_to(info.submit_deadline + 1)
    d.epochs.report_timeout(d.deployer, e)
    (slash,) = slashes(d, start)
    assert slash == Slash(info.aggregator, PARAMS.timeout_slash_wad, SlashReason.MISSED_DEADLINE)
    assert slash.reason.short == "late"
