"""The watcher's one-shot challenge, ``p2pfl status`` and the node's start-up checks,
as a user runs them: the real CLI against a real anvil."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from eth_account import Account

from p2pfl import evidence, merkle
from p2pfl.chain.epochs import Status
from p2pfl.errors import ConfigError
from p2pfl.hashing import keccak256
from p2pfl.learn import fixedpoint
from p2pfl.learn.codec import Update
from p2pfl.protocol import attestfile
from p2pfl.protocol.aggregate import aggregate
from p2pfl.protocol.model import GlobalModel
from p2pfl.protocol.oneshot import challenge_exclusion
from p2pfl.runtime import connect_chain
from tests.chain.conftest import Devnet, run_to_result

SPEC = GlobalModel.genesis(0).spec
PASSWORD = "watch-me"


def p2pfl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "p2pfl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PW": PASSWORD, "COLUMNS": "200", **(env or {})},
        check=False,
    )


def keystore(tmp_path: Path, key: bytes) -> Path:
    path = tmp_path / "watcher.json"
    path.write_text(json.dumps(Account.encrypt(key, PASSWORD, kdf="pbkdf2", iterations=1000)))
    return path


def test_one_shot_sketch_challenge_wins_in_chunks_and_status_shows_it(
    devnet: Devnet, tmp_path: Path
) -> None:
    d = devnet
    rng = np.random.default_rng(5)
    shaped = [Update(SPEC, rng.integers(-300, 300, SPEC.dim).astype(np.int32)) for _ in d.operators]
    lie = 1
    e, operators, _, ups = run_to_result(d, shaped, lie_about=lie)
    ks = keystore(tmp_path, bytes(d.watcher.key))
    common = ["--rpc", d.anvil.url, "--epoch-manager", d.epochs.address]
    common += ["--keystore", str(ks), "--password-env", "PW"]
    honest_file = tmp_path / "honest.safetensors"
    honest_file.write_bytes(ups[operators[0]].to_safetensors())
    right = p2pfl("challenge", "sketch", "--epoch", str(e), "--operator", operators[0],
                  "--update", str(honest_file), *common)  # fmt: skip
    assert right.returncode == 2
    assert "is correct" in right.stderr
    assert "Traceback" not in right.stderr
    mismatched = p2pfl("challenge", "sketch", "--epoch", str(e), "--operator", operators[lie],
                       "--update", str(honest_file), *common)  # fmt: skip
    assert mismatched.returncode == 2
    assert "is not the update" in mismatched.stderr
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 100)
    broken = p2pfl("challenge", "sketch", "--epoch", str(e), "--operator", operators[lie],
                   "--update", str(corrupt), *common)  # fmt: skip
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr
    wrong_file = tmp_path / "lied-about.safetensors"
    wrong_file.write_bytes(ups[operators[lie]].to_safetensors())
    won = p2pfl("challenge", "sketch", "--epoch", str(e), "--operator", operators[lie],
                "--update", str(wrong_file), *common)  # fmt: skip
    assert won.returncode == 0, won.stderr
    assert "opened sketch challenge" in won.stdout
    assert won.stdout.count("proved chunk") == evidence.live_chunks(SPEC.dim)
    assert "upheld" in won.stdout
    info = d.epochs.epoch(e)
    assert info.status == Status.OPEN
    assert info.attempt == 1
    assert d.epochs.owed(d.watcher.address) > 0
    status = p2pfl("status", "--rpc", d.anvil.url, "--epoch-manager", d.epochs.address)
    assert status.returncode == 0, status.stderr
    assert f"epoch {e} open attempt 1" in status.stdout
    assert "wrong sketch" in status.stdout
    for op in d.operators:
        assert op.address in status.stdout
    closed = p2pfl("challenge", "sketch", "--epoch", str(e), "--operator", operators[lie],
                   "--update", str(wrong_file), *common)  # fmt: skip
    assert closed.returncode == 2
    assert "no result under challenge" in closed.stderr


def test_one_shot_model_challenge_and_norm_proof(devnet: Devnet, tmp_path: Path) -> None:
    d = devnet
    rng = np.random.default_rng(6)
    shaped = [Update(SPEC, rng.integers(-300, 300, SPEC.dim).astype(np.int32)) for _ in d.operators]
    big = 2  # one update far above the norm bound
    shaped[big] = Update(SPEC, rng.integers(-(1 << 20), 1 << 20, SPEC.dim).astype(np.int32))
    base = GlobalModel(SPEC, np.zeros(SPEC.dim, dtype=np.int32))  # the fixture's genesis

    def backdoored(ops: list[str], by_op: dict[str, Update], mask: int) -> np.ndarray:
        chosen = [by_op[a].q for i, a in enumerate(ops) if mask >> i & 1]
        w = fixedpoint.step(base.w, chosen).astype(np.int64)
        w[-100:] += 1 << 16
        return fixedpoint.clamp32(w)

    e, operators, _, ups = run_to_result(d, shaped, model=backdoored)
    info = d.epochs.epoch(e)
    assert info.base_model == base.digest
    ks = keystore(tmp_path, bytes(d.watcher.key))
    common = ["--rpc", d.anvil.url, "--epoch-manager", d.epochs.address]
    common += ["--keystore", str(ks), "--password-env", "PW"]
    base_file = tmp_path / "base.safetensors"
    base_file.write_bytes(base.to_safetensors())
    other_file = tmp_path / "other.safetensors"  # not the base model
    other_file.write_bytes(GlobalModel(SPEC, np.ones(SPEC.dim, dtype=np.int32)).to_safetensors())
    files = []
    for i, op in enumerate(operators):
        f = tmp_path / f"u{i}.safetensors"
        f.write_bytes(ups[op].to_safetensors())
        files += ["--update", str(f)]
    # the norm proof first: the epoch's result still stands
    over = p2pfl("challenge", "norm", "--epoch", str(e), "--operator", d.operators[big].address,
                 "--update", files[2 * operators.index(d.operators[big].address) + 1],
                 *common)  # fmt: skip
    assert over.returncode == 0, over.stderr
    assert "operator slashed" in over.stdout
    within = p2pfl("challenge", "norm", "--epoch", str(e), "--operator", operators[0],
                   "--update", files[1], *common)  # fmt: skip
    assert within.returncode == 2
    assert "within the norm bound" in within.stderr
    missing = p2pfl("challenge", "model", "--epoch", str(e), "--base", str(base_file),
                    "--update", files[1], *common)  # fmt: skip
    assert missing.returncode == 2
    assert "is missing" in missing.stderr
    wrong_base = p2pfl("challenge", "model", "--epoch", str(e), "--base", str(other_file),
                       *files, *common)  # fmt: skip
    assert wrong_base.returncode == 2
    assert "base model" in wrong_base.stderr
    won = p2pfl("challenge", "model", "--epoch", str(e), "--base", str(base_file),
                *files, *common)  # fmt: skip
    assert won.returncode == 0, won.stderr
    assert "upheld" in won.stdout
    assert d.epochs.epoch(e).attempt == 1


def test_one_shot_exclusion_challenge_from_a_saved_attestation_file(
    devnet: Devnet, tmp_path: Path
) -> None:
    """The aggregator posts only two attestations, leaving out an operator everyone holds;
    a node's saved attestation file proves it. Refused first, one line each and nothing
    sent: an included operator, too few attestations, forged or other-epoch ones, a
    malformed file."""
    d, em = devnet, devnet.epochs
    rng = np.random.default_rng(7)
    ups = [Update(SPEC, rng.integers(-300, 300, SPEC.dim).astype(np.int32)) for _ in d.operators]
    by_op = {op.address: u for op, u in zip(d.operators, ups, strict=True)}
    e, _ = em.open_epoch(d.deployer)
    for op in d.operators:
        em.commit_update(op, e, by_op[op.address].digest)
    d.mine(1)
    em.record_seed(d.deployer, e)
    info = em.epoch(e)
    gossiped = em.all_held([op.key for op in d.operators], e)  # everyone holds everything
    victim, kept = [a.operator for a in gossiped if a.operator != info.aggregator][:2]
    posted_atts = [a for a in gossiped if a.operator in (victim, kept)]
    included = sorted(set(by_op) - {victim, kept}, key=lambda a: int(a, 16))
    agg = aggregate({a: by_op[a] for a in included}, info.seed, em.byzantine_bound(len(included)))
    inputs = em.public_inputs(e, info.seed, agg.sketches, agg.selected_mask, agg.flag_mask)
    aggregator = next(op for op in d.operators if op.address == info.aggregator)
    em.submit_result(
        aggregator, e, merkle.leaf_hashes(np.ones(em.params().model_dim, dtype=np.int32)),
        posted_atts, agg.sketches, agg.selected_mask, agg.flag_mask, keccak256(b"".join(inputs)),
    )  # fmt: skip
    assert d.chain.call(em.contract.functions.resultOperators(e)) == included
    ks = keystore(tmp_path, bytes(d.watcher.key))
    common = ["--rpc", d.anvil.url, "--epoch-manager", d.epochs.address]
    common += ["--keystore", str(ks), "--password-env", "PW"]

    def exclusion(operator: str, atts: Path) -> subprocess.CompletedProcess[str]:
        return p2pfl("challenge", "exclusion", "--epoch", str(e), "--operator", operator,
                     "--attestations", str(atts), *common)  # fmt: skip

    saved = attestfile.save(tmp_path / "node", e, gossiped)  # as a node saves them
    few = attestfile.save(tmp_path / "few", e, posted_atts)
    forged = attestfile.save(
        tmp_path / "forged",
        e,
        [a.model_copy(update={"signature": "0x" + "11" * 65}) for a in gossiped],
    )
    other_epoch = attestfile.save(
        tmp_path / "other", e, em.all_held([op.key for op in d.operators], e + 1)
    )
    broken = tmp_path / "broken.json"
    broken.write_text('[{"epoch": "one"}]')
    view = connect_chain(d.anvil.url, d.epochs.address)
    refusals = [
        (included[0], saved, "is included in the result"),
        (victim, few, "needs 3"),
        (victim, forged, "needs 3"),
        (victim, other_epoch, "needs 3"),
        ("0x1234", saved, "is not an address"),
    ]
    for operator, path, message in refusals:  # in-process: a CLI start costs seconds
        with pytest.raises(ConfigError, match=message):
            challenge_exclusion(view, d.watcher, e, operator, attestfile.load(path), print)
    bad = exclusion(victim, broken)  # the CLI's one line for a bad file
    assert bad.returncode == 2
    assert "is not a list of attestations" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert em.epoch(e).status == Status.SUBMITTED  # nothing was sent
    won = exclusion(victim, saved)
    assert won.returncode == 0, won.stderr
    assert "upheld" in won.stdout
    after = em.epoch(e)
    assert (after.status, after.attempt) == (Status.OPEN, 1)  # voided, the next aggregator's


def test_node_refuses_a_key_that_is_not_a_registered_operator(
    devnet: Devnet, tmp_path: Path
) -> None:
    ks = keystore(tmp_path, bytes(devnet.watcher.key))
    proc = p2pfl(
        "node", "--rpc", devnet.anvil.url, "--epoch-manager", devnet.epochs.address,
        "--keystore", str(ks), "--password-env", "PW", "--data-dir", str(tmp_path / "n"),
        "--listen", "/ip4/127.0.0.1/tcp/0",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "is not a registered operator" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["node", "--rpc", "http://127.0.0.1:9"], "needs --rpc URL, --epoch-manager"),
        (["status", "--rpc", "http://127.0.0.1:9", "--epoch-manager", "0x" + "00" * 20],
         "cannot reach the chain"),
        (["challenge", "watch"], "needs --rpc URL"),
        (["challenge", "exclusion", "--epoch", "1", "--operator", "0x" + "11" * 20,
          "--attestations", "/nonexistent.json"], "needs --rpc URL"),
        (["testnet", "--nodes", "4", "--malicious", "4"], "malicious and withholding"),
        (["testnet", "--attack", "nope"], "unknown attack"),
    ],
)  # fmt: skip
def test_bad_arguments_are_one_clear_line(args: list[str], message: str) -> None:
    proc = p2pfl(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_testnet_only_options_are_refused_on_a_public_chain() -> None:
    from p2pfl.errors import ConfigError
    from p2pfl.testnet.adversary import Adversary

    Adversary().check(1)  # an honest node runs anywhere
    Adversary("gaussian", frozenset({2})).check(31337)
    with pytest.raises(ConfigError, match="refused on chain 1"):
        Adversary(cheat_epochs=frozenset({2})).check(1)
    with pytest.raises(ConfigError, match="refused on chain 1"):
        Adversary("gaussian").check(1)
    with pytest.raises(ConfigError, match="unknown attack 'nope'"):
        Adversary("nope").check(31337)
