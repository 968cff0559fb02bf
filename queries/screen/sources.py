"""Which daily rollup answers the screen's day-based counts for a scope.

A scope equal to a city, county or town code (or the whole database) covers whole towns, and a
community scope covers whole communities, so the coarse rollups kept from ``stat_daily`` by
triggers (migration 0008_analytics_area.sql) give the same sums as ``stat_daily`` over ~70
rows a day instead of ~19,000 (the large demo's city): ``stat_area_daily`` per town or
community, ``stat_area_category_daily`` per county or town and category. A grid unknown to the
grid table counts there under its own code, so prefix scoping still holds. Finer scopes (a
grid, a prefix that is no region) read ``stat_daily``. The choice is the leadership page's
(``queries.analytics.area``), made once per refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql

from ..analytics.area import area_level, category_level
from ..scope import Scope

# The rows of the scope in each source, aliased ``s``; %(like)s is the scope's pattern and
# %(area_level)s / %(category_level)s the rollup level (bound by ``params``). Callers add their
# days as ``s.day = ANY(%(days)s)``, not a range: the rollups' keys put the level and the code
# after the day, so a list of days is one narrow index probe per day where a range walks
# every level and area of each day (a town's 30 days of categories: 2 ms instead of 17).
_FINE = sql.SQL("stat_daily s WHERE s.grid_code LIKE %(like)s")
_AREA = sql.SQL("stat_area_daily s WHERE s.level = %(area_level)s AND s.area_code LIKE %(like)s")
_AREA_CATEGORY = sql.SQL(
    "stat_area_category_daily s WHERE s.level = %(category_level)s AND s.area_code LIKE %(like)s"
)


@dataclass(frozen=True)
class Sources:
    """The rollup levels answering one scope exactly: ``area`` ('town' | 'community' | None,
    a level of stat_area_daily) and ``category`` ('county' | 'town' | None, a level of
    stat_area_category_daily); None means stat_daily."""

    area: str | None = None
    category: str | None = None

    @property
    def daily(self) -> sql.Composable:
        """``<table> s WHERE <the scope's rows>``: per-day rows (no category needed)."""
        return _AREA if self.area else _FINE

    @property
    def daily_by_category(self) -> sql.Composable:
        """The same for rows that keep the category code (``s.category_code``)."""
        return _AREA_CATEGORY if self.category else _FINE

    def params(self, scope: Scope) -> dict[str, str | None]:
        """The bound values the fragments use."""
        return {"like": scope.like, "area_level": self.area, "category_level": self.category}


def days_list(first: date, last: date) -> list[date]:
    """Every local day from ``first`` to ``last``, both included (bound as ``%(days)s``)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def sources_for(conn: psycopg.Connection, scope: Scope) -> Sources:
    """The rollups that answer ``scope`` exactly (two lookups of the scope's region)."""
    return Sources(area=area_level(conn, scope), category=category_level(conn, scope))
