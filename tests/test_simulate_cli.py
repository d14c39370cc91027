"""``p2pfl simulate`` as a user runs it: the installed console script, real MNIST."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from p2pfl.learn.mnist import load_mnist
from p2pfl.sim.config import SimConfig
from p2pfl.sim.runner import run_rule

P2PFL = shutil.which("p2pfl") or str(Path(sys.executable).with_name("p2pfl"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [P2PFL, *args], capture_output=True, text=True, cwd=cwd, timeout=600, check=False
    )


def test_small_simulation_writes_result_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run(
        "simulate", "--clients", "7", "--byzantine", "2", "--attack", "gaussian",
        "--rule", "multikrum,fedavg", "--rounds", "3", "--samples-per-client", "400",
        "--test-samples", "1000", "--out", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "summary" in proc.stdout
    result = json.loads((out / "result.json").read_text())
    assert set(result["runs"]) == {"multikrum", "fedavg"}
    mk = result["runs"]["multikrum"]
    byz = mk["byzantine_clients"]
    assert len(byz) == 2
    assert len(mk["rounds"]) == 3
    for r in mk["rounds"]:
        assert sorted(r["flagged"]) == byz  # colluding Gaussian noise is flagged
        assert not set(r["selected"]) & set(byz)
        assert len(r["scores"]) == 7
    # Multi-Krum keeps learning, FedAvg is wrecked by the noise.
    assert mk["summary"]["final_accuracy"] > 0.7
    assert result["runs"]["fedavg"]["summary"]["final_accuracy"] < 0.3
    for png in ("accuracy.png", "scores-multikrum.png", "scores-fedavg.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--clients", "8", "--byzantine", "3", "--f", "3"], "n >= 2f + 3"),
        (["--clients", "5", "--byzantine", "5"], "fewer than clients"),
        (["--attack", "meteor"], "unknown attack"),
        (["--rule", "magic"], "unknown rule"),
        (["--partition", "zipf"], "partition"),
        (["--rho", "x/y"], "rho"),
        (["--rho", "1/2"], "rho"),
        (["--rounds", "0"], "rounds"),
        (["--clients", "ten"], "Invalid value"),
        (["--arithmetic", "double"], "arithmetic"),
    ],
)
def test_bad_arguments_get_one_clear_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run("simulate", *args, "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_mnist_is_explained(tmp_path: Path) -> None:
    proc = run("simulate", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "npm ci" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_runs_are_reproducible() -> None:
    data = load_mnist()
    config = SimConfig(
        clients=5, byzantine=1, attack="signflip", rounds=1, samples_per_client=200,
        test_samples=500, f=1,
    )  # fmt: skip
    a, b = run_rule(config, "multikrum", data), run_rule(config, "multikrum", data)
    assert a.rounds[0].scores == b.rounds[0].scores
    assert a.rounds[0].accuracy == b.rounds[0].accuracy


def test_the_fixed_point_model_learns_like_the_float_one() -> None:
    """The same seeds with the protocol's int32 model and with a float64 one: the same
    selection and nearly the same accuracy after a round (``bench.fixedpoint`` runs 10)."""
    data = load_mnist()
    config = SimConfig(clients=5, rounds=1, samples_per_client=200, test_samples=500)
    assert config.arithmetic == "fixed"
    fixed = run_rule(config, "multikrum", data)
    flt = run_rule(config.model_copy(update={"arithmetic": "float"}), "multikrum", data)
    assert fixed.rounds[0].selected == flt.rounds[0].selected
    assert abs(fixed.rounds[0].accuracy - flt.rounds[0].accuracy) <= 0.02
    assert abs(fixed.initial_accuracy - flt.initial_accuracy) <= 0.01


def test_version_and_help(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("p2pfl ")
    help_text = run("simulate", "--help", cwd=tmp_path).stdout
    assert "--byzantine" in help_text
    assert "--rule" in help_text
    assert "--arithmetic" in help_text


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_rounds(tmp_path: Path) -> None:
    """SIGINT after the first round: exit 130 and a result with that round in it."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            P2PFL, "simulate", "--clients", "5", "--rounds", "50", "--samples-per-client", "200",
            "--test-samples", "500", "--out", str(out),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
        # as from a terminal: a runner that started us in the background (`cmd &` in a
        # script) leaves SIGINT ignored, and Python then keeps ignoring it in the child
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:  # wait for the first finished round, not for a fixed time
        if "round   1" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, rest
    assert "interrupted" in rest
    result = json.loads((out / "result.json").read_text())
    assert result["interrupted"] is True
    rounds = result["runs"]["multikrum"]["rounds"]
    assert 1 <= len(rounds) < 50
