"""Aggregation speed: our Krum / Multi-Krum against Flower's and ByzFL's, same inputs.

    bash bench/setup.sh                               # once: .venv-bench with flwr, byzfl
    .venv-bench/bin/python -m bench.aggregation       # n in {10, 50, 100}, d in {47k, 1.2M}
    .venv-bench/bin/python -m bench.aggregation --quick

Every implementation gets the same float32 updates (n - f clustered honest ones, f
outliers, f = n // 5) in its own input form: Flower a list of per-layer arrays (its
flattening is timed, it is part of its algorithm), ByzFL and ours one (n, d) numpy
matrix (its documented input; ours takes the same). Every call is timed the same way:
the best of up to 20 runs within a 2 s budget (at least one run); the figures
are ratios ``peer / ours`` measured in the same process. Selections are compared:
Flower uses the n - f - 2 nearest, as we do; ByzFL uses n - f - 1, so for ByzFL our rule
runs with ``nearest = n - f - 1`` as well. Also timed: the protocol's own path (CountSketch
plan and sketches of all updates, exact-integer Krum on them).
Goal (issue): 10x faster than Flower at n = 50.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.common import write_result
from bench.peers import byzfl_aggregators, flower_aggregate
from p2pfl.learn.codec import quantize
from p2pfl.robust.krum import Krum
from p2pfl.robust.multikrum import MultiKrum
from p2pfl.robust.sketch import count_sketch, sketch_plan
from p2pfl.robust.sketch_krum import sketch_krum

LAYERS_47K = [400, 16, 12_800, 32, 32_768, 64, 640, 10]  # the CNN's layer sizes (46,730)


def layer_sizes(d: int) -> list[int]:
    if d == sum(LAYERS_47K):
        return LAYERS_47K
    parts = [d // 4] * 3
    return [*parts, d - sum(parts)]


def make_inputs(n: int, d: int, seed: int) -> tuple[list[np.ndarray], int]:
    f = n // 5
    rng = np.random.default_rng(seed)
    center = rng.normal(0, 0.01, size=d).astype(np.float32)
    rows = [center + rng.normal(0, 0.002, size=d).astype(np.float32) for _ in range(n - f)]
    rows += [rng.normal(0, 0.05, size=d).astype(np.float32) for _ in range(f)]
    order = rng.permutation(n)
    return [rows[i] for i in order], f


def best_of(fn: Callable[[], Any], budget: float = 2.0, max_reps: int = 20) -> tuple[float, Any]:
    """Best wall time of up to ``max_reps`` calls, stopping once ``budget`` seconds are used."""
    best, out, spent = float("inf"), None, 0.0
    for _ in range(max_reps):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent > budget:
            break
    return best, out


def index_of(rows: list[np.ndarray], vector: np.ndarray) -> int:
    hits = [i for i, r in enumerate(rows) if np.array_equal(r, vector)]
    return hits[0] if hits else -1


def one_case(n: int, d: int, seed: int) -> dict[str, Any]:
    rows, f = make_inputs(n, d, seed)
    m = n - f
    sizes = layer_sizes(d)
    cuts = np.cumsum(sizes)[:-1]
    flower_in = [(list(np.split(r, cuts)), 1) for r in rows]
    matrix = np.stack(rows)
    flower = flower_aggregate()
    byz = byzfl_aggregators()
    res: dict[str, Any] = {"n": n, "d": d, "f": f, "m": m}

    t_k, ours_k = best_of(lambda: Krum(f)(matrix))
    t_mk, ours_mk = best_of(lambda: MultiKrum(f)(matrix))
    res["ours"] = {"krum_s": t_k, "multikrum_s": t_mk}

    t_fk, fl_k = best_of(lambda: flower.aggregate_krum(flower_in, f, 0))
    t_fmk, fl_mk = best_of(lambda: flower.aggregate_krum(flower_in, f, m))
    fl_k_index = index_of(rows, np.concatenate(fl_k))
    res["flower"] = {
        "krum_s": t_fk,
        "multikrum_s": t_fmk,
        "krum_ratio": t_fk / t_k,
        "multikrum_ratio": t_fmk / t_mk,
        "krum_selection_agrees": ours_k.selected == (fl_k_index,),
        "multikrum_mean_agrees": bool(
            np.allclose(np.concatenate(fl_mk), ours_mk.vector, rtol=1e-4, atol=1e-7)
        ),
    }

    nearest = n - f - 1
    t_bk, b_k = best_of(lambda: byz.Krum(f)(matrix))
    t_bmk, b_mk = best_of(lambda: byz.MultiKrum(f)(matrix))
    ours_k1 = Krum(f, nearest=nearest)(matrix)
    ours_mk1 = MultiKrum(f, nearest=nearest)(matrix)
    res["byzfl"] = {
        "krum_s": t_bk,
        "multikrum_s": t_bmk,
        "krum_ratio": t_bk / t_k,
        "multikrum_ratio": t_bmk / t_mk,
        "nearest": nearest,
        "krum_selection_agrees": ours_k1.selected == (index_of(rows, b_k),),
        "multikrum_mean_agrees": bool(np.allclose(b_mk, ours_mk1.vector, rtol=1e-4, atol=1e-7)),
    }

    # The protocol's path: quantize, sketch (plan once per epoch), exact-integer Krum.
    qs = [quantize(r) for r in rows]
    seed32 = bytes(range(32))
    sketch_plan.cache_clear()
    t0 = time.perf_counter()
    plan = sketch_plan(seed32, d)
    t_plan = time.perf_counter() - t0
    t_sk, sketches = best_of(lambda: np.stack([count_sketch(q, plan) for q in qs]))
    t_kr, proto = best_of(lambda: sketch_krum(sketches, f))
    honest_rows = {i for i, r in enumerate(rows) if float(np.abs(r).max()) < 0.1}
    res["protocol"] = {
        "plan_s": t_plan,
        "sketch_all_s": t_sk,
        "exact_krum_s": t_kr,
        "selected_all_honest": set(proto.selected) <= honest_rows,
        "flagged": proto.flagged,
    }
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="n in {10, 20}, d = 47k only")
    args = parser.parse_args()
    ns = [10, 20] if args.quick else [10, 50, 100]
    ds = [46_730] if args.quick else [46_730, 1_200_000]
    cases = []
    for d in ds:
        for n in ns:
            print(f"n={n} d={d} ...", flush=True)
            case = one_case(n, d, seed=n * 7 + d)
            cases.append(case)
            fl, bz = case["flower"], case["byzfl"]
            print(
                f"  ours krum {case['ours']['krum_s'] * 1e3:.1f} ms, multikrum "
                f"{case['ours']['multikrum_s'] * 1e3:.1f} ms | flower x{fl['krum_ratio']:.1f} / "
                f"x{fl['multikrum_ratio']:.1f} agree={fl['krum_selection_agrees']},"
                f"{fl['multikrum_mean_agrees']} | byzfl x{bz['krum_ratio']:.1f} / "
                f"x{bz['multikrum_ratio']:.1f} agree={bz['krum_selection_agrees']},"
                f"{bz['multikrum_mean_agrees']}",
                flush=True,
            )
    at50 = [c for c in cases if c["n"] == 50]
    goal = {
        "flower_ratio_at_n50_min": min(
            (c["flower"]["multikrum_ratio"] for c in at50), default=None
        ),
        "goal": 10.0,
    }
    goal["met"] = (
        goal["flower_ratio_at_n50_min"] is not None and goal["flower_ratio_at_n50_min"] >= 10
    )
    path = write_result(
        "aggregation-quick" if args.quick else "aggregation", {"cases": cases, "goal": goal}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
