"""Every measure of DOMAIN.md §5 for a jurisdiction and period, with 环比, 同比 and a series of
12 periods: raw counts from the daily rollups, rates from ``domain.measures.derive``.

Flows (created, closed, on time, reworked …) are sums of the daily rollup over the period's days:
the per-community rollup when the scope is a whole region, stat_daily otherwise. The stock half
of 应结案数 (open past due at the period's end) comes from ``backlog``; patrol and online
minutes from the patrol rollups (``patrol``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from domain import measures
from domain.analytics.periods import Period
from domain.workflow.timeliness import STAT_COUNTS

from ..scope import Scope
from . import backlog
from .area import area_level
from .query import Query

SERIES_LENGTH = 12

_SUMS = sql.SQL(", ").join(
    sql.SQL("coalesce(sum({c}), 0)::bigint").format(c=sql.Identifier(c)) for c in STAT_COUNTS
)
# One statement for all periods: a VALUES list of day ranges joined to the rollup by day.
_FLOWS = sql.SQL(
    """
SELECT p.i, {sums}
  FROM unnest(%(i)s::int[], %(a)s::date[], %(b)s::date[]) AS p(i, a, b)
  JOIN {table} s ON s.day BETWEEN p.a AND p.b AND s.{code} LIKE %(like)s {level}
 GROUP BY p.i
"""
)


def flows(conn: psycopg.Connection, scope: Scope, periods: Sequence[Period]) -> list[dict]:
    """The stat_daily sums (STAT_COUNTS) of each period's days inside ``scope``."""
    level = area_level(conn, scope)
    query = _FLOWS.format(
        sums=_SUMS,
        table=sql.Identifier("stat_area_daily" if level else "stat_daily"),
        code=sql.Identifier("area_code" if level else "grid_code"),
        level=sql.SQL("AND s.level = {}").format(sql.Literal(level)) if level else sql.SQL(""),
    )
    params = {
        "i": list(range(len(periods))),
        "a": [p.start for p in periods],
        "b": [p.end for p in periods],
        "like": scope.like,
    }
    out = [dict.fromkeys(STAT_COUNTS, 0) for _ in periods]
    for row in conn.execute(query, params).fetchall():
        out[row[0]] = {c: int(v) for c, v in zip(STAT_COUNTS, row[1:], strict=True)}
    return out


def period_counts(conn: psycopg.Connection, q: Query, periods: Sequence[Period]) -> list[dict]:
    """The raw counts (domain.measures.COUNT_KEYS) of each period."""
    from .patrol import patrol_counts_many

    out = flows(conn, q.scope, periods)
    stock = backlog.open_past_due_totals(conn, q.scope, [p.end for p in periods], q.now, q.tz)
    patrol = patrol_counts_many(conn, q.scope, periods)
    for counts, n, pat in zip(out, stock, patrol, strict=True):
        counts["open_past_due"] = n
        counts.update(pat)
    return out


def comparison_periods(period: Period) -> tuple[list[Period], Period, Period]:
    """The 12-period series ending with ``period``, its 环比 and its 同比 periods."""
    return period.series(SERIES_LENGTH), period.previous(), period.year_ago()


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """The measures panel: one card per measure with value, numerator/denominator, 环比, 同比,
    the target and a 12-period series; plus the raw counts and a table for export."""
    series, prev, year_ago = comparison_periods(q.period)
    periods = [*series, prev, year_ago]
    counts = period_counts(conn, q, periods)
    weights = q.settings.ranking_weights
    derived = [measures.derive(c, weights) for c in counts]
    now_v, prev_v, yoy_v = derived[len(series) - 1], derived[-2], derived[-1]
    targets = q.settings.analytics_targets
    cards = []
    for key, m in measures.MEASURES.items():
        cur, before, last_year = now_v[key], prev_v[key], yoy_v[key]
        cards.append(
            {
                "key": key,
                "name": m.name_zh,
                "formula": m.formula_zh,
                "kind": m.kind,
                "higher_is_better": m.higher_is_better,
                "value": cur.value,
                "numerator": cur.numerator,
                "denominator": cur.denominator,
                "previous": before.value,
                "year_ago": last_year.value,
                "mom": measures.change(cur.value, before.value, m.kind),
                "yoy": measures.change(cur.value, last_year.value, m.kind),
                "target": targets.get(key),
                "series": [
                    {"period": p.key, "label": p.short_zh, "value": d[key].value}
                    for p, d in zip(series, derived, strict=False)
                ],
            }
        )
    current = counts[len(series) - 1]
    return {
        "period": q.period.key,
        "label": q.period.label_zh,
        "previous": {"key": prev.key, "label": prev.label_zh},
        "year_ago": {"key": year_ago.key, "label": year_ago.label_zh},
        "counts": current,
        "previous_counts": counts[-2],
        "year_ago_counts": counts[-1],
        "cards": cards,
        "tables": {"measures": _table(cards, q.period, prev, year_ago)},
    }


def _table(cards: list[dict], period: Period, prev: Period, year_ago: Period) -> dict:
    rows = [
        [
            c["name"],
            c["value"],
            c["numerator"] if c["denominator"] is not None else None,
            c["denominator"],
            c["previous"],
            c["mom"],
            c["year_ago"],
            c["yoy"],
            c["target"],
            c["formula"],
            c["kind"],
        ]
        for c in cards
    ]
    return {
        "title": f"主要指标（{period.label_zh}）",
        "columns": [
            ["name", "指标"],
            ["value", "本期"],
            ["numerator", "分子"],
            ["denominator", "分母"],
            ["previous", f"上期（{prev.label_zh}）"],
            ["mom", "环比"],
            ["year_ago", f"去年同期（{year_ago.label_zh}）"],
            ["yoy", "同比"],
            ["target", "目标"],
            ["formula", "口径"],
            ["kind", "类型"],
        ],
        "rows": rows,
    }
