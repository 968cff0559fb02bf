"""The rankings' scores without a database (domain.analytics.scores): every value equals what
domain.measures.derive gives for the same counts (one formula, checked), the worker score, the
change since the previous period, the risers and fallers, and why a unit is behind."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import measures
from domain.analytics import scores

W = (0.4, 0.5, 0.1)
counts = st.integers(min_value=0, max_value=10_000)
weights = st.sampled_from([(0.4, 0.5, 0.1), (1.0, 0.0, 0.0), (0.2, 0.3, 0.5), (0.4, 0.3, 0.3)])


def same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


@given(counts, counts, counts, counts, weights)
def test_unit_values_are_derive_values(closed, on_time, reworked, past_due, w):
    c = {
        "closed": closed,
        "closed_on_time": on_time,
        "reworked": reworked,
        "open_past_due": past_due,
    }
    mine = scores.unit_values(c, w)
    theirs = measures.derive(c, w)
    for key in ("due_to_close", "closure_rate", "on_time_rate", "rework_rate", "composite"):
        assert same(mine[key], theirs[key].value), key


@given(counts, counts, counts, counts, counts, counts, weights)
def test_department_values_are_derive_values_over_tasks(
    dispatched, returned, finished, on_time, reworked, past_due, w
):
    c = {
        "dispatched": dispatched,
        "returned": returned,
        "finished": finished,
        "finished_on_time": on_time,
        "reworked": reworked,
        "open_past_due": past_due,
    }
    mine = scores.department_values(c, w)
    theirs = measures.derive(
        {
            "closed": finished,
            "closed_on_time": on_time,
            "reworked": reworked,
            "open_past_due": past_due,
            "dispatched": dispatched,
            "returned": returned,
        },
        w,
    )
    for key in (
        "due_to_close",
        "closure_rate",
        "on_time_rate",
        "rework_rate",
        "return_rate",
        "composite",
    ):
        assert same(mine[key], theirs[key].value), key


@given(counts, counts, counts, counts, counts, counts)
def test_worker_rates_are_derive_values(
    discovered, self_resolved, reported, rep_on_time, verify_due, verified
):
    c = {
        "discovered": discovered,
        "self_resolved": self_resolved,
        "reported": reported,
        "reported_on_time": rep_on_time,
        "verify_due": verify_due,
        "verified_on_time": verified,
    }
    mine = scores.worker_values(c, (0.4, 0.3, 0.3))
    theirs = measures.derive(c)
    for key in scores.WORKER_COMPONENTS:
        assert same(mine[key], theirs[key].value), key


def test_worker_score_weights_and_missing_parts():
    assert scores.worker_score(1.0, 0.5, 0.0, (0.4, 0.3, 0.3)) == pytest.approx(55.0)
    # Nothing due for verification: the other two weights are scaled up (0.4 + 0.3 -> 1).
    assert scores.worker_score(1.0, None, 0.0, (0.4, 0.3, 0.3)) == pytest.approx(100 * 0.4 / 0.7)
    assert scores.worker_score(None, None, None, (0.4, 0.3, 0.3)) is None
    # Only a zero-weight part defined: no score rather than a division by zero.
    assert scores.worker_score(None, None, 0.5, (0.5, 0.5, 0.0)) is None
    v = scores.worker_values(
        {
            "reported": 10,
            "reported_on_time": 9,
            "verify_due": 4,
            "verified_on_time": 2,
            "self_resolved": 10,
        },
        (0.4, 0.3, 0.3),
    )
    assert v["report_on_time_rate"] == 0.9 and v["verify_on_time_rate"] == 0.5
    assert v["self_resolution_rate"] == 0.5
    assert v["score"] == pytest.approx(100 * (0.4 * 0.9 + 0.3 * 0.5 + 0.3 * 0.5))


def row(code, rank, score, **kw):
    return {"code": code, "rank": rank, "score": score, **kw}


def test_compare_gives_places_and_points_moved():
    now = [row("a", 1, 90.0), row("b", 2, 80.0), row("c", 3, None), row("d", 4, 70.0)]
    before = {
        "a": row("a", 3, 85.0),
        "b": row("b", 1, 95.0),
        "c": row("c", 2, 88.0),
        "d": row("d", 4, None),
    }
    scores.compare(now, before)
    a, b, c, d = now
    assert (a["prev_rank"], a["rank_move"], a["score_change"]) == (3, 2, pytest.approx(5.0))
    assert (b["rank_move"], b["score_change"]) == (-1, pytest.approx(-15.0))
    # No score now, or none before: no move, no change.
    assert c["rank_move"] is None and c["score_change"] is None
    assert d["prev_rank"] is None and d["rank_move"] is None and d["score_change"] is None


def test_movers_are_the_biggest_risers_and_fallers():
    rows = [
        row(str(i), i, 50.0, rank_move=m, score_change=s)
        for i, (m, s) in enumerate(
            [
                (5, 3.0),
                (1, 0.5),
                (5, 4.0),
                (0, 0.0),
                (-2, -1.0),
                (-7, -2.0),
                (None, None),
                (3, 1.0),
                (-1, -9.0),
            ]
        )
    ]
    scores.mark_movers(rows, most=2)
    assert [r["code"] for r in rows if r["move"] == "up"] == ["0", "2"]
    assert [r["code"] for r in rows if r["move"] == "down"] == ["4", "5"]
    # At most a third of the rows are marked: three rows, one riser and one faller at most.
    few = [
        row("x", 1, 1.0, rank_move=1, score_change=1.0),
        row("y", 2, 1.0, rank_move=2, score_change=1.0),
        row("z", 3, 1.0, rank_move=-3, score_change=-1.0),
    ]
    scores.mark_movers(few)
    assert [r["move"] for r in few] == [None, "up", "down"]


def test_shortfall_is_the_largest_weighted_gap_and_reads_in_chinese():
    average = {"closure_rate": 0.95, "on_time_rate": 0.80, "rework_rate": 0.02}
    # Closure 10 points short (× 0.4 = 4) beats on-time 6 points short (× 0.5 = 3).
    r = {"closure_rate": 0.85, "on_time_rate": 0.74, "rework_rate": 0.02}
    d = scores.shortfall(r, average, scores.UNIT_COMPONENTS, W)
    assert d["key"] == "closure_rate" and d["gap"] == pytest.approx(0.10)
    assert scores.why_text(d) == "结案率 85.0%，低于平均 10.0个百分点"
    # Rework is bad when high: 30 points over (× 0.1 = 3) beats on-time 2 points (× 0.5 = 1).
    r = {"closure_rate": 0.95, "on_time_rate": 0.78, "rework_rate": 0.32}
    d = scores.shortfall(r, average, scores.UNIT_COMPONENTS, W)
    assert scores.why_text(d) == "返工率 32.0%，高于平均 30.0个百分点"
    # At or above average everywhere: nothing drags it down.
    assert scores.shortfall(average, average, scores.UNIT_COMPONENTS, W) is None
    assert scores.why_text(None) == ""


def test_behind_is_the_tail_of_the_scored_rows():
    rows = [
        row(c, i, s, due=d)
        for i, (c, s, d) in enumerate(
            [("a", 90.0, 1), ("b", 80.0, 1), ("c", 70.0, 1), ("d", 60.0, 1), ("e", None, 9)],
            start=1,
        )
    ]
    assert [r["code"] for r in scores.behind(rows, 2, "due")] == ["c", "d"]
    # Never everyone: with three scored units, at most two are behind.
    assert [r["code"] for r in scores.behind(rows[1:], 5, "due")] == ["c", "d"]
    assert scores.behind([rows[0], rows[4]], 3, "due") == []
    # Equal scores at the bottom: the one with more work due is further behind.
    tied = [
        row("p", 1, 50.0, due=3),
        row("q", 2, 10.0, due=1),
        row("r", 2, 10.0, due=7),
        row("s", 2, 10.0, due=4),
    ]
    assert [r["code"] for r in scores.behind(tied, 2, "due")] == ["s", "r"]


def test_summed_and_formula_text():
    assert scores.summed([{"closed": 2}, {"closed": 3, "reworked": 1}], ("closed", "reworked")) == {
        "closed": 5,
        "reworked": 1,
    }
    assert (
        scores.formula_zh((0.4, 0.5, 0.1))
        == "100 ×（0.4 结案率 + 0.5 按期结案率 + 0.1（1 − 返工率））"
    )
    assert scores.formula_zh((0.4, 0.3, 0.3), "worker").startswith(
        "100 ×（0.4 按时上报率 + 0.3 按时核查率 + 0.3 就地解决率）"
    )
