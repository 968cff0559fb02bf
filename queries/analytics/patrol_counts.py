"""Patrol counts of any period, from the monthly summaries (patrol_micro_month,
stat_online_month) and, for the parts of months a period covers only partly, the daily rollup
(stat_online_daily): the four raw counts ``domain.measures.derive`` turns into 巡查覆盖率 and
在线率, per period (``patrol_counts_many``) or per grid of one period (``grid_counts``).

Definitions: queries/analytics/patrol_build.py and docs/analytics-patrol.md. Coverage counts
only micro-grids that are current and still belong to the grid they were visited for (the
rollup prunes the summary of others; until it ran, a grid's count is capped). A period
in which the rollups recorded nothing for the scope reports ``micro_grids = 0``, so that its
coverage derives to None ("—"), never 0 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg
from psycopg import sql

from domain.analytics.periods import Period

from ..scope import Scope

COUNT_KEYS = ("micro_grids_visited", "micro_grids", "online_minutes", "scheduled_minutes")
FOLD_WORK_MEM = "32MB"

# Visit pieces: (period, month, mask of the period's days in that month). A micro-grid has one
# summary row per month, so a period within one month counts rows; a period over several
# months first folds each micro-grid's months into one row. The summary holds current
# micro-grids only (patrol_months.prune_retired), so no join to micro_grid here: hashing 910,000
# summary rows against the micro-grids took 0.75 s of a 0.8 s series on the large demo.
_PM = sql.SQL("""
  FROM unnest(%(vi)s::int[], %(vmonth)s::date[], %(vmask)s::int[]) AS x(i, month, mask)
  JOIN patrol_micro_month pm ON pm.month = x.month AND pm.days & x.mask <> 0
 WHERE pm.grid_code LIKE %(like)s""")
_VISITS_SQL = {
    False: sql.SQL(
        "SELECT x.i, count(*)::int {pm} AND NOT (x.i = ANY(%(multi)s)) GROUP BY x.i"
    ).format(pm=_PM),
    True: sql.SQL(
        "SELECT i, count(*)::int FROM (SELECT x.i, pm.grid_code, pm.micro_grid_code {pm}"
        " AND x.i = ANY(%(multi)s) GROUP BY 1, 2, 3) h GROUP BY i"
    ).format(pm=_PM),
}
_GRID_VISITS_SQL = {
    False: sql.SQL("SELECT pm.grid_code, count(*)::int {pm} GROUP BY 1").format(pm=_PM),
    True: sql.SQL(
        "SELECT grid_code, count(*)::int FROM (SELECT pm.grid_code, pm.micro_grid_code {pm}"
        " GROUP BY 1, 2) h GROUP BY 1"
    ).format(pm=_PM),
}

# Minutes: whole months from the monthly sums, parts of months from the daily rows.
_MINUTES = sql.SQL("""
  FROM (SELECT fm.i, m.grid_code, m.online_minutes AS online, m.scheduled_minutes AS sched
          FROM unnest(%(fi)s::int[], %(fmonth)s::date[]) AS fm(i, month)
          JOIN stat_online_month m ON m.month = fm.month
         WHERE m.grid_code LIKE %(like)s
        UNION ALL
        SELECT pr.i, o.grid_code, o.online_minutes, o.scheduled_minutes
          FROM unnest(%(pi)s::int[], %(pa)s::date[], %(pb)s::date[]) AS pr(i, a, b)
          JOIN stat_online_daily o ON o.day BETWEEN pr.a AND pr.b
         WHERE o.grid_code LIKE %(like)s) t""")
_MINUTES_SQL = {
    "x.i": sql.SQL("SELECT i, sum(online)::bigint, sum(sched)::bigint {m} GROUP BY i").format(
        m=_MINUTES
    ),
    "pm.grid_code": sql.SQL(
        "SELECT grid_code, sum(online)::bigint, sum(sched)::bigint {m} GROUP BY grid_code"
    ).format(m=_MINUTES),
}

# Per period: whether the rollups recorded anything in scope (else coverage is "—").
_SEEN_SQL = """
SELECT p.i,
       EXISTS (SELECT 1 FROM stat_online_daily o
                WHERE o.day BETWEEN p.a AND p.b AND o.grid_code LIKE %(like)s)
       OR EXISTS (SELECT 1
                    FROM unnest(%(vi)s::int[], %(vmonth)s::date[], %(vmask)s::int[])
                         AS x(i, month, mask)
                    JOIN patrol_micro_month pm ON pm.month = x.month AND pm.days & x.mask <> 0
                   WHERE x.i = p.i AND pm.grid_code LIKE %(like)s)
  FROM unnest(%(i)s::int[], %(a)s::date[], %(b)s::date[]) AS p(i, a, b)
"""
_MICRO_TOTAL_SQL = """
SELECT count(*) FROM micro_grid WHERE valid_to IS NULL AND grid_code LIKE %(like)s
"""
_MICRO_GRIDS_SQL = """
SELECT grid_code, count(*)::int FROM micro_grid
 WHERE valid_to IS NULL AND grid_code LIKE %(like)s GROUP BY grid_code
"""


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(m: date) -> date:
    return (m.replace(day=28) + timedelta(days=4)).replace(day=1)


def day_mask(a: date, b: date) -> int:
    """The bits of days a..b (same month, inclusive) in a patrol_micro_month ``days`` mask."""
    return ((1 << b.day) - 1) & ~((1 << (a.day - 1)) - 1)


@dataclass
class Pieces:
    """Periods cut at month boundaries into the arrays the SQL unnests."""

    vi: list[int] = field(default_factory=list)  # visit pieces: period, month, day mask
    vmonth: list[date] = field(default_factory=list)
    vmask: list[int] = field(default_factory=list)
    fi: list[int] = field(default_factory=list)  # whole months: period, month
    fmonth: list[date] = field(default_factory=list)
    pi: list[int] = field(default_factory=list)  # parts of months: period, first, last day
    pa: list[date] = field(default_factory=list)
    pb: list[date] = field(default_factory=list)
    multi: list[int] = field(default_factory=list)  # periods over several months

    def params(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def pieces(days: Sequence[tuple[date, date]]) -> Pieces:
    """Each (first, last) period split at month boundaries: a visit mask per month, whole
    months for the monthly online sums, the rest as day ranges for the daily rows."""
    out = Pieces()
    for i, (first, last) in enumerate(days):
        if last < first:
            raise ValueError(f"period ends ({last}) before it starts ({first})")
        if month_start(first) != month_start(last):
            out.multi.append(i)
        m = month_start(first)
        while m <= last:
            m_end = next_month(m) - timedelta(days=1)
            a, b = max(first, m), min(last, m_end)
            out.vi.append(i)
            out.vmonth.append(m)
            out.vmask.append(day_mask(a, b))
            if a == m and b == m_end:
                out.fi.append(i)
                out.fmonth.append(m)
            else:
                out.pi.append(i)
                out.pa.append(a)
                out.pb.append(b)
            m = next_month(m)
    return out


def _room(conn: psycopg.Connection) -> None:
    """Enough work_mem, for the rest of the caller's transaction, to fold a year of monthly
    rows per micro-grid in memory (4 MB spilled to disk: 0.85 s against 0.3 s on the large
    demo). Outside a transaction it lasts for the next statement only, which is no harm."""
    conn.execute("SELECT set_config('work_mem', %s, true)", (FOLD_WORK_MEM,))


def _as_days(period: Period | tuple[date, date]) -> tuple[date, date]:
    if isinstance(period, Period):
        return period.start, period.end
    first, last = period
    return first, last


def patrol_counts_many(
    conn: psycopg.Connection, scope: Scope, periods: Sequence[Period | tuple[date, date]]
) -> list[dict[str, int]]:
    """For each period (a ``Period`` or (first, last) local days, inclusive), in order, the
    raw counts of ``domain.measures.COUNT_KEYS`` that patrol owns: ``micro_grids_visited``,
    ``micro_grids`` (current micro-grids of the scope; 0 when the period has no patrol rollup
    in scope, so coverage derives to None), ``online_minutes``, ``scheduled_minutes``.
    Four short queries."""
    asked = [_as_days(p) for p in periods]
    if not asked:
        return []
    # A page asks for the same period more than once (the series' last one is the period
    # itself; a year's 环比 is its 同比): each distinct one is counted once.
    days = list(dict.fromkeys(asked))
    cut = pieces(days)
    params = {
        **cut.params(),
        "i": list(range(len(days))),
        "a": [a for a, _ in days],
        "b": [b for _, b in days],
        "like": scope.like,
    }
    visited: dict[int, int] = {}
    for multi in (False, True):
        if multi and not cut.multi or not multi and len(cut.multi) == len(days):
            continue
        if multi:
            _room(conn)
        visited.update(conn.execute(_VISITS_SQL[multi], params).fetchall())
    minutes = {i: (on, sc) for i, on, sc in conn.execute(_MINUTES_SQL["x.i"], params)}
    seen: dict[int, bool] = dict(conn.execute(_SEEN_SQL, params).fetchall())
    n = int(conn.execute(_MICRO_TOTAL_SQL, params).fetchone()[0])  # type: ignore[index]
    index = {d: i for i, d in enumerate(days)}
    return [
        {
            # Capped: a micro-grid retired since the last prune is still in the summary.
            "micro_grids_visited": min(int(visited.get(i, 0)), n),
            "micro_grids": n if seen.get(i) else 0,
            "online_minutes": int(minutes.get(i, (0, 0))[0]),
            "scheduled_minutes": int(minutes.get(i, (0, 0))[1]),
        }
        for i in (index[d] for d in asked)
    ]


def patrol_counts(
    conn: psycopg.Connection, scope: Scope, first_day: date, last_day: date
) -> dict[str, int]:
    """The four patrol counts of one period (see ``patrol_counts_many``)."""
    return patrol_counts_many(conn, scope, [(first_day, last_day)])[0]


def has_rollup(conn: psycopg.Connection, scope: Scope, first_day: date, last_day: date) -> bool:
    """Whether the patrol rollups recorded anything (a scheduled worker, a visit) for the
    scope on the local days ``first_day`` .. ``last_day``."""
    params = {
        **pieces([(first_day, last_day)]).params(),
        "i": [0],
        "a": [first_day],
        "b": [last_day],
        "like": scope.like,
    }
    return bool(conn.execute(_SEEN_SQL, params).fetchone()[1])  # type: ignore[index]


def grid_counts(
    conn: psycopg.Connection, scope: Scope, first_day: date, last_day: date
) -> dict[str, tuple[int, int, int, int]]:
    """Per grid code of the scope (current micro-grids or any patrol row in the period):
    (micro-grids current, visited, online minutes, scheduled minutes) over the local days
    ``first_day`` .. ``last_day``."""
    cut = pieces([(first_day, last_day)])
    params = {**cut.params(), "like": scope.like}
    if cut.multi:
        _room(conn)
    n: dict[str, int] = dict(conn.execute(_MICRO_GRIDS_SQL, params).fetchall())
    visited: dict[str, int] = dict(
        conn.execute(_GRID_VISITS_SQL[bool(cut.multi)], params).fetchall()
    )
    minutes = {g: (on, sc) for g, on, sc in conn.execute(_MINUTES_SQL["pm.grid_code"], params)}
    out = {}
    for code in sorted(n.keys() | visited.keys() | minutes.keys()):
        total = n.get(code, 0)
        # Capped: a micro-grid retired since the last prune is still in the summary.
        out[code] = (total, min(visited.get(code, 0), total), *minutes.get(code, (0, 0)))
    return out
