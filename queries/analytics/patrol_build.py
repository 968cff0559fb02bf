"""The patrol rollups (巡查, DOMAIN.md §5): ``patrol_visit`` and ``stat_online_daily`` for local
days, built from the worker GPS history (``worker_position``) before retention purges it.

Definitions (docs/analytics-patrol.md):

* **The grid's workers on a day**: staff with an assignment of a patrol role (``PATROL_ROLES``:
  full- and part-time grid workers, the assignment's own role) to the grid that is valid at some
  instant of the local day, and an active staff record.
* **A visit**: an on-duty fix of such a worker, with a plausible accuracy (``MAX_ACCURACY_M``;
  no accuracy given counts), that lies in a *current* micro-grid of one of the worker's grids
  that day (PostGIS point-in-polygon, ``_ST_Intersects``: see ``_VISITS_SQL``). One row per
  (day, grid, micro-grid, worker), with the number of fixes. A fix in someone else's grid is
  not a visit of the worker's grid.
* **Online minutes**: the day is cut into 5-minute buckets from local midnight; a bucket with at
  least one on-duty fix of the worker counts its minutes that lie inside the scheduled working
  periods. Buckets, not distinct minutes, so that a phone that reports every 2–5 minutes (common
  on battery saving) is not counted as mostly offline; off-schedule time is not counted, so the
  online rate stays within 0–1 (patrols outside working hours still count as visits).
* **Scheduled minutes**: the work calendar's working periods of the day if it is a working day
  (holidays and 调休 make-up days included), cut at ``now`` for the day under way.
* A worker assigned to several grids that day shares both minute counts evenly among them
  (integer split, remainders to the first grids by code), so totals over a scope stay exact.

The monthly summaries of the months touched (queries.analytics.patrol_months) are rebuilt after
the days, so that coverage and online rate of long periods read one row per micro-grid or grid
and month.

Idempotent: each day is deleted and rebuilt in the caller's transaction. Two guards keep good
rows: a day that began before ``retained_since`` (its fixes are partly purged) is skipped, and a
day without a single fix of the jurisdiction's workers keeps rows that show activity (visits or
online minutes: they were built from fixes since purged, or came from elsewhere, e.g. the
demo's history). A day without fixes and without such rows is still written, so a whole day
offline shows as 0 % online against its full schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

import psycopg
from psycopg import sql

from domain.clock.work_calendar import WorkCalendar

from ..scope import WHOLE, Scope
from .patrol_months import refresh_months

PATROL_ROLES: tuple[str, ...] = ("fulltime_worker", "parttime_worker")
BUCKET_MIN = 5
# A fix less precise than this cannot place a worker in a micro-grid (often ~100 m across).
MAX_ACCURACY_M = 100.0
# work_mem of the rollup's transaction (the server default, 4 MB, sent the joins to disk).
WORK_MEM = "64MB"
# Cell size (degrees) of the candidate lookup in _VISITS_SQL: about 200 m, a few micro-grids.
CELL_DEG = 0.002

# The day's patrol workers of the scope's grids: (staff, grid, n = the worker's grids that day
# in or out of scope, k = this grid's rank among them by code) for the split of minutes.
_WORKERS = sql.SQL("""
workers AS (
    SELECT staff_id, grid_code, n, k FROM (
        SELECT staff_id, grid_code,
               count(*) OVER (PARTITION BY staff_id)::int AS n,
               row_number() OVER (PARTITION BY staff_id ORDER BY grid_code)::int AS k
          FROM (SELECT DISTINCT a.staff_id, a.grid_code
                  FROM staff_assignment a JOIN staff s ON s.id = a.staff_id AND s.active
                 WHERE a.role = ANY(%(roles)s)
                   AND a.valid_from < %(hi)s AND (a.valid_to IS NULL OR a.valid_to > %(lo)s)
               ) d
    ) w
     WHERE grid_code LIKE %(like)s
)""")

_STATE_SQL = sql.SQL(
    """WITH {workers}
SELECT EXISTS (SELECT 1 FROM worker_position p
                WHERE p.at >= %(lo)s AND p.at < %(hi)s
                  AND p.staff_id IN (SELECT staff_id FROM workers)),
       EXISTS (SELECT 1 FROM stat_online_daily WHERE day = %(day)s AND grid_code LIKE %(like)s
                  AND online_minutes > 0)
       OR EXISTS (SELECT 1 FROM patrol_visit WHERE day = %(day)s AND grid_code LIKE %(like)s)
"""
).format(workers=_WORKERS)

_DELETE_VISITS = "DELETE FROM patrol_visit WHERE day = %(day)s AND grid_code LIKE %(like)s"
_DELETE_ONLINE = "DELETE FROM stat_online_daily WHERE day = %(day)s AND grid_code LIKE %(like)s"

# Candidates by cell: each micro-grid of a worker's grids is listed under the cells of a
# CELL_DEG grid its bounding box touches, keyed by (worker, cell), in a temporary table with
# real statistics. A fix looks up its own cell (a hash join; the day's fixes are read once, in
# time order), passes a float bounding-box test and only then the exact point-in-polygon test
# (_ST_Intersects: ST_Intersects without its index rewrite) against those one or two
# micro-grids. The plans PostgreSQL finds by itself (a GiST probe of micro_grid per fix, an
# index scan of the fixes per worker and micro-grid, every micro-grid of the worker's grids per
# fix) were 3 to 19 times slower: see docs/analytics-patrol.md.
_DROP_CELLS = "DROP TABLE IF EXISTS pg_temp.patrol_cells"
_CELLS_SQL = sql.SQL(
    """CREATE TEMP TABLE patrol_cells AS WITH {workers},
wm AS (
    SELECT w.staff_id, m.code, m.grid_code, m.geom, x0, x1, y0, y1
      FROM workers w JOIN micro_grid m ON m.grid_code = w.grid_code AND m.valid_to IS NULL,
           ST_XMin(m.geom) AS x0, ST_XMax(m.geom) AS x1, ST_YMin(m.geom) AS y0,
           ST_YMax(m.geom) AS y1
)
SELECT wm.staff_id, cx, cy, wm.code, wm.grid_code, wm.geom, wm.x0, wm.x1, wm.y0, wm.y1
  FROM wm,
       generate_series(floor(x0 / %(cell)s)::int, floor(x1 / %(cell)s)::int) AS cx,
       generate_series(floor(y0 / %(cell)s)::int, floor(y1 / %(cell)s)::int) AS cy
"""
).format(workers=_WORKERS)
_ANALYZE_CELLS = "ANALYZE pg_temp.patrol_cells"
_PLANNER_GET = "SELECT current_setting('enable_mergejoin'), current_setting('enable_sort')"
_PLANNER_SET = (
    "SELECT set_config('enable_mergejoin', %s, true), set_config('enable_sort', %s, true)"
)
_VISITS_SQL = """
INSERT INTO patrol_visit (day, grid_code, micro_grid_code, staff_id, fixes)
SELECT %(day)s, c.grid_code, c.code, f.staff_id, count(*)
  FROM (SELECT p.staff_id, p.geom, ST_X(p.geom) AS x, ST_Y(p.geom) AS y
          FROM worker_position p
         WHERE p.at >= %(lo)s AND p.at < %(hi)s AND p.on_duty
           AND (p.accuracy_m IS NULL OR p.accuracy_m <= %(acc)s)) f
  JOIN pg_temp.patrol_cells c
    ON c.staff_id = f.staff_id AND c.cx = floor(f.x / %(cell)s)::int
   AND c.cy = floor(f.y / %(cell)s)::int
 WHERE f.x BETWEEN c.x0 AND c.x1 AND f.y BETWEEN c.y0 AND c.y1
   AND _ST_Intersects(c.geom, f.geom)
 GROUP BY c.grid_code, c.code, f.staff_id
"""

# Buckets with an on-duty fix, weighted by their scheduled minutes (%(bucket)s/%(minutes)s:
# only buckets that overlap the schedule), then each worker's day split over its grids.
_ONLINE_SQL = sql.SQL(
    """WITH {workers},
sched AS (
    SELECT * FROM unnest(%(bucket)s::int[], %(minutes)s::int[]) AS s(bucket, minutes)
),
b AS (
    SELECT DISTINCT p.staff_id,
           floor((date_part('epoch', p.at) - %(lo_epoch)s) / %(bucket_s)s)::int AS bucket
      FROM worker_position p
     WHERE p.at >= %(lo)s AND p.at < %(hi)s AND p.on_duty
       AND p.staff_id IN (SELECT staff_id FROM workers)
),
online AS (
    SELECT b.staff_id, sum(s.minutes)::int AS minutes FROM b JOIN sched s USING (bucket)
     GROUP BY b.staff_id
)
INSERT INTO stat_online_daily (day, staff_id, grid_code, online_minutes, scheduled_minutes)
SELECT %(day)s, w.staff_id, w.grid_code,
       coalesce(o.minutes, 0) / w.n + (w.k <= coalesce(o.minutes, 0) %% w.n)::int,
       %(total)s::int / w.n + (w.k <= %(total)s::int %% w.n)::int
  FROM workers w LEFT JOIN online o USING (staff_id)
 WHERE %(total)s::int > 0
"""
).format(workers=_WORKERS)


@dataclass
class RollupResult:
    """What one run did, per local day."""

    built: list[date] = field(default_factory=list)
    kept: list[date] = field(default_factory=list)  # no fixes: the existing rows stand
    skipped: list[date] = field(default_factory=list)  # begun before the retained positions
    visits: int = 0  # patrol_visit rows written
    online_rows: int = 0  # stat_online_daily rows written

    def as_dict(self) -> dict:
        return {
            "built": [d.isoformat() for d in self.built],
            "kept": [d.isoformat() for d in self.kept],
            "skipped": [d.isoformat() for d in self.skipped],
            "visits": self.visits,
            "online_rows": self.online_rows,
        }


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of ``day`` as aware instants."""
    lo = datetime.combine(day, time(0), tzinfo=tz)
    hi = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return lo, hi


def schedule_buckets(
    day: date, tz: tzinfo, calendar: WorkCalendar, now: datetime | None = None
) -> tuple[list[int], list[int]]:
    """The 5-minute buckets of local ``day`` (numbered from local midnight) that overlap its
    scheduled working periods, and the scheduled minutes in each, cut at ``now`` (whole
    minutes). Empty on a day off or a day not begun."""
    if not calendar.is_workday(day):
        return [], []
    lo, hi = day_bounds(day, tz)
    end = hi if now is None else min(hi, now)
    # Minutes from local midnight, on the UTC axis (a DST day has 23 or 25 hours).
    end_min = int((end - lo).total_seconds() // 60)
    weights: dict[int, int] = {}
    for start_t, stop_t in calendar.periods:
        ps = int((datetime.combine(day, start_t, tzinfo=calendar.tz) - lo).total_seconds() // 60)
        pe = int((datetime.combine(day, stop_t, tzinfo=calendar.tz) - lo).total_seconds() // 60)
        pe = min(pe, end_min)
        for minute_start in range(ps - ps % BUCKET_MIN, max(pe, ps), BUCKET_MIN):
            overlap = min(pe, minute_start + BUCKET_MIN) - max(ps, minute_start)
            if overlap > 0:
                b = minute_start // BUCKET_MIN
                weights[b] = weights.get(b, 0) + overlap
    buckets = sorted(weights)
    return buckets, [weights[b] for b in buckets]


def rollup_patrol(
    conn: psycopg.Connection,
    first_day: date,
    last_day: date,
    tz: tzinfo,
    calendar: WorkCalendar,
    *,
    scope: Scope = WHOLE,
    now: datetime | None = None,
    retained_since: datetime | None = None,
) -> dict:
    """Rebuild ``patrol_visit`` and ``stat_online_daily`` for the local days ``first_day`` ..
    ``last_day`` (inclusive, in ``tz``) and the grids of ``scope``, from ``worker_position``.

    ``now`` cuts the scheduled minutes of the day under way (and days after it get none);
    days that began before ``retained_since`` (now − track_retention_days: their fixes are
    partly purged) are skipped. Does not commit. Returns ``RollupResult.as_dict()``: the days
    built, kept (no fixes, rows already there) and skipped, and the rows written.
    """
    if last_day < first_day:
        raise ValueError(f"rollup period ends ({last_day}) before it starts ({first_day})")
    result = RollupResult()
    # The joins hash a day's fixes and the workers' micro-grids: give this transaction room.
    conn.execute("SELECT set_config('work_mem', %s, true)", (WORK_MEM,))
    day = first_day
    while day <= last_day:
        lo, hi = day_bounds(day, tz)
        if retained_since is not None and lo < retained_since:
            result.skipped.append(day)
            day += timedelta(days=1)
            continue
        params = {
            "day": day,
            "lo": lo,
            "hi": hi,
            "like": scope.like,
            "roles": list(PATROL_ROLES),
        }
        has_fixes, has_rows = conn.execute(_STATE_SQL, params).fetchone()  # type: ignore[misc]
        if not has_fixes and has_rows:
            result.kept.append(day)
            day += timedelta(days=1)
            continue
        buckets, minutes = schedule_buckets(day, tz, calendar, now)
        conn.execute(_DELETE_VISITS, params)
        conn.execute(_DELETE_ONLINE, params)
        result.visits += _visits(conn, params)
        result.online_rows += conn.execute(
            _ONLINE_SQL,
            {
                **params,
                "bucket": buckets,
                "minutes": minutes,
                "total": sum(minutes),
                "bucket_s": BUCKET_MIN * 60,
                "lo_epoch": lo.timestamp(),
            },
        ).rowcount
        result.built.append(day)
        day += timedelta(days=1)
    refresh_months(conn, sorted({d.replace(day=1) for d in result.built}), scope)
    return result.as_dict()


# Days with positions and no rollup row in scope (%(day)s, %(lo)s, %(hi)s: arrays).
_UNROLLED_SQL = """
SELECT d.day
  FROM unnest(%(day)s::date[], %(lo)s::timestamptz[], %(hi)s::timestamptz[]) AS d(day, lo, hi)
 WHERE EXISTS (SELECT 1 FROM worker_position p WHERE p.at >= d.lo AND p.at < d.hi)
   AND NOT EXISTS (SELECT 1 FROM stat_online_daily o
                    WHERE o.day = d.day AND o.grid_code LIKE %(like)s)
   AND NOT EXISTS (SELECT 1 FROM patrol_visit v WHERE v.day = d.day AND v.grid_code LIKE %(like)s)
 ORDER BY d.day
"""


def unrolled_days(
    conn: psycopg.Connection, scope: Scope, tz: tzinfo, before: date, retained_since: datetime
) -> list[date]:
    """The local days before ``before`` that began after ``retained_since`` (so their
    positions are complete), have positions and have no patrol rollup in scope yet: what a
    sweep that did not run for a while must catch up before retention purges them."""
    first = retained_since.astimezone(tz).date() + timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((before - first).days)]
    if not days:
        return []
    bounds = [day_bounds(d, tz) for d in days]
    rows = conn.execute(
        _UNROLLED_SQL,
        {
            "day": days,
            "lo": [lo for lo, _ in bounds],
            "hi": [hi for _, hi in bounds],
            "like": scope.like,
        },
    ).fetchall()
    return [r[0] for r in rows]


def _visits(conn: psycopg.Connection, params: dict) -> int:
    """Write one day's patrol_visit rows (see _CELLS_SQL, _VISITS_SQL); returns how many."""
    cells = {**params, "acc": MAX_ACCURACY_M, "cell": CELL_DEG}
    conn.execute(_DROP_CELLS)
    conn.execute(_CELLS_SQL, cells)
    conn.execute(_ANALYZE_CELLS)
    # The join's row estimate is off by five orders of magnitude (expressions on both sides),
    # which makes the planner sort 2 M fixes for a merge join and sort again to group: a hash
    # join and a hash aggregate took half the time. Only for this statement.
    saved = conn.execute(_PLANNER_GET).fetchone()
    conn.execute(_PLANNER_SET, ("off", "off"))
    try:
        return conn.execute(_VISITS_SQL, cells).rowcount
    finally:
        conn.execute(_PLANNER_SET, saved)
        conn.execute(_DROP_CELLS)
