"""The big screen's 30-day trend and category mix, from the daily rollups: the coarse ones
when the scope is a whole region (queries.screen.sources), ``stat_daily`` otherwise."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import psycopg
from psycopg import sql

from ..scope import Scope
from ..window import Window
from .sources import Sources, days_list, sources_for

_TREND_SQL = sql.SQL(
    """
SELECT s.day, sum(s.created)::int, sum(s.closed)::int
  FROM {daily} AND s.day = ANY(%(days)s)
 GROUP BY s.day
"""
)

# Per major category: the category rollup's rows are per town or county and category, so they
# are summed per category first (a few hundred rows) and joined to the category table after.
_CATEGORY_MIX_SQL = sql.SQL(
    """
SELECT c.code, c.name_zh, sum(s.n)::int AS n
  FROM (SELECT s.category_code, sum(s.created) AS n
          FROM {daily} AND s.day = ANY(%(days)s)
         GROUP BY s.category_code) s
  JOIN category c ON c.code = left(s.category_code, 2)
 GROUP BY c.code, c.name_zh
HAVING sum(s.n) > 0
 ORDER BY n DESC, c.code
"""
)


def _first_day(now: datetime, tz: tzinfo, days: int) -> tuple[Window, date]:
    """The refresh's window and the first local day of the last ``days``."""
    w = Window.at(now, tz)
    return w, w.today - timedelta(days=days - 1)


def trend(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    tz: tzinfo,
    days: int = 30,
    *,
    sources: Sources | None = None,
) -> list[dict[str, Any]]:
    """One row per local day, oldest first, the last being today (partial):
    {"day": "YYYY-MM-DD", "created": n, "closed": n}; days without rows count 0."""
    if days < 1:
        raise ValueError("days must be >= 1")
    w, first = _first_day(now, tz, days)
    sources = sources or sources_for(conn, scope)
    query = _TREND_SQL.format(daily=sources.daily)
    p = sources.params(scope) | {"days": days_list(first, w.today)}
    by_day = {d: (c, k) for d, c, k in conn.execute(query, p).fetchall()}
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        created, closed = by_day.get(d, (0, 0))
        out.append({"day": d.isoformat(), "created": created, "closed": closed})
    return out


def category_mix(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    tz: tzinfo,
    days: int = 30,
    *,
    sources: Sources | None = None,
) -> list[dict[str, Any]]:
    """Tickets created in the last ``days`` local days (today included) per major category,
    largest first: [{"code": "09", "name": name in table ``category`` (editable data),
    "count": n}]."""
    w, first = _first_day(now, tz, days)
    sources = sources or sources_for(conn, scope)
    query = _CATEGORY_MIX_SQL.format(daily=sources.daily_by_category)
    p = sources.params(scope) | {"days": days_list(first, w.today)}
    rows = conn.execute(query, p).fetchall()
    return [{"code": c, "name": name, "count": n} for c, name, n in rows]
