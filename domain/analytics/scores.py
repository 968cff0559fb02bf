"""Rankings of the leadership page (issue #12): the score of each unit, its change since the
previous period, the biggest risers and fallers, and why the units furthest behind are behind.

Pure functions over raw counts. Every rate is a formula of ``domain.measures`` (its one-formula
functions; the unit tests check each value equals ``measures.derive``'s):

- territorial units (towns, communities, grids) by the composite score 综合指标值 over their
  tickets (``settings.ranking_weights``);
- departments by the same composite over their tasks: a finished task counts as closed, a task
  open past its due time at the period's end as open past due (ZJ 33: timeliness per task), and
  退回率 = returned / dispatched is shown beside it;
- grid workers by ``worker_score`` over the measures a worker answers for (按时上报率,
  按时核查率, 就地解决率, ``settings.worker_ranking_weights``).

Ties by on-time rate (``queries.screen.ranking.rank_rows`` ranks; it is reused, not copied).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from domain import measures
from domain.analytics.formatting import fmt_magnitude, fmt_value

# The counts each kind of unit is ranked from (all summed over the period, except the stock
# open_past_due, taken at the period's end).
UNIT_COUNTS: tuple[str, ...] = ("closed", "closed_on_time", "reworked", "open_past_due")
DEPARTMENT_COUNTS: tuple[str, ...] = (
    "dispatched",
    "returned",
    "finished",
    "finished_on_time",
    "reworked",
    "open_past_due",
)
WORKER_COUNTS: tuple[str, ...] = (
    "discovered",
    "self_resolved",
    "reported",
    "reported_on_time",
    "verify_due",
    "verified_on_time",
)
# The components of each kind of score, in the order of their weights in the settings.
UNIT_COMPONENTS: tuple[str, ...] = ("closure_rate", "on_time_rate", "rework_rate")
WORKER_COMPONENTS: tuple[str, ...] = (
    "report_on_time_rate",
    "verify_on_time_rate",
    "self_resolution_rate",
)

Weights = tuple[float, float, float]


def unit_values(counts: Mapping[str, int], weights: Weights) -> dict[str, float | None]:
    """due_to_close, closure_rate, on_time_rate, rework_rate and composite (0–100) of a
    territorial unit from its counts (UNIT_COUNTS)."""
    closed, past_due = counts.get("closed") or 0, counts.get("open_past_due") or 0
    # measures' one-formula functions, not derive(): derive builds every measure (~40 µs a
    # call, seconds for the city's 11,000 grids and 26,000 workers over two periods);
    # tests/unit/test_analytics_scores.py checks these values equal derive()'s.
    closure = measures.closure_rate(closed, past_due)
    on_time = measures.on_time_rate(counts.get("closed_on_time") or 0, closed, past_due)
    rework = measures.rate(counts.get("reworked") or 0, closed)
    return {
        "due_to_close": float(closed + past_due),
        "closure_rate": closure,
        "on_time_rate": on_time,
        "rework_rate": rework,
        "composite": measures.composite_score(closure, on_time, rework, weights),
    }


def department_values(counts: Mapping[str, int], weights: Weights) -> dict[str, float | None]:
    """A department's measures over its tasks (DEPARTMENT_COUNTS): the composite of
    ``unit_values`` with finished tasks as closed, plus return_rate (returned / dispatched)."""
    out = unit_values(
        {
            "closed": counts.get("finished") or 0,
            "closed_on_time": counts.get("finished_on_time") or 0,
            "reworked": counts.get("reworked") or 0,
            "open_past_due": counts.get("open_past_due") or 0,
        },
        weights,
    )
    out["return_rate"] = measures.rate(counts.get("returned") or 0, counts.get("dispatched") or 0)
    return out


def worker_score(
    report_on_time: float | None,
    verify_on_time: float | None,
    self_resolution: float | None,
    weights: Weights,
) -> float | None:
    """A grid worker's score on 0–100: 100 × the weighted mean of 按时上报率, 按时核查率 and
    就地解决率. A rate that is undefined (nothing reported, nothing due for verification) is
    left out and the other weights are scaled up, so a worker is not ranked down for work that
    never came; None when all three are undefined."""
    parts = [
        (w, r)
        for w, r in zip(weights, (report_on_time, verify_on_time, self_resolution), strict=True)
        if r is not None
    ]
    total = sum(w for w, _ in parts)
    if not parts or total <= 0:
        return None
    return 100.0 * sum(w * r for w, r in parts) / total


def worker_values(counts: Mapping[str, int], weights: Weights) -> dict[str, float | None]:
    """A worker's three rates (WORKER_COMPONENTS) and ``score`` from WORKER_COUNTS (the
    formulas of measures.derive, checked equal to it by the unit tests)."""
    reported, self_resolved = counts.get("reported") or 0, counts.get("self_resolved") or 0
    out: dict[str, float | None] = {
        "report_on_time_rate": measures.rate(counts.get("reported_on_time") or 0, reported),
        "verify_on_time_rate": measures.rate(
            counts.get("verified_on_time") or 0, counts.get("verify_due") or 0
        ),
        "self_resolution_rate": measures.rate(self_resolved, self_resolved + reported),
    }
    out["score"] = worker_score(
        out["report_on_time_rate"], out["verify_on_time_rate"], out["self_resolution_rate"], weights
    )
    return out


def summed(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> dict[str, int]:
    """The counts ``keys`` summed over ``rows`` (the pooled counts of a whole level)."""
    return {k: sum(r.get(k) or 0 for r in rows) for k in keys}


def compare(current: list[dict[str, Any]], previous: Mapping[str, Mapping[str, Any]]) -> None:
    """Adds to each ranked row of ``current`` its previous rank and score (``previous`` by
    code: rows with "rank" and "score"), rank_move (positive: rose that many places) and
    score_change (score points); None where either period has no score."""
    for r in current:
        before = previous.get(r["code"])
        prev_rank = before["rank"] if before and before["score"] is not None else None
        r["prev_rank"] = prev_rank
        r["prev_score"] = before["score"] if before else None
        scored = r["score"] is not None and prev_rank is not None
        r["rank_move"] = prev_rank - r["rank"] if scored else None
        r["score_change"] = measures.change(r["score"], r["prev_score"], "score")


def mark_movers(rows: list[dict[str, Any]], most: int = 3) -> None:
    """Sets "move" to "up" on the biggest risers and "down" on the biggest fallers (by places,
    then by score change), at most ``most`` each and at most a third of the rows; None on the
    others."""
    for r in rows:
        r["move"] = None
    k = min(most, len(rows) // 3)
    if k <= 0:
        return

    def size(r: dict[str, Any]) -> tuple[int, float]:
        return abs(r["rank_move"]), abs(r["score_change"] or 0.0)

    up = heapq.nlargest(k, (r for r in rows if (r.get("rank_move") or 0) > 0), key=size)
    down = heapq.nlargest(k, (r for r in rows if (r.get("rank_move") or 0) < 0), key=size)
    for r in up:
        r["move"] = "up"
    for r in down:
        r["move"] = "down"


def shortfall(
    row: Mapping[str, Any],
    average: Mapping[str, Any],
    components: Sequence[str],
    weights: Weights,
) -> dict[str, Any] | None:
    """The component that drags ``row``'s score down most against the level's ``average``:
    the largest weighted shortfall (for a rate where lower is better, the excess). Returns
    {"key", "value", "average", "gap"} (gap > 0, in rate units) or None when the row is at or
    above the average on every component."""
    worst: tuple[float, str, float, float] | None = None
    for key, w in zip(components, weights, strict=True):
        mine, avg = row.get(key), average.get(key)
        if mine is None or avg is None:
            continue
        gap = (avg - mine) if measures.MEASURES[key].higher_is_better else (mine - avg)
        if gap > 0 and (worst is None or gap * w > worst[0]):
            worst = (gap * w, key, mine, avg)
    if worst is None:
        return None
    _, key, mine, avg = worst
    return {"key": key, "value": mine, "average": avg, "gap": abs(mine - avg)}


def why_text(drag: Mapping[str, Any] | None) -> str:
    """'按期结案率 62.0%，低于平均 18.0个百分点' for a shortfall, '' for None."""
    if not drag:
        return ""
    m = measures.MEASURES[drag["key"]]
    word = "低于" if m.higher_is_better else "高于"
    return (
        f"{m.name_zh} {fmt_value(m.kind, drag['value'])}，{word}平均 "
        f"{fmt_magnitude(m.kind, drag['gap'])}"
    )


def behind(rows: Sequence[dict[str, Any]], n: int, volume: str) -> list[dict[str, Any]]:
    """The ``n`` rows furthest behind, best of them first (rows are ranked best first): the
    lowest scores, and among equal scores the larger ``volume`` (more work behind, e.g. more
    tickets due); none when fewer than two rows have a score (a unit is not behind itself)."""
    scored = [r for r in rows if r["score"] is not None]
    if len(scored) < 2:
        return []
    worst = sorted(scored, key=lambda r: (r["score"], -(r.get(volume) or 0)))
    return worst[: min(n, len(scored) - 1)][::-1]


def formula_zh(weights: Weights, kind: str = "unit") -> str:
    """The score's formula with the configured weights, as the page and the report show it."""
    a, b, c = (f"{w:g}" for w in weights)
    if kind == "worker":
        return (
            f"100 ×（{a} 按时上报率 + {b} 按时核查率 + {c} 就地解决率）；"
            "无数据的分项不计，其余权重按比例放大"
        )
    return f"100 ×（{a} 结案率 + {b} 按期结案率 + {c}（1 − 返工率））"
