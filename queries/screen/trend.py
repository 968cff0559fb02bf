"""The big screen's 30-day trend and category mix, from the ``stat_daily`` rollups."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

import psycopg

from ..scope import Scope
from ..window import Window

_TREND_SQL = """
SELECT day, sum(created)::int, sum(closed)::int
  FROM stat_daily
 WHERE day BETWEEN %(first)s AND %(today)s AND grid_code LIKE %(like)s
 GROUP BY day
"""

_CATEGORY_MIX_SQL = """
SELECT c.code, c.name_zh, sum(s.created)::int AS n
  FROM stat_daily s
  JOIN category c ON c.code = left(s.category_code, 2)
 WHERE s.day BETWEEN %(first)s AND %(today)s AND s.grid_code LIKE %(like)s
 GROUP BY c.code, c.name_zh
HAVING sum(s.created) > 0
 ORDER BY n DESC, c.code
"""


def trend(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo, days: int = 30
) -> list[dict[str, Any]]:
    """One row per local day, oldest first, the last being today (partial):
    {"day": "YYYY-MM-DD", "created": n, "closed": n}; days without rows count 0."""
    if days < 1:
        raise ValueError("days must be >= 1")
    w = Window.at(now, tz)
    first = w.today - timedelta(days=days - 1)
    rows = conn.execute(
        _TREND_SQL, {"like": scope.like, "first": first, "today": w.today}
    ).fetchall()
    by_day = {d: (c, k) for d, c, k in rows}
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        created, closed = by_day.get(d, (0, 0))
        out.append({"day": d.isoformat(), "created": created, "closed": closed})
    return out


def category_mix(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo, days: int = 30
) -> list[dict[str, Any]]:
    """Tickets created in the last ``days`` local days (today included) per major category,
    largest first: [{"code": "09", "name": name in table ``category`` (editable data),
    "count": n}]."""
    w = Window.at(now, tz)
    first = w.today - timedelta(days=days - 1)
    rows = conn.execute(
        _CATEGORY_MIX_SQL, {"like": scope.like, "first": first, "today": w.today}
    ).fetchall()
    return [{"code": c, "name": name, "count": n} for c, name, n in rows]
