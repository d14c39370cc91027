"""Execute and prove the Krum circuit from Python (Node driver, native bb underneath)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from p2pfl.errors import P2pflError
from p2pfl.zk.circuit import build
from p2pfl.zk.toolchain import VERIFIER_TARGET, crs_points, driver, node, prover_home


class ProverError(P2pflError):
    """The circuit refused the inputs, or the prover failed."""


@dataclass(frozen=True)
class Proof:
    proof: bytes
    public_inputs: list[int]
    execute_ms: int
    prove_ms: int


def _command(args: list[str]) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "HOME": str(prover_home()), "P2PFL_SRS_SIZE": str(crs_points() - 1)}
    return [node(), str(driver()), *args], env


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _run(args: list[str], timeout: float) -> dict[str, Any]:
    """Run the driver in its own process group: on timeout or interrupt the whole group,
    the native ``bb`` that bb.js spawns included, is killed, so nothing is left behind."""
    cmd, env = _command(args)
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,
    ) as child:  # fmt: skip
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except BaseException as exc:  # timeout, Ctrl-C: take the process group down
            _kill_group(child.pid)
            child.communicate()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise ProverError(f"the prover did not finish within {timeout:g} s") from None
            raise
    return _result(subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr))


async def _run_async(args: list[str], timeout: float) -> dict[str, Any]:
    """:func:`_run` under trio: cancellable (Ctrl-C kills the driver's whole process
    group at once, ``bb`` included) and without holding a worker thread."""
    cmd, env = _command(args)

    async def kill(proc: trio.Process) -> None:
        _kill_group(proc.pid)

    with trio.move_on_after(timeout) as scope:
        done = await trio.run_process(
            cmd, capture_stdout=True, capture_stderr=True, check=False, env=env,
            start_new_session=True, deliver_cancel=kill,
        )  # fmt: skip
    if scope.cancelled_caught:
        raise ProverError(f"the prover did not finish within {timeout:g} s")
    return _result(
        subprocess.CompletedProcess(
            done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
        )
    )


def _result(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()
        reason = message[-1] if message else f"exit code {proc.returncode}"
        if "Cannot satisfy constraint" in proc.stderr or "Circuit execution failed" in proc.stderr:
            raise ProverError(
                f"the inputs do not satisfy the Krum circuit: {proc.stderr.strip()[:600]}"
            )
        if "crs" in proc.stderr.lower() or "srs" in proc.stderr.lower():
            raise ProverError(
                f"the setup in the CRS directory is too small or unreadable: {reason}"
            )
        raise ProverError(f"the prover failed: {reason}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _write_inputs(folder: str, inputs: dict[str, Any]) -> Path:
    path = Path(folder) / "inputs.json"
    path.write_text(json.dumps(inputs))
    return path


def _with_inputs(inputs: dict[str, Any], args: list[str], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="p2pfl-zk-") as tmp:
        path = _write_inputs(tmp, inputs)
        return _run([args[0], args[1], str(path), *args[2:]], timeout)


def check(n: int, k: int, inputs: dict[str, Any], timeout: float = 120) -> int:
    """Execute the circuit (witness only): raises ProverError when a constraint fails."""
    program = build(n, k)
    return int(_with_inputs(inputs, ["execute", str(program)], timeout)["execute_ms"])


async def prove_async(n: int, k: int, inputs: dict[str, Any], timeout: float = 300) -> Proof:
    """:func:`prove` for a trio program: cancellable, leaves no process behind."""
    program = await trio.to_thread.run_sync(build, n, k, abandon_on_cancel=True)  # type: ignore[call-arg]
    with tempfile.TemporaryDirectory(prefix="p2pfl-proof-") as out:
        path = _write_inputs(out, inputs)
        res = await _run_async(["prove", str(program), str(path), out, VERIFIER_TARGET], timeout)
        return _read_proof(res, Path(out))


def _read_proof(res: dict[str, Any], out: Path) -> Proof:
    if not res.get("verified"):
        raise ProverError("the proof did not verify locally; refusing to return it")
    proof = (out / "proof.bin").read_bytes()
    publics = [int(x, 16) for x in json.loads((out / "public_inputs.json").read_text())]
    return Proof(proof, publics, int(res["execute_ms"]), int(res["prove_ms"]))


def prove(n: int, k: int, inputs: dict[str, Any], timeout: float = 300) -> Proof:
    """Prove for the EVM verifier; the proof is verified locally before it is returned."""
    program = build(n, k)
    with tempfile.TemporaryDirectory(prefix="p2pfl-proof-") as out:
        res = _with_inputs(inputs, ["prove", str(program), out, VERIFIER_TARGET], timeout)
        return _read_proof(res, Path(out))


def verification_key(program: Path, timeout: float = 120) -> bytes:
    """The verification key of a compiled program (``build`` or ``build_source``) for
    :data:`VERIFIER_TARGET`, as bb.js writes it: it commits to the constraint system
    (selectors, wiring, sizes), so two programs with the same key accept the same
    witnesses; unconstrained (Brillig) bodies do not enter it."""
    with tempfile.TemporaryDirectory(prefix="p2pfl-vk-") as out:
        path = Path(out) / "vk.bin"
        _run(["vk", str(program), VERIFIER_TARGET, str(path)], timeout)
        return path.read_bytes()
