"""Raw counts per territorial unit for shading the map (DOMAIN.md §5: counts here, rates in
``domain.measures``).

One row per unit of the chosen level in scope: households, tickets created in the period,
closed and closed on time in the period (by the original due time), open now, overdue now (the
current stage past due) and open past the handling due time (suspended tickets excluded from
the live counts, as on the big screen). Grid and region levels read the ``stat_daily`` rollups
plus the open-ticket partial index; units are found through the hierarchy (grid → community →
town → county), not by code arithmetic. The micro level reads ``ticket`` directly (the rollups
stop at grids).

Periods are local days in ``tz``, both ends included: the quick windows 'today', '7d' (today
and the 6 days before), '30d' before ``now``, or any ``Period`` of at most ``MAX_PERIOD_DAYS``.
A category filter keeps the tickets of one major ('CC': the major and all its minors) or minor
('CCSS') category of the item list. "Open past the handling due time" (the second term of
due-to-close) is taken at the period's end: now when the period reaches today, else the local
midnight after its last day (tickets created before then, due before then, not closed by then;
voided tickets and tickets suspended now excluded — the ticket row does not say whether a
ticket was suspended at that instant).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo

import psycopg

from .geo import LEVELS
from .scope import Scope

WINDOWS: dict[str, int] = {"today": 1, "7d": 7, "30d": 30}

# The longest custom period: three years of local days (3 × 365 + one leap day). Longer spans
# scan more of the ticket table for the period-end counts and no longer read as one map.
MAX_PERIOD_DAYS = 1096

# The item list's code rule (table ``category``): major 'CC', minor 'CCSS'.
CATEGORY_CODE = re.compile(r"[0-9]{2}(?:[0-9]{2})?")

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

# The same counts for a period and a category (bound: first, last, like, cat, now, historic,
# end), plus ``h``: open past the handling due time at ``end``, the period's end, when it lies
# before today (``historic``; otherwise the one-time filter skips the scan and ``o`` answers).
_FILTERED_GRID_COUNT_CTES = """s AS MATERIALIZED (
    SELECT grid_code, sum(created) AS created, sum(closed) AS closed,
           sum(closed_on_time) AS on_time
      FROM stat_daily
     WHERE day BETWEEN %(first)s AND %(last)s AND grid_code LIKE %(like)s
       AND category_code LIKE %(cat)s
     GROUP BY grid_code
), o AS MATERIALIZED (
    SELECT grid_code,
           count(*) FILTER (WHERE state <> 'suspended') AS open,
           count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
           count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND category_code LIKE %(cat)s
     GROUP BY grid_code
), h AS MATERIALIZED (
    SELECT grid_code, count(*) AS past_due
      FROM ticket
     WHERE %(historic)s AND created_at < %(end)s AND due_at < %(end)s
       AND (closed_at IS NULL OR closed_at >= %(end)s)
       AND state NOT IN ('rejected', 'suspended')
       AND grid_code LIKE %(like)s AND category_code LIKE %(cat)s
     GROUP BY grid_code
)"""

# The unit of each grid at the level is picked by CASE on a bound parameter, so this is one
# literal for the four stat_daily levels.
_UNIT_OF_CTES = """
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
), """

_GRID_LEVEL_SQL = "".join(  # constant fragments; every value is bound
    (
        _UNIT_OF_CTES,
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

_GRID_LEVEL_FILTERED_SQL = "".join(  # constant fragments; every value is bound
    (
        _UNIT_OF_CTES,
        _FILTERED_GRID_COUNT_CTES,
        """
SELECT u.unit, sum(u.households)::bigint,
       coalesce(sum(s.created), 0)::bigint, coalesce(sum(s.closed), 0)::bigint,
       coalesce(sum(s.on_time), 0)::bigint, coalesce(sum(o.open), 0)::bigint,
       coalesce(sum(o.overdue), 0)::bigint,
       CASE WHEN %(historic)s THEN coalesce(sum(h.past_due), 0)
            ELSE coalesce(sum(o.past_due), 0) END::bigint
  FROM unit_of u
  LEFT JOIN s ON s.grid_code = u.grid_code
  LEFT JOIN o ON o.grid_code = u.grid_code
  LEFT JOIN h ON h.grid_code = u.grid_code
 WHERE u.unit IS NOT NULL
 GROUP BY u.unit
""",
    )
)

_MICRO_UNITS_CTE = """
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
), """

# Micro-grids: the window bounds are instants (local midnights) on created_at / closed_at.
_MICRO_SQL = "".join(  # constant fragments; every value is bound
    (
        _MICRO_UNITS_CTE,
        """c AS MATERIALIZED (
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
""",
    )
)

# Micro-grids for a period and a category: created and closed in [start, stop) up to now, and
# the period-end counts as on the grid levels.
_MICRO_FILTERED_SQL = "".join(  # constant fragments; every value is bound
    (
        _MICRO_UNITS_CTE,
        """c AS MATERIALIZED (
    SELECT micro_grid_code AS code, count(*) AS created
      FROM ticket
     WHERE created_at >= %(start)s AND created_at < %(stop)s AND created_at <= %(now)s
       AND grid_code LIKE %(like)s AND category_code LIKE %(cat)s
       AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
), k AS MATERIALIZED (
    SELECT micro_grid_code AS code, count(*) AS closed,
           count(*) FILTER (WHERE closed_on_time) AS on_time
      FROM ticket
     WHERE closed_at >= %(start)s AND closed_at < %(stop)s AND closed_at <= %(now)s
       AND grid_code LIKE %(like)s AND category_code LIKE %(cat)s
       AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
), o AS MATERIALIZED (
    SELECT micro_grid_code AS code,
           count(*) FILTER (WHERE state <> 'suspended') AS open,
           count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
           count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND category_code LIKE %(cat)s AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
), h AS MATERIALIZED (
    SELECT micro_grid_code AS code, count(*) AS past_due
      FROM ticket
     WHERE %(historic)s AND created_at < %(end)s AND due_at < %(end)s
       AND (closed_at IS NULL OR closed_at >= %(end)s)
       AND state NOT IN ('rejected', 'suspended')
       AND grid_code LIKE %(like)s AND category_code LIKE %(cat)s
       AND micro_grid_code IS NOT NULL
     GROUP BY micro_grid_code
)
SELECT m.code, m.households::bigint, coalesce(c.created, 0)::bigint,
       coalesce(k.closed, 0)::bigint, coalesce(k.on_time, 0)::bigint,
       coalesce(o.open, 0)::bigint, coalesce(o.overdue, 0)::bigint,
       CASE WHEN %(historic)s THEN coalesce(h.past_due, 0)
            ELSE coalesce(o.past_due, 0) END::bigint
  FROM m
  LEFT JOIN c ON c.code = m.code
  LEFT JOIN k ON k.code = m.code
  LEFT JOIN o ON o.code = m.code
  LEFT JOIN h ON h.code = m.code
""",
    )
)


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


@dataclass(frozen=True)
class Period:
    """Local days ``first`` to ``last``, both included, in the deployment time zone. Refuses
    (ValueError) a period that ends before it starts or spans more than MAX_PERIOD_DAYS."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period ends ({self.last}) before it starts ({self.first})")
        if self.days > MAX_PERIOD_DAYS:
            raise ValueError(f"period of {self.days} days; at most {MAX_PERIOD_DAYS}")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start(self, tz: tzinfo) -> datetime:
        """The instant the period starts: local midnight of ``first``."""
        return datetime.combine(self.first, time.min, tzinfo=tz)

    def stop(self, tz: tzinfo) -> datetime:
        """The instant after the period: local midnight of the day after ``last``."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=tz)


def window_days(window: str, now: datetime, tz: tzinfo) -> tuple[date, date]:
    """(first local day, today) of ``window`` at ``now`` in ``tz``."""
    if window not in WINDOWS:
        raise ValueError(f"unknown window {window!r}; known: {', '.join(WINDOWS)}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(tz).date()
    return today - timedelta(days=WINDOWS[window] - 1), today


def category_like(category: str | None) -> str:
    """The bound LIKE pattern of a category filter: '%' for none, 'CC%' for a major category
    (its tickets carry the major or one of its minors), 'CCSS' for a minor one. ValueError for
    anything that is not a code of the item list's rule."""
    if category is None:
        return "%"
    if not isinstance(category, str) or not CATEGORY_CODE.fullmatch(category):
        raise ValueError(f"category {category!r} is not a code 'CC' or 'CCSS'")
    return category + "%" if len(category) == 2 else category


def unit_counts(
    conn: psycopg.Connection,
    scope: Scope,
    level: str,
    window: str,
    now: datetime,
    tz: tzinfo,
    within: str | None = None,
    *,
    period: Period | None = None,
    category: str | None = None,
    past_due: bool = True,
) -> dict[str, UnitCounts]:
    """{unit code: UnitCounts} for every unit of ``level`` in scope (units with no grid in
    scope are absent). Period counts cover the local days of ``period`` (when given) or of
    ``window`` up to ``now``; open and overdue are as of ``now``; past_due as of the period's
    end (see the module docstring). ``category`` (a major 'CC' or minor 'CCSS' code, None for
    all) keeps that category's tickets in every count but households. ``within`` (micro
    level only) keeps the micro-grids under that grid/community/town/county. ``past_due``
    False (a caller that shows no rate) skips the period-end count, which reads the ticket
    table back to the oldest ticket, and reports past_due 0 for a period before today."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if within is not None and not scope.contains(within):
        raise ValueError(f"{within!r} is outside the jurisdiction")
    if period is None and category is None:
        # The quick windows over every category: the statements the wall and the benchmarks
        # measure, unchanged.
        first, today = window_days(window, now, tz)
        p = {"like": scope.like, "now": now, "level": level, "first": first, "today": today}
        if level == "micro":
            start = datetime.combine(first, time.min, tzinfo=tz)
            rows = conn.execute(_MICRO_SQL, {**p, "start": start, "within": within}).fetchall()
        else:
            rows = conn.execute(_GRID_LEVEL_SQL, p).fetchall()
        return {code: UnitCounts(*(int(v) for v in rest)) for code, *rest in rows}
    if period is None:
        period = Period(*window_days(window, now, tz))
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    stop = period.stop(tz)
    ended = stop <= now  # the period ended before today: its past-due count is its own
    historic = ended and past_due
    p = {
        "like": scope.like,
        "now": now,
        "level": level,
        "first": period.first,
        "last": period.last,
        "cat": category_like(category),
        "historic": historic,
        "end": stop if historic else now,
    }
    if level == "micro":
        q = {**p, "start": period.start(tz), "stop": stop, "within": within}
        rows = conn.execute(_MICRO_FILTERED_SQL, q).fetchall()
    else:
        rows = conn.execute(_GRID_LEVEL_FILTERED_SQL, p).fetchall()
    out = {code: UnitCounts(*(int(v) for v in rest)) for code, *rest in rows}
    if ended and not past_due:  # not counted: say 0, never today's count for an old period
        out = {code: replace(c, past_due=0) for code, c in out.items()}
    return out
