"""The aggregator's computation and the watcher's check, without a chain."""

from __future__ import annotations

import numpy as np
import pytest

from p2pfl.errors import ConfigError
from p2pfl.learn.codec import ModelSpec, Update
from p2pfl.protocol.aggregate import aggregate, contract_order, wrong_sketches
from p2pfl.robust.sketch import sketch_many

SPEC = ModelSpec((("w", (400,)),))
SEED = bytes(range(32))


def _updates(n: int, outlier: int) -> dict[str, Update]:
    rng = np.random.default_rng(3)
    out = {}
    for i in range(n):
        scale = 1 << 22 if i == outlier else 1 << 10
        out[f"0x{(n - i) * 7919:040x}"] = Update(
            SPEC, rng.integers(-scale, scale, size=400).astype(np.int32)
        )
    return out


def test_the_outlier_is_flagged_and_left_out_and_rows_follow_the_contract_order() -> None:
    ups = _updates(7, outlier=2)
    agg = aggregate(ups, SEED, f=2)
    assert agg.operators == contract_order(list(ups))
    assert agg.operators == sorted(ups, key=lambda a: int(a, 16))
    outlier = list(ups)[2]
    assert agg.flagged_operators == [outlier]
    assert outlier not in [agg.operators[i] for i in agg.krum.selected]
    assert len(agg.krum.selected) == 5
    assert agg.sketches == sketch_many([ups[a].q for a in agg.operators], SEED, 64).tolist()
    kept = [ups[agg.operators[i]].digest for i in agg.krum.selected]
    assert [u.digest for u in agg.selected_updates(ups)] == kept
    assert agg.flag_mask == 1 << agg.operators.index(outlier)


def test_a_watcher_finds_exactly_the_rows_that_lie() -> None:
    ups = _updates(5, outlier=0)
    agg = aggregate(ups, SEED, f=1)
    posted = [list(r) for r in agg.sketches]
    assert wrong_sketches(posted, agg.operators, ups, SEED) == []
    posted[1][5] -= 1
    posted[4][0] += 3
    assert wrong_sketches(posted, agg.operators, ups, SEED) == [1, 4]
    assert wrong_sketches(agg.sketches, agg.operators, ups, bytes(32)) == list(range(5))


def test_too_few_operators_for_f_are_refused() -> None:
    with pytest.raises(ConfigError, match="2f"):
        aggregate(_updates(4, outlier=0), SEED, f=1)
