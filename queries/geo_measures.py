"""Raw counts per territorial unit for shading the map (DOMAIN.md §5: counts here, rates in
``domain.measures``).

One row per unit of the chosen level in scope: households, tickets created in the window,
closed and closed on time in the window (by the original due time), open now, overdue now (the
current stage past due) and open past the handling due time now (suspended tickets excluded
from the live counts, as on the big screen). Grid and region levels read the ``stat_daily``
rollups plus the open-ticket partial index; units are found through the hierarchy (grid →
community → town → county), not by code arithmetic. The micro level reads ``ticket`` directly
(the rollups stop at grids).

Windows are local days in ``tz``: 'today', '7d' (today and the 6 days before), '30d'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import psycopg

from .geo import LEVELS
from .scope import Scope

WINDOWS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}

# Per-grid counts: CTEs ``s`` (in the window: created, closed, on_time, from the rollups) and
# ``o`` (now: open, overdue, past_due; suspended tickets excluded), to append to a WITH list;
# bound parameters first, today, now, like. The one definition of a grid's counts, shared by
# the map's shading and the grids export (queries.export).
GRID_COUNT_CTES = """s AS MATERIALIZED (
    SELECT grid_code, sum(created) AS created, sum(closed) AS closed,
           sum(closed_on_time) AS on_time
      FROM stat_daily
     WHERE day BETWEEN %(first)s AND %(today)s AND grid_code LIKE %(like)s
     GROUP BY grid_code
), o AS MATERIALIZED (
    SELECT grid_code,
           count(*) FILTER (WHERE state <> 'suspended') AS open,
           count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
           count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
     GROUP BY grid_code
)"""

# The unit of each grid at the level is picked by CASE on a bound parameter, so this is one
# literal for the four stat_daily levels.
_GRID_LEVEL_SQL = "".join(  # constant fragments; every value is bound
    (
        """
WITH gv AS MATERIALIZED (
    SELECT DISTINCT ON (g.code) g.code, g.community_code, g.households, g.valid_to
      FROM grid g
     WHERE g.code LIKE %(like)s AND g.valid_from <= %(now)s
     ORDER BY g.code, g.valid_from DESC
), unit_of AS MATERIALIZED (
    SELECT gv.code AS grid_code,
           CASE %(level)s WHEN 'grid' THEN gv.code
                          WHEN 'community' THEN gv.community_code
                          WHEN 'town' THEN c.parent_code
                          WHEN 'county' THEN t.parent_code END AS unit,
           CASE WHEN gv.valid_to IS NULL OR gv.valid_to > %(now)s
                THEN gv.households ELSE 0 END AS households
      FROM gv
      LEFT JOIN region c ON c.code = gv.community_code AND c.valid_to IS NULL
      LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
), """,
        GRID_COUNT_CTES,
        """
SELECT u.unit, sum(u.households)::bigint,
       coalesce(sum(s.created), 0)::bigint, coalesce(sum(s.closed), 0)::bigint,
       coalesce(sum(s.on_time), 0)::bigint, coalesce(sum(o.open), 0)::bigint,
       coalesce(sum(o.overdue), 0)::bigint, coalesce(sum(o.past_due), 0)::bigint
  FROM unit_of u
  LEFT JOIN s ON s.grid_code = u.grid_code
  LEFT JOIN o ON o.grid_code = u.grid_code
 WHERE u.unit IS NOT NULL
 GROUP BY u.unit
""",
    )
)

# Micro-grids: the window bounds are instants (local midnights) on created_at / closed_at.
_MICRO_SQL = """
WITH m AS MATERIALIZED (
    SELECT m.code, m.households
      FROM micro_grid m
      JOIN grid g ON g.code = m.grid_code AND g.valid_to IS NULL
      LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
     WHERE m.grid_code LIKE %(like)s AND m.valid_from <= %(now)s
       AND (m.valid_to IS NULL OR m.valid_to > %(now)s)
       AND (%(within)s::text IS NULL
            OR %(within)s IN (g.code, g.community_code, c.parent_code, t.parent_code))
), c AS MATERIALIZED (
    SELECT micro_grid_code AS code, count(*) AS created
      FROM ticket
     WHERE created_at >= %(start)s AND created_at <= %(now)s AND grid_code LIKE %(like)s
       AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
), k AS MATERIALIZED (
    SELECT micro_grid_code AS code, count(*) AS closed,
           count(*) FILTER (WHERE closed_on_time) AS on_time
      FROM ticket
     WHERE closed_at >= %(start)s AND closed_at <= %(now)s
       AND grid_code LIKE %(like)s AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
), o AS MATERIALIZED (
    SELECT micro_grid_code AS code,
           count(*) FILTER (WHERE state <> 'suspended') AS open,
           count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
           count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
)
SELECT m.code, m.households::bigint, coalesce(c.created, 0)::bigint,
       coalesce(k.closed, 0)::bigint, coalesce(k.on_time, 0)::bigint,
       coalesce(o.open, 0)::bigint, coalesce(o.overdue, 0)::bigint,
       coalesce(o.past_due, 0)::bigint
  FROM m
  LEFT JOIN c ON c.code = m.code
  LEFT JOIN k ON k.code = m.code
  LEFT JOIN o ON o.code = m.code
"""


@dataclass(frozen=True)
class UnitCounts:
    """Raw counts of one unit (see the module docstring for each field's meaning)."""

    households: int
    created: int
    closed: int
    closed_on_time: int
    open: int
    overdue: int
    past_due: int


def window_days(window: str, now: datetime, tz: tzinfo) -> tuple[date, date]:
    """(first local day, today) of ``window`` at ``now`` in ``tz``."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; known: {', '.join(WINDOWS)}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    return today - timedelta(days=WINDOWS[window] - 1), today


def unit_counts(
    conn: psycopg.Connection,
    scope: Scope,
    level: str,
    window: str,
    now: datetime,
    tz: tzinfo,
    within: str | None = None,
) -> dict[str, UnitCounts]:
    """{unit code: UnitCounts} for every unit of ``level`` in scope (units with no grid in
    scope are absent). Window counts cover the local days of ``window`` up to ``now``; live
    counts (open, overdue, past_due) are as of ``now``. ``within`` (micro level only) keeps
    the micro-grids under that grid/community/town/county."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    first, today = window_days(window, now, tz)
    p = {"like": scope.like, "now": now, "level": level, "first": first, "today": today}
    if level == "micro":
        start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        if within is not None and not scope.contains(within):
            raise ValueError(f"{within!r} is outside the jurisdiction")
        rows = conn.execute(_MICRO_SQL, {**p, "start": start, "within": within}).fetchall()
    else:
        rows = conn.execute(_GRID_LEVEL_SQL, p).fetchall()
    return {code: UnitCounts(*(int(v) for v in rest)) for code, *rest in rows}
