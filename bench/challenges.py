"""Gas and calldata of protocol v2's challenge transactions (``ResultChallenges``) for
the CNN (46,730 parameters, 4 chunks of which 3 hold entries), against v1's single
``challengeSketch`` in the same run, and the 128 KB public-mempool limit.

    .venv/bin/python -m bench.challenges

Runs the gas tests of ``contracts/test/ResultChallenges.t.sol`` and
``CountSketchGas.t.sol`` with forge and reads the figures they log: execution gas of the
external call (calldata decoding included, the 21 k base and calldata gas not) and the
calldata bytes. The model challenge is measured on a depth-2 tree at m = 8; its calldata
at the CNN's depth 10 adds 8 hashes to each of its m + 2 proofs. v1's challenge carries
the whole update (4·d bytes) and recomputes the whole sketch.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench.common import write_result

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = ROOT / "contracts"
FORGE = ROOT / "node_modules" / ".bin" / "forge"
D = 46_730
MEMPOOL_LIMIT = 128 * 1024
TX_GAS_CAP = 1 << 24  # EIP-7825's per-transaction cap
LOG = re.compile(r"^(?P<what>[^:]+): gas (?P<gas>\d+) calldata bytes (?P<bytes>\d+)$")


def forge_logs(path: str, match: str) -> list[str]:
    out = subprocess.run(
        [str(FORGE), "test", "--match-path", path, "--match-test", match, "--json", "-vv"],
        cwd=CONTRACTS,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    logs: list[str] = []
    for suite in json.loads(out).values():
        for result in suite["test_results"].values():
            if result["status"] != "Success":
                raise SystemExit(f"bench.challenges: a gas test failed in {path}")
            logs.extend(result["decoded_logs"])
    return logs


def measured(logs: list[str]) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for line in logs:
        m = LOG.match(line.strip())
        if m:
            found[m["what"]] = {"gas": int(m["gas"]), "calldata_bytes": int(m["bytes"])}
    return found


def main() -> None:
    logs = forge_logs("test/ResultChallenges.t.sol", "gasAndCalldata|ChunkByChunk|SlashesItsOwner")
    got = measured(logs)
    model = got["challengeModel, m = 8, depth 2"]
    depth10 = next(int(x.split(":")[1]) for x in logs if x.startswith("calldata at depth 10"))
    sketch_v1 = next(
        int(x.split(":")[1])
        for x in forge_logs("test/CountSketchGas.t.sol", "gasOf")
        if "sketch gas" in x
    )
    open_ = got["openSketchChallenge"]
    chunk = got["proveChunk"]
    live_chunks = 3
    v2_total = open_["gas"] + live_chunks * chunk["gas"]
    payload: dict[str, Any] = {
        "d": D,
        "mempool_limit_bytes": MEMPOOL_LIMIT,
        "v2": {
            "challengeModel_m8": {**model, "calldata_bytes_depth10": depth10},
            "openSketchChallenge": open_,
            "proveChunk": chunk,
            "proveNormChunk": got["proveNormChunk"],
            "sketch_challenge_total": {"transactions": 1 + live_chunks, "gas": v2_total},
        },
        "v1": {
            "challengeSketch": {"calldata_bytes": 4 * D, "sketch_gas": sketch_v1},
        },
        "every_v2_tx_under_mempool_limit": max(
            depth10,
            open_["calldata_bytes"],
            chunk["calldata_bytes"],
            got["proveNormChunk"]["calldata_bytes"],
        )
        < MEMPOOL_LIMIT,
        "every_v2_tx_under_10M_gas": max(
            model["gas"], open_["gas"], chunk["gas"], got["proveNormChunk"]["gas"]
        )
        < 10_000_000,
        "ratio_largest_v2_calldata_to_v1": round(chunk["calldata_bytes"] / (4 * D), 3),
    }
    path = write_result("challenges", payload)
    print(json.dumps(payload, indent=1))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
