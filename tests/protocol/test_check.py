"""The watcher's check of a posted result, and the testnet's cheating aggregator."""

from __future__ import annotations

import numpy as np

from p2pfl.learn.codec import Update
from p2pfl.protocol.aggregate import aggregate
from p2pfl.protocol.chainview import PostedResult
from p2pfl.protocol.check import check_result
from p2pfl.protocol.model import GlobalModel
from p2pfl.robust.sketch_krum import DEFAULT_RHO
from p2pfl.testnet.adversary import frame_an_honest_operator

SEED = bytes(range(32))
RHO = DEFAULT_RHO
BASE = GlobalModel.genesis(0)


def _updates(n: int = 6, outlier: int = 4) -> dict[str, Update]:
    rng = np.random.default_rng(1)
    out = {}
    for i in range(n):
        scale = 1 << 18 if i == outlier else 1 << 8
        q = rng.integers(-scale, scale, BASE.spec.dim).astype(np.int32)
        out[f"0x{(i + 1) * 4099:040x}"] = Update(BASE.spec, q)
    return out


def _posted(ups: dict[str, Update], sketches: list[list[int]] | None = None) -> PostedResult:
    agg = aggregate(ups, SEED, f=1)
    model = BASE.step(agg.selected_updates(ups))
    return PostedResult(
        epoch=1,
        aggregator=agg.operators[0],
        model_digest=model.digest,
        seed=SEED,
        operators=agg.operators,
        sketches=sketches or agg.sketches,
        selected_mask=agg.selected_mask,
        flag_mask=agg.flag_mask,
        block=10,
    )


def test_an_honest_result_checks_out_and_the_model_is_rebuilt() -> None:
    ups = _updates()
    verdict = check_result(_posted(ups), ups, BASE, 64, 1, RHO)
    assert verdict.honest
    assert verdict.model is not None
    assert verdict.model.digest == _posted(ups).model_digest


def test_a_wrong_sketch_row_is_found_and_a_wrong_model_noticed() -> None:
    ups = _updates()
    honest = _posted(ups)
    rows = [list(r) for r in honest.sketches]
    rows[2][5] += 1
    verdict = check_result(_posted(ups, rows), ups, BASE, 64, 1, RHO)
    assert verdict.wrong_rows == [2]
    assert not verdict.honest
    other = PostedResult(**{**honest.__dict__, "model_digest": bytes(32)})
    verdict = check_result(other, ups, BASE, 64, 1, RHO)
    assert not verdict.wrong_rows
    assert not verdict.model_matches


def test_the_model_is_rebuilt_exactly_from_the_posted_selection() -> None:
    ups = _updates()
    posted = _posted(ups)
    verdict = check_result(posted, ups, BASE, 64, 1, RHO)
    assert verdict.model is not None
    chosen = [ups[a] for i, a in enumerate(posted.operators) if posted.selected_mask >> i & 1]
    m = len(chosen)
    total = np.sum([u.q.astype(np.int64) for u in chosen], axis=0)
    expected = np.clip(BASE.w + (2 * total + m) // (2 * m), -(2**31 - 1), 2**31 - 1)
    assert np.array_equal(verdict.model.w, expected)
    empty = PostedResult(**{**posted.__dict__, "selected_mask": 0})
    verdict = check_result(empty, ups, BASE, 64, 1, RHO)
    assert not verdict.model_matches  # no step from an empty selection; no crash


def test_the_cheat_frames_one_honest_operator_with_a_consistent_krum() -> None:
    ups = _updates()
    agg = aggregate(ups, SEED, f=1)
    me = agg.operators[0]
    lie = frame_an_honest_operator(agg, me)
    changed = [i for i in range(len(agg.operators)) if lie.sketches[i] != agg.sketches[i]]
    assert len(changed) == 1
    victim = changed[0]
    assert agg.operators[victim] != me
    assert victim not in agg.krum.flagged
    assert victim in lie.krum.flagged
    assert check_result(_posted(ups, lie.sketches), ups, BASE, 64, 1, RHO).wrong_rows == [victim]


def test_a_selection_or_flags_that_krum_does_not_give_are_noticed() -> None:
    """Right sketches, a valid-looking result, but masks Krum on those sketches does not
    give (what a circuit bug would let through): the watcher's own Krum disagrees."""
    ups = _updates()
    honest = _posted(ups)
    assert check_result(honest, ups, BASE, 64, 1, RHO).krum_matches
    n = len(honest.operators)
    dropped = next(i for i in range(n) if not honest.selected_mask >> i & 1)
    kept = next(i for i in range(n) if honest.selected_mask >> i & 1)
    swapped = honest.selected_mask ^ (1 << dropped) ^ (1 << kept)
    for forged in (
        PostedResult(**{**honest.__dict__, "selected_mask": swapped}),
        PostedResult(**{**honest.__dict__, "flag_mask": honest.flag_mask ^ (1 << kept)}),
    ):
        verdict = check_result(forged, ups, BASE, 64, 1, RHO)
        assert not verdict.wrong_rows
        assert not verdict.krum_matches
        assert not verdict.honest
