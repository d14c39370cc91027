"""The Merkle root of a CNN-size update against v1's flat keccak, in the same process.

    .venv/bin/python -m bench.merkle

One random 46,730-entry int32 update (the CNN's d: 731 leaves, D = 10). Each figure is
the median of 20 calls, the calls of the compared functions interleaved so that load on
the machine hits them alike: ``merkle.root`` (one ``p2pfl.hashing.keccak256`` per hash),
the flat ``keccak256`` over the same bytes (v1's digest), a leaf proof and a chunk proof
(each rebuilds the tree). Goal (issue 14): root under 30 ms.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import write_result
from p2pfl import merkle
from p2pfl.hashing import keccak256

D_CNN = 46_730
RUNS = 20


def main() -> None:
    rng = np.random.default_rng(14)
    q = rng.integers(-(2**31) + 1, 2**31, size=D_CNN, dtype=np.int64).astype(np.int32)
    raw = q.astype("<i4").tobytes()
    calls: dict[str, Callable[[], Any]] = {
        "root_ms": lambda: merkle.root(q),
        "flat_keccak_ms": lambda: keccak256(raw),
        "leaf_proof_ms": lambda: merkle.leaf_proof(q, 730),
        "chunk_proof_ms": lambda: merkle.chunk_proof(q, 2),
    }
    times: dict[str, list[float]] = {k: [] for k in calls}
    for _ in range(RUNS):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    best = {k: round(min(v), 3) for k, v in times.items()}
    result = {
        "d": D_CNN,
        "leaves": merkle.leaf_count(D_CNN),
        "depth": merkle.depth(D_CNN),
        "keccak_calls": len(merkle.tree(q)[0]) + sum(len(lv) for lv in merkle.tree(q)[1:]),
        "runs": RUNS,
        "median": med,
        "best": best,
        "root_to_flat_ratio": round(med["root_ms"] / med["flat_keccak_ms"], 1),
        "goal_root_under_30_ms": med["root_ms"] < 30,
    }
    path = write_result("merkle", result)
    for k, v in result.items():
        print(f"{k}: {v}")
    print(path)


if __name__ == "__main__":
    main()
