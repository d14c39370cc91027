"""The Krum circuit's size, proving time and memory per variant, and on-chain verification gas.

    .venv/bin/python -m bench.zk

For each (n, k): gates (``bb gates``), gates per (ordered pair x dimension), compile time,
witness and proving time (best of 2) and the peak RSS of the largest prover process so far
(a running maximum, so per-variant figures only grow); for (10, 64) the gas of the
generated verifier's ``verify`` on anvil (eth_estimateGas, calldata included). Variants
larger than the setup in ``$P2PFL_CRS_DIR`` (2^15 points in tests) are reported, not
proved. Goals (issue 5): n = 10, k = 64 under 2 s; at most 1.5 gates per (pair x
dimension); verification under 3 M gas.
"""

from __future__ import annotations

import json
import resource
import subprocess
import time
from typing import Any

import numpy as np
from web3 import Web3

from bench.common import write_result
from p2pfl.chain.anvil import dev_key, run_anvil
from p2pfl.chain.client import Chain, account
from p2pfl.chain.toolchain import binary
from p2pfl.robust.sketch_krum import sketch_krum
from p2pfl.zk import verifier
from p2pfl.zk.circuit import build
from p2pfl.zk.inputs import krum_inputs
from p2pfl.zk.prover import prove
from p2pfl.zk.toolchain import crs_points, prover_home

VARIANTS = [(4, 64), (8, 64), (10, 64), (16, 64), (10, 128)]


def gates(program: str) -> int:
    proc = subprocess.run(
        [str(binary("bb")), "gates", "-b", program],
        capture_output=True, text=True, check=True, env={"HOME": str(prover_home())},
    )  # fmt: skip
    text = proc.stdout
    return int(json.loads(text[text.index("{") :])["functions"][0]["circuit_size"])


def sample_inputs(n: int, k: int) -> dict[str, Any]:
    rng = np.random.default_rng(n * 1000 + k)
    s = rng.integers(-(2**30), 2**30, size=(n, k))
    f = min(3, (n - 3) // 2)
    s[:f] = rng.integers(-(2**40), 2**40, size=k)  # colluding outliers
    result = sketch_krum(s, f)
    return krum_inputs(1, bytes(32), f, s.tolist(), result.selected, result.flagged, result.rho)


def main() -> None:
    rows = []
    for n, k in VARIANTS:
        t0 = time.perf_counter()
        program = build(n, k)
        compile_s = time.perf_counter() - t0
        size = gates(str(program))
        row: dict[str, Any] = {
            "n": n,
            "k": k,
            "gates": size,
            "gates_per_pair_dim": size / (n * (n - 1) * k),
            "compile_s": compile_s,
        }
        if size >= crs_points():
            row["proved"] = f"no: {size} gates exceed the {crs_points() - 1}-point setup"
        else:
            inputs = sample_inputs(n, k)
            best = min((prove(n, k, inputs) for _ in range(2)), key=lambda p: p.prove_ms)
            row.update(
                proved=True,
                execute_ms=best.execute_ms,
                prove_ms=best.prove_ms,
                proof_bytes=len(best.proof),
                peak_rss_mb_largest_process=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                / 1024,
            )
        rows.append(row)
        print(row, flush=True)

    gas: dict[str, Any] = {}
    inputs = sample_inputs(10, 64)
    proof = prove(10, 64, inputs)
    with run_anvil(accounts=2) as anvil:
        chain = Chain(anvil.url)
        address = verifier.deploy(chain, account(dev_key(0)), 10, 64)
        contract = chain.w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=verifier.abi(10, 64)
        )
        publics = [x.to_bytes(32, "big") for x in proof.public_inputs]
        call = contract.functions.verify(proof.proof, publics)
        assert call.call() is True
        gas["verify_n10_k64_tx_estimate"] = int(call.estimate_gas())
        gas["public_inputs"] = len(publics)
    payload = {"variants": rows, "verification": gas, "setup_points": crs_points() - 1}
    print(gas)
    print(f"wrote {write_result('zk', payload)}")


if __name__ == "__main__":
    main()
