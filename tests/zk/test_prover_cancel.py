"""Ctrl-C during a proof: the process exits within 2 s and leaves no ``node`` or ``bb``
behind (the prover runs through ``trio.run_process`` in its own process group)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE = next(
    c
    for c in json.loads((ROOT / "tests" / "vectors" / "krum.json").read_text())["cases"]
    if c["n"] == 10 and c["k"] == 64 and c["m"] == c["n"] - c["f"]
)

SCRIPT = """
import json, sys, trio
from p2pfl.zk.circuit import build
from p2pfl.robust.sketch_krum import DEFAULT_RHO
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import prove_async

case = json.loads(sys.argv[1])
build(case["n"], case["k"])  # compiled before the signal, so only the prover runs
inputs = krum_inputs(1, bytes.fromhex(case["seed"][2:]), case["f"],
                     [[int(x) for x in r] for r in case["sketches"]],
                     case["selected"], case["flagged"], DEFAULT_RHO)

async def main():
    for _ in range(50):  # prove again and again: a signal always lands mid-proof
        await prove_async(case["n"], case["k"], inputs)

from p2pfl.cli.running import run_trio  # as `p2pfl node` runs: Ctrl-C cancels

print("proving", flush=True)
run_trio(lambda event: print(event.line(), flush=True), main)
"""


def _provers(pid: int) -> list[psutil.Process]:
    """Every live process that is the Noir/bb.js driver or a native ``bb``."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = p.info["cmdline"] or []
        if any(a.endswith("krum.mjs") or a.endswith("/bb") for a in cmd):
            out.append(p)
    return [p for p in out if p.pid != pid]


@pytest.mark.slow
def test_ctrl_c_during_a_proof_exits_at_once_and_leaves_no_prover() -> None:
    before = {p.pid for p in _provers(os.getpid())}
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, json.dumps(CASE)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "proving", (
            proc.stderr.read() if proc.stderr else ""
        )
        deadline = time.monotonic() + 60
        while not [p for p in _provers(os.getpid()) if p.pid not in before]:
            assert time.monotonic() < deadline, "the prover never started"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        time.sleep(0.3)  # inside the proof
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    assert '"event": "stopped"' in proc.stdout.read()
    assert took < 2.0, f"exit took {took:.2f} s"
    time.sleep(0.2)
    left = [p for p in _provers(os.getpid()) if p.pid not in before and p.is_running()]
    assert not left, [p.cmdline() for p in left]


@pytest.mark.trio
async def test_cancelling_the_driver_kills_its_whole_process_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The driver (bb.js in Node) starts a native ``bb`` of its own: a cancel must take
    the whole group down, not only the direct child (trio's default)."""
    import trio

    from p2pfl.zk import prover

    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    monkeypatch.setattr(prover, "_command", lambda args: (["bash", "-c", script], dict(os.environ)))
    with trio.move_on_after(5) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(prover._run_async, ["prove"], 60.0)
            while not pidfile.exists() or not pidfile.read_text().strip():
                await trio.sleep(0.02)
            started = trio.current_time()
            nursery.cancel_scope.cancel()
    assert not scope.cancelled_caught
    assert trio.current_time() - started < 1.0
    grandchild = int(pidfile.read_text())
    for _ in range(50):
        if not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie":
            break
        await trio.sleep(0.02)
    else:
        raise AssertionError(f"the driver's child {grandchild} outlived the cancel")


def test_a_timeout_raises_and_kills_the_drivers_whole_process_group(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The blocking prover's timeout (``prove``, ``check``): one clear error, and the
    driver's own child (the native ``bb`` in real runs) is gone with it. The driver is a
    script that never finishes, so the timeout always fires; the real driver under a real
    signal is the slow test above."""
    from p2pfl.zk import prover

    pidfile = tmp_path / "grandchild.pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    monkeypatch.setattr(prover, "_command", lambda args: (["bash", "-c", script], dict(os.environ)))
    with pytest.raises(prover.ProverError, match=r"did not finish within 0\.5 s"):
        prover._run(["prove"], 0.5)
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and psutil.Process(grandchild).status() != "zombie":
        assert time.monotonic() < deadline, f"the driver's child {grandchild} outlived the timeout"
        time.sleep(0.02)
