"""Count, facets, chart series, the hour × weekday pattern and the per-grid counts of one
workbench view, in one statement.

One pass over the filtered tickets with GROUPING SETS: the planner hashes every set in the same
scan of ``ticket_explore_cover`` (an index-only scan over the period's partitions), so adding a
facet adds a hash table, not a scan. Facets count within the whole filter state, their own
filter included, as Datasette does: the numbers beside a value are the tickets the view shows
with that value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg import sql

from queries.explore.where import CLOCK_SQL, View, where

# (name, expression over ticket t). The order is the order of GROUPING()'s bits.
_DIMENSIONS: tuple[tuple[str, sql.SQL], ...] = (
    ("state", sql.SQL("t.state")),
    ("stage", sql.SQL("t.stage")),
    ("source", sql.SQL("t.source")),
    ("urgency", sql.SQL("t.urgency")),
    ("clock", CLOCK_SQL),
    ("sup", sql.SQL("t.supervision")),
    ("reworked", sql.SQL("(t.rework_count > 0)")),
    ("returned", sql.SQL("(t.return_count > 0)")),
    ("dept", sql.SQL("t.lead_department_id")),
    ("cat", sql.SQL("t.category_code")),
    ("stype", sql.SQL("t.source_type")),
    ("grid", sql.SQL("t.grid_code")),
    # Quarter-hour buckets in UTC: the local day, weekday and hour of every bucket are worked
    # out in Python (every time zone's offset is a multiple of 15 minutes), which keeps time
    # zone arithmetic out of the per-ticket work and three grouping sets down to one.
    ("q15", sql.SQL("date_bin('15 minutes', {basis}, timestamptz '2000-01-01 00:00+00')")),
)
NAMES = tuple(n for n, _ in _DIMENSIONS)
_SETS = [(), *[(n,) for n in NAMES]]
# Spans longer than this are charted per ISO week instead of per day.
WEEKLY_AFTER_DAYS = 92


@dataclass
class Summary:
    total: int = 0
    facets: dict[str, dict[Any, int]] = field(default_factory=dict)
    series: list[tuple[date, int]] = field(default_factory=list)  # per day or per week
    weekly: bool = False
    pattern: dict[tuple[int, int], int] = field(default_factory=dict)  # (isodow, hour) -> n
    grids: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "facets": {k: [[v, n] for v, n in d.items()] for k, d in self.facets.items()},
            "series": [[d.isoformat(), n] for d, n in self.series],
            "weekly": self.weekly,
            "pattern": [[d, h, n] for (d, h), n in self.pattern.items()],
            "grids": self.grids,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Summary:
        return cls(
            total=d["total"],
            facets={k: {v: n for v, n in pairs} for k, pairs in d["facets"].items()},
            series=[(date.fromisoformat(x), n) for x, n in d["series"]],
            weekly=d["weekly"],
            pattern={(dw, h): n for dw, h, n in d["pattern"]},
            grids=d["grids"],
        )


def statement(view: View) -> tuple[sql.Composed, dict[str, Any]]:
    """The one statement of ``summary`` and its parameters."""
    clause, params = where(view)
    basis = sql.SQL("t.closed_at" if view.filters.basis == "closed" else "t.created_at")
    cols = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(
            expr.format(basis=basis) if name == "q15" else expr, sql.Identifier(name)
        )
        for name, expr in _DIMENSIONS
    )
    sets = sql.SQL(", ").join(
        sql.SQL("({})").format(sql.SQL(", ").join(sql.Identifier(n) for n in s)) for s in _SETS
    )
    names = sql.SQL(", ").join(sql.Identifier(n) for n in NAMES)
    query = sql.SQL(
        "SELECT GROUPING({names}) AS g, {names}, count(*) AS n"
        " FROM (SELECT {cols} FROM ticket t WHERE {where}) f"
        " GROUP BY GROUPING SETS ({sets})"
    ).format(names=names, cols=cols, where=clause, sets=sets)
    return query, params


def summary(conn: psycopg.Connection, view: View) -> Summary:
    """The counts of ``view`` (see the module docstring)."""
    query, params = statement(view)
    out = Summary(facets={n: {} for n in NAMES if n not in ("q15", "grid")})
    days: dict[date, int] = {}
    width = len(NAMES)
    for row in conn.execute(query, params):
        g, values, n = row[0], row[1 : 1 + width], int(row[-1])
        grouped = [i for i in range(width) if not (g >> (width - 1 - i)) & 1]
        if not grouped:
            out.total = n
            continue
        name = NAMES[grouped[0]]
        value = values[grouped[0]]
        if name == "q15":
            if value is None:
                continue
            local = value.astimezone(view.tz)
            days[local.date()] = days.get(local.date(), 0) + n
            key = (local.isoweekday(), local.hour)
            out.pattern[key] = out.pattern.get(key, 0) + n
        elif name == "grid":
            out.grids[value] = n
        else:
            out.facets[name][value] = n
    out.series, out.weekly = day_series(days, view.first_day, view.last_day)
    return out


def day_series(
    days: dict[date, int], first: date, last: date
) -> tuple[list[tuple[date, int]], bool]:
    """Every day of [first, last] with its count (0 where none), or per ISO week (Monday) when
    the span is longer than WEEKLY_AFTER_DAYS."""
    span = (last - first).days + 1
    if span <= WEEKLY_AFTER_DAYS:
        return [
            (first + timedelta(d), days.get(first + timedelta(d), 0)) for d in range(span)
        ], False
    weeks: dict[date, int] = {}
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        weeks[monday] = 0
        monday += timedelta(days=7)
    for d, n in days.items():
        weeks[d - timedelta(days=d.weekday())] = weeks.get(d - timedelta(days=d.weekday()), 0) + n
    return sorted(weeks.items()), True
