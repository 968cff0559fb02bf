"""The grids export: one row per current grid in the caller's scope with its place in the
hierarchy, its measures over a window of local days and its grid chief (DOMAIN.md §5, §7).

Counts follow ``queries.geo_measures`` (the map's shading): tickets created, closed and closed
on time in the window come from the ``stat_daily`` rollups; open, overdue (current stage past
due) and open past the handling due time are as of ``now``, suspended tickets excluded. Rates
are ``domain.measures`` fractions (None when nothing was due). The chief's name and phone are
returned as stored: the caller masks them for the reader's tier (``domain.masking``).

Windows are local days in ``tz``: 'today', '7d', '30d' (``queries.geo_measures.WINDOWS``) and
'month' (the first of the month up to today).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import psycopg

from domain import measures

from .geo_measures import GRID_COUNT_CTES, window_days
from .geo_measures import WINDOWS as DAY_WINDOWS
from .scope import Scope
from .window import Window

WINDOWS: tuple[str, ...] = (*DAY_WINDOWS, "month")

# A grid's chief: the current assignment of role grid_chief with the lowest staff number (the
# demo and real rosters have one; a second would be an import error and must not double rows).
_EXPORT_SQL = "".join(  # constant fragments; every value is bound
    (
        """
WITH gv AS MATERIALIZED (
    SELECT g.code, g.name, g.community_code
      FROM grid g
     WHERE g.code LIKE %(like)s AND g.valid_from <= %(now)s
       AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
), """,
        GRID_COUNT_CTES,
        """, chief AS MATERIALIZED (
    SELECT DISTINCT ON (a.grid_code) a.grid_code, st.name, st.phone
      FROM staff_assignment a
      JOIN staff st ON st.id = a.staff_id AND st.active
     WHERE a.role = 'grid_chief' AND a.grid_code LIKE %(like)s
       AND a.valid_from <= %(now)s AND (a.valid_to IS NULL OR a.valid_to > %(now)s)
     ORDER BY a.grid_code, st.staff_no
)
SELECT gv.code, gv.name, gv.community_code, c.name, t.code, t.name,
       coalesce(s.created, 0)::bigint, coalesce(s.closed, 0)::bigint,
       coalesce(s.on_time, 0)::bigint, coalesce(o.open, 0)::bigint,
       coalesce(o.overdue, 0)::bigint, coalesce(o.past_due, 0)::bigint,
       chief.name, chief.phone
  FROM gv
  LEFT JOIN region c ON c.code = gv.community_code AND c.valid_to IS NULL
  LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
  LEFT JOIN s ON s.grid_code = gv.code
  LEFT JOIN o ON o.grid_code = gv.code
  LEFT JOIN chief ON chief.grid_code = gv.code
 ORDER BY gv.code
""",
    )
)


@dataclass(frozen=True)
class GridRow:
    """One grid of the export; ``chief_name``/``chief_phone`` unmasked (None without a chief);
    rates are fractions or None when nothing was due in the window."""

    code: str
    name: str
    community_code: str
    community: str
    town_code: str
    town: str
    created: int
    closed: int
    closed_on_time: int
    open: int
    overdue: int
    past_due: int
    chief_name: str | None
    chief_phone: str | None

    @property
    def due_to_close(self) -> int:
        return self.closed + self.past_due

    @property
    def closure_rate(self) -> float | None:
        return measures.closure_rate(self.closed, self.past_due)

    @property
    def on_time_rate(self) -> float | None:
        return measures.on_time_rate(self.closed_on_time, self.closed, self.past_due)


def export_days(window: str, now: datetime, tz: tzinfo) -> tuple[date, date]:
    """(first local day, today) of ``window`` at ``now`` in ``tz``; ValueError names the
    known windows."""
    if window == "month":
        w = Window.at(now, tz)
        return w.month_start, w.today
    if window not in DAY_WINDOWS:
        raise ValueError(f"unknown window {window!r}; known: {', '.join(WINDOWS)}")
    return window_days(window, now, tz)


def grid_rows(
    conn: psycopg.Connection, scope: Scope, window: str, now: datetime, tz: tzinfo
) -> list[GridRow]:
    """Every grid current at ``now`` whose code is in ``scope``, by code, with its measures
    over ``window`` (see the module docstring). NOWHERE gives no rows."""
    first, today = export_days(window, now, tz)
    params = {"like": scope.like, "now": now, "first": first, "today": today}
    out = []
    for row in conn.execute(_EXPORT_SQL, params).fetchall():
        code, name, comm_code, comm, town_code, town = (v or "" for v in row[:6])
        created, closed, on_time, open_, overdue, past_due = (int(v) for v in row[6:12])
        out.append(
            GridRow(
                code=code,
                name=name,
                community_code=comm_code,
                community=comm,
                town_code=town_code,
                town=town,
                created=created,
                closed=closed,
                closed_on_time=on_time,
                open=open_,
                overdue=overdue,
                past_due=past_due,
                chief_name=row[12],
                chief_phone=row[13],
            )
        )
    return out
