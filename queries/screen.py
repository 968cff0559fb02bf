"""Queries behind the command-centre big screen (`/screen`, DOMAIN.md §6).

Every function takes the caller's jurisdiction ``scope`` and filters code columns with
``LIKE %(like)s`` (codes are COLLATE "C", so the prefix uses the b-tree indexes). Time windows
are bound parameters computed from an explicit ``now`` (an aware datetime) and ``tz`` (the local
zone of the work day, Asia/Shanghai by default) so tests can pin the clock; no query calls
``now()``. Day-based counts come from the ``stat_daily`` rollups; live counts of open tickets
read the partial index ``ticket_open`` (its predicate is repeated verbatim in each query).

Only L1 public aggregates and public facts (grid names, category names, ticket numbers, stages)
leave this module: no names, phones, addresses or descriptions (DOMAIN.md §7).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain import measures
from domain.workflow.rules import STAGE_NAMES_ZH, STATE_NAMES_ZH

from .cache import Cache, data_version
from .db import custom_plans, one
from .scope import Scope

# Open tickets are selected with the predicate of the partial index ticket_open, verbatim
# ("state NOT IN ('closed', 'surveyed', 'rejected')"), so that the planner can use the index.
# Current grid versions: "g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)"
# (boundaries are versioned, DOMAIN.md §1). Both are written out in each query below rather than
# formatted in, so every statement is one literal.

# A worker is online when the last fix is this recent and the worker is on duty.
ONLINE_WINDOW = timedelta(minutes=10)

# Ranking lists longer than this show the leaders and the last three (leaders ask for both).
RANKING_MAX_ROWS = 10

STAFF_ROLE_NAMES_ZH = {
    "grid_chief": "网格长",
    "fulltime_worker": "专职网格员",
    "parttime_worker": "兼职网格员",
    "grid_instructor": "网格指导员",
    "micro_grid_chief": "微网格长",
}
EXCLUSIVE_KIND_NAMES_ZH = {
    "school": "学校",
    "hospital": "医院",
    "industrial_park": "园区",
    "enterprise": "企业",
    "market": "市场",
    "office": "楼宇",
    "government": "机关",
    "scenic": "景区",
    "other": "其他",
}


@dataclass(frozen=True)
class Window:
    """Local-calendar anchors of one screen refresh, derived from ``now`` in ``tz``."""

    now: datetime
    today: date
    month_start: date

    @classmethod
    def at(cls, now: datetime, tz: tzinfo) -> Window:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        today = now.astimezone(tz).date()
        return cls(now=now, today=today, month_start=today.replace(day=1))


def _params(scope: Scope, **extra: Any) -> dict[str, Any]:
    return {"like": scope.like, **extra}


# --------------------------------------------------------------------------------------------
# KPI ribbon
# --------------------------------------------------------------------------------------------

_KPI_ROLLUP_SQL = """
SELECT coalesce(sum(created) FILTER (WHERE day = %(today)s), 0)       AS created_today,
       coalesce(sum(reported) FILTER (WHERE day = %(today)s), 0)      AS reported_today,
       coalesce(sum(self_resolved) FILTER (WHERE day = %(today)s), 0) AS self_resolved_today,
       coalesce(sum(closed) FILTER (WHERE day = %(today)s), 0)        AS closed_today,
       coalesce(sum(created), 0)        AS created_mtd,
       coalesce(sum(closed), 0)         AS closed_mtd,
       coalesce(sum(closed_on_time), 0) AS closed_on_time_mtd,
       coalesce(sum(reworked), 0)       AS reworked_mtd
  FROM stat_daily
 WHERE day BETWEEN %(month_start)s AND %(today)s AND grid_code LIKE %(like)s
"""

_KPI_OPEN_SQL = """
SELECT count(*) FILTER (WHERE state <> 'suspended') AS in_progress,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_due_at < %(now)s) AS overdue,
       count(*) FILTER (WHERE state <> 'suspended' AND stage_warn_at <= %(now)s
                          AND stage_due_at > %(now)s) AS warning,
       count(*) FILTER (WHERE state <> 'suspended' AND due_at < %(now)s) AS open_past_due,
       count(*) FILTER (WHERE state = 'suspended') AS suspended
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
"""

_WORKERS_ONLINE_SQL = """
SELECT count(*)
  FROM worker_last_position w JOIN staff s ON s.id = w.staff_id
 WHERE w.at > %(since)s AND w.on_duty AND s.active
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
"""

_GRID_COUNT_SQL = """
SELECT count(*) FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""


def workers_online(conn: psycopg.Connection, scope: Scope, now: datetime) -> int:
    """Workers whose last fix is within ONLINE_WINDOW before ``now`` and who are on duty."""
    row = conn.execute(
        _WORKERS_ONLINE_SQL, _params(scope, since=now - ONLINE_WINDOW, now=now)
    ).fetchone()
    return int(row[0]) if row else 0


def kpis(conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """The KPI ribbon as raw counts plus month-to-date rates (None when nothing was due).

    Keys: created_today, reported_today, self_resolved_today, closed_today (local day in ``tz``,
    from stat_daily); in_progress (open, not suspended), overdue (open, not suspended, stage due
    before ``now``), warning (not suspended, stage warn time passed, not yet due), suspended,
    open_past_due (open, not suspended, handling due_at before ``now``); created_mtd, closed_mtd,
    closed_on_time_mtd, reworked_mtd, due_to_close_mtd = closed_mtd + open_past_due;
    closure_rate, on_time_rate, rework_rate, composite (fractions 0–1, composite 0–100);
    workers_online; grids (current grids in scope); today and month_start (ISO dates).
    """
    w = Window.at(now, tz)
    p = _params(scope, today=w.today, month_start=w.month_start, now=now)
    with conn.cursor(row_factory=dict_row) as cur:
        rollup = one(cur.execute(_KPI_ROLLUP_SQL, p).fetchone())
        live = one(cur.execute(_KPI_OPEN_SQL, p).fetchone())
    grids = one(conn.execute(_GRID_COUNT_SQL, p).fetchone())[0]
    out: dict[str, Any] = {k: int(v) for k, v in (rollup | live).items()}
    closed, past_due = out["closed_mtd"], out["open_past_due"]
    out["due_to_close_mtd"] = closed + past_due
    out["closure_rate"] = measures.closure_rate(closed, past_due)
    out["on_time_rate"] = measures.on_time_rate(out["closed_on_time_mtd"], closed, past_due)
    out["rework_rate"] = measures.rate(out["reworked_mtd"], closed)
    out["composite"] = measures.composite_score(
        out["closure_rate"], out["on_time_rate"], out["rework_rate"]
    )
    out["workers_online"] = workers_online(conn, scope, now)
    out["grids"] = int(grids)
    out["today"] = w.today.isoformat()
    out["month_start"] = w.month_start.isoformat()
    return out


# --------------------------------------------------------------------------------------------
# Map colours, trend, category mix
# --------------------------------------------------------------------------------------------

_TREND_SQL = """
SELECT day, sum(created)::int, sum(closed)::int
  FROM stat_daily
 WHERE day BETWEEN %(first)s AND %(today)s AND grid_code LIKE %(like)s
 GROUP BY day
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
    rows = conn.execute(_TREND_SQL, _params(scope, first=first, today=w.today)).fetchall()
    by_day = {d: (c, k) for d, c, k in rows}
    out = []
    for i in range(days):
        d = first + timedelta(days=i)
        created, closed = by_day.get(d, (0, 0))
        out.append({"day": d.isoformat(), "created": created, "closed": closed})
    return out


_CATEGORY_MIX_SQL = """
SELECT c.code, c.name_zh, sum(s.created)::int AS n
  FROM stat_daily s
  JOIN category c ON c.code = left(s.category_code, 2)
 WHERE s.day BETWEEN %(first)s AND %(today)s AND s.grid_code LIKE %(like)s
 GROUP BY c.code, c.name_zh
HAVING sum(s.created) > 0
 ORDER BY n DESC, c.code
"""


def category_mix(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo, days: int = 30
) -> list[dict[str, Any]]:
    """Tickets created in the last ``days`` local days (today included) per major category,
    largest first: [{"code": "09", "name": "城市管理", "count": n}]."""
    w = Window.at(now, tz)
    first = w.today - timedelta(days=days - 1)
    rows = conn.execute(_CATEGORY_MIX_SQL, _params(scope, first=first, today=w.today)).fetchall()
    return [{"code": c, "name": name, "count": n} for c, name, n in rows]


# --------------------------------------------------------------------------------------------
# Town ranking
# --------------------------------------------------------------------------------------------

# Towns come from the hierarchy (grid -> community -> town), not from code arithmetic, because
# the code rule is pluggable. Grids are joined through their latest version, so a grid retired
# this month still counts for its town. Per-grid sums are materialized first so the planner
# aggregates once and hash-joins (a nested loop over re-run aggregates took minutes on 'city').
_TOWN_RANKING_SQL = """
WITH s AS MATERIALIZED (
    SELECT grid_code, sum(closed) AS closed, sum(closed_on_time) AS on_time,
           sum(reworked) AS reworked
      FROM stat_daily
     WHERE day BETWEEN %(month_start)s AND %(today)s AND grid_code LIKE %(like)s
     GROUP BY grid_code
), o AS MATERIALIZED (
    SELECT grid_code, count(*) AS past_due
      FROM ticket
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND grid_code LIKE %(like)s
       AND state <> 'suspended' AND due_at < %(now)s
     GROUP BY grid_code
), per_grid AS MATERIALIZED (
    SELECT coalesce(s.grid_code, o.grid_code) AS grid_code, coalesce(s.closed, 0) AS closed,
           coalesce(s.on_time, 0) AS on_time, coalesce(s.reworked, 0) AS reworked,
           coalesce(o.past_due, 0) AS past_due
      FROM s FULL JOIN o ON o.grid_code = s.grid_code
), town_of AS MATERIALIZED (
    SELECT DISTINCT ON (g.code) g.code AS grid_code, t.code AS town_code, t.name AS town_name
      FROM grid g
      JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL AND t.level = 'town'
     WHERE g.code LIKE %(like)s
     ORDER BY g.code, g.valid_from DESC
)
SELECT t.town_code, t.town_name,
       coalesce(sum(p.closed), 0)::int, coalesce(sum(p.on_time), 0)::int,
       coalesce(sum(p.reworked), 0)::int, coalesce(sum(p.past_due), 0)::int
  FROM town_of t
  LEFT JOIN per_grid p ON p.grid_code = t.grid_code
 GROUP BY t.town_code, t.town_name
"""


def rank_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted by composite score (None last), ties by on-time rate, then code; adds "rank"
    (equal score and on-time rate share a rank)."""

    def key(r: dict[str, Any]) -> tuple:
        c, t = r["composite"], r["on_time_rate"]
        return (c is None, -(c or 0.0), t is None, -(t or 0.0), r["code"])

    ranked = sorted(rows, key=key)
    prev, rank = None, 0
    for i, r in enumerate(ranked, start=1):
        sig = (r["composite"], r["on_time_rate"])
        if sig != prev:
            rank, prev = i, sig
        r["rank"] = rank
    return ranked


def town_ranking(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo
) -> list[dict[str, Any]]:
    """Towns in scope ranked month-to-date by composite score (measures.composite_score),
    ties by on-time rate: [{"rank", "code", "name", "closed", "closed_on_time", "reworked",
    "open_past_due", "due_to_close", "closure_rate", "on_time_rate", "rework_rate",
    "composite"}]; rates are fractions or None when nothing was due."""
    w = Window.at(now, tz)
    p = _params(scope, today=w.today, month_start=w.month_start, now=now)
    out = []
    for code, name, closed, on_time, reworked, past_due in conn.execute(
        _TOWN_RANKING_SQL, p
    ).fetchall():
        closure = measures.closure_rate(closed, past_due)
        on_time_r = measures.on_time_rate(on_time, closed, past_due)
        rework = measures.rate(reworked, closed)
        out.append(
            {
                "code": code,
                "name": name,
                "closed": closed,
                "closed_on_time": on_time,
                "reworked": reworked,
                "open_past_due": past_due,
                "due_to_close": closed + past_due,
                "closure_rate": closure,
                "on_time_rate": on_time_r,
                "rework_rate": rework,
                "composite": measures.composite_score(closure, on_time_r, rework),
            }
        )
    return rank_rows(out)


# --------------------------------------------------------------------------------------------
# Basic data (left column)
# --------------------------------------------------------------------------------------------

_GRIDS_BY_TYPE_SQL = """
SELECT grid_type, exclusive_kind, count(*)::int, coalesce(sum(households), 0)::bigint,
       coalesce(sum(population), 0)::bigint
  FROM grid g
 WHERE g.code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 GROUP BY grid_type, exclusive_kind
"""

_MICRO_GRIDS_SQL = """
SELECT count(*) FROM micro_grid g
 WHERE g.grid_code LIKE %(like)s
   AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
"""

_STAFF_BY_ROLE_SQL = """
SELECT a.role, count(DISTINCT a.staff_id)::int
  FROM staff_assignment a JOIN staff s ON s.id = a.staff_id AND s.active
 WHERE a.grid_code LIKE %(like)s AND a.valid_from <= %(now)s
   AND (a.valid_to IS NULL OR a.valid_to > %(now)s)
 GROUP BY a.role
"""

_ONLINE_BY_ROLE_SQL = """
SELECT s.role, count(*)::int
  FROM worker_last_position w JOIN staff s ON s.id = w.staff_id
 WHERE w.at > %(since)s AND w.on_duty AND s.active
   AND coalesce(w.grid_code, s.region_code) LIKE %(like)s
 GROUP BY s.role
"""


def basic_data(conn: psycopg.Connection, scope: Scope, now: datetime) -> dict[str, Any]:
    """Counts for the basic-data panel (L1 aggregates only):
    {"grids": {"comprehensive": n, "exclusive": n, "total": n, "exclusive_kinds": [{"kind",
    "name", "count"}]}, "micro_grids": n, "households": n, "population": n,
    "staff": [{"role", "name", "count"}] (people assigned to current grids, by assignment role,
    in STAFF_ROLE_NAMES_ZH order), "online": {"total": n, "by_role": {role: n}}}."""
    p = _params(scope, now=now, since=now - ONLINE_WINDOW)
    grids = {"comprehensive": 0, "exclusive": 0, "total": 0}
    kinds: dict[str, int] = {}
    households = population = 0
    with conn.cursor() as cur:
        for gtype, kind, n, hh, pop in cur.execute(_GRIDS_BY_TYPE_SQL, p).fetchall():
            grids[gtype] = grids.get(gtype, 0) + n
            grids["total"] += n
            households += hh
            population += pop
            if kind:
                kinds[kind] = kinds.get(kind, 0) + n
        micro = one(cur.execute(_MICRO_GRIDS_SQL, p).fetchone())[0]
        staff: dict[str, int] = dict(cur.execute(_STAFF_BY_ROLE_SQL, p).fetchall())
        online: dict[str, int] = dict(cur.execute(_ONLINE_BY_ROLE_SQL, p).fetchall())
    order = list(STAFF_ROLE_NAMES_ZH)
    roles = sorted(staff, key=lambda r: (order.index(r) if r in order else len(order), r))
    return {
        "grids": grids
        | {
            "exclusive_kinds": [
                {"kind": k, "name": EXCLUSIVE_KIND_NAMES_ZH.get(k, k), "count": n}
                for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
        },
        "micro_grids": int(micro),
        "households": int(households),
        "population": int(population),
        "staff": [
            {"role": r, "name": STAFF_ROLE_NAMES_ZH.get(r, r), "count": staff[r]} for r in roles
        ],
        "online": {"total": sum(online.values()), "by_role": online},
    }


# --------------------------------------------------------------------------------------------
# Ticker
# --------------------------------------------------------------------------------------------

# Newest alerts first: an alert is "new" when the ticket was created urgent, when its stage
# went overdue, or when supervision last changed it (updated_at).
_TICKER_SQL = """
WITH a AS (
    SELECT t.ticket_no, t.category_code, t.grid_code, t.state, t.stage, t.urgency,
           t.supervision, t.stage_due_at,
           (t.state <> 'suspended' AND t.stage_due_at < %(now)s) AS overdue,
           greatest(CASE WHEN t.urgency = 'urgent' THEN t.created_at END,
                    CASE WHEN t.state <> 'suspended' AND t.stage_due_at < %(now)s
                         THEN t.stage_due_at END,
                    CASE WHEN t.supervision > 0 THEN t.updated_at END) AS alert_at
      FROM ticket t
     WHERE state NOT IN ('closed', 'surveyed', 'rejected') AND t.grid_code LIKE %(like)s
       AND (t.urgency = 'urgent' OR t.supervision > 0
            OR (t.state <> 'suspended' AND t.stage_due_at < %(now)s))
     ORDER BY alert_at DESC NULLS LAST, t.ticket_no
     LIMIT %(limit)s
)
SELECT a.ticket_no, coalesce(mc.name_zh, '') AS major, coalesce(c.name_zh, '') AS category,
       coalesce(g.name, a.grid_code) AS grid_name, a.state, a.stage, a.urgency, a.supervision,
       a.overdue, a.stage_due_at
  FROM a
  LEFT JOIN category c ON c.code = a.category_code
  LEFT JOIN category mc ON mc.code = left(a.category_code, 2)
  LEFT JOIN grid g ON g.code = a.grid_code
        AND g.valid_from <= %(now)s AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
 ORDER BY a.alert_at DESC NULLS LAST, a.ticket_no
"""

SUPERVISION_NAMES_ZH = {1: "提醒", 2: "黄牌督办", 3: "红牌督办"}


def ticker(conn: psycopg.Connection, scope: Scope, now: datetime, limit: int = 20) -> list[dict]:
    """The newest open alerts (urgent, overdue or under supervision), newest first, at most
    ``limit``: [{"ticket_no", "category" (major·minor name), "grid", "state", "stage" (zh
    names), "urgent", "supervision" (0–3), "supervision_name", "overdue_min" (whole minutes the
    current stage is past due, 0 when not overdue)}]. No personal data, no address."""
    if not 1 <= limit <= 200:
        raise ValueError("limit must be between 1 and 200")
    rows = conn.execute(_TICKER_SQL, _params(scope, now=now, limit=limit)).fetchall()
    out = []
    for no, major, minor, grid, state, stage, urgency, sup, overdue, due in rows:
        overdue_min = int((now - due).total_seconds() // 60) if overdue and due else 0
        cat = major if not minor or minor == major else f"{major}·{minor}"
        out.append(
            {
                "ticket_no": no,
                "category": cat,
                "grid": grid,
                "state": STATE_NAMES_ZH.get(state, state),  # type: ignore[call-overload]
                "stage": STAGE_NAMES_ZH.get(stage or "", ""),
                "urgent": urgency == "urgent",
                "supervision": int(sup),
                "supervision_name": SUPERVISION_NAMES_ZH.get(int(sup), ""),
                "overdue_min": overdue_min,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# Jurisdiction and geometry
# --------------------------------------------------------------------------------------------

_JURISDICTION_SQL = """
SELECT name FROM region WHERE code = %(code)s AND valid_to IS NULL
UNION ALL
SELECT name FROM grid WHERE code = %(code)s AND valid_to IS NULL
LIMIT 1
"""
_TOP_REGIONS_SQL = """
SELECT name FROM region
 WHERE valid_to IS NULL AND code LIKE %(like)s
   AND (parent_code IS NULL OR parent_code NOT IN (SELECT code FROM region WHERE valid_to IS NULL))
 ORDER BY code LIMIT 2
"""


def jurisdiction_name(conn: psycopg.Connection, scope: Scope) -> str:
    """The display name of the jurisdiction: the region or grid whose code is the prefix; for
    the empty prefix the single top-level region; otherwise "辖区 <prefix>" / "全辖区"."""
    if scope.prefix:
        row = conn.execute(_JURISDICTION_SQL, {"code": scope.prefix}).fetchone()
        return row[0] if row else f"辖区 {scope.prefix}"
    rows = conn.execute(_TOP_REGIONS_SQL, _params(scope)).fetchall()
    return rows[0][0] if len(rows) == 1 else "全辖区"


# --------------------------------------------------------------------------------------------
# One refresh = one cached JSON blob
# --------------------------------------------------------------------------------------------


class ScreenServices(Protocol):
    """What the payload builders need from queries.services.Services (kept structural so that
    ``queries`` does not import the dashboard)."""

    pool: ConnectionPool
    cache: Cache
    scope: Scope

    @property
    def settings(self) -> Any: ...


def floor_time(now: datetime, seconds: int) -> datetime:
    """``now`` floored to a multiple of ``seconds`` since the epoch (same zone as ``now``)."""
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def build_screen(
    conn: psycopg.Connection, scope: Scope, now: datetime, tz: tzinfo, *, version: int = 0
) -> dict[str, Any]:
    """Everything a counters refresh shows, as plain JSON-able data, computed at ``now``:
    {"version", "as_of" (ISO), "as_of_ms", "jurisdiction", "kpis", "trend", "categories",
    "ranking", "basic"}. (The map's colours come from the grid layer, layers/grids.py.)"""
    return {
        "version": version,
        "as_of": now.astimezone(tz).isoformat(),
        "as_of_ms": int(now.timestamp() * 1000),
        "jurisdiction": jurisdiction_name(conn, scope),
        "kpis": kpis(conn, scope, now, tz),
        "trend": trend(conn, scope, now, tz, days=30),
        "categories": category_mix(conn, scope, now, tz, days=30),
        "ranking": town_ranking(conn, scope, now, tz),
        "basic": basic_data(conn, scope, now),
    }


def screen_payload(services: ScreenServices, now: datetime) -> bytes:
    """The counters refresh of the screen as UTF-8 JSON (see build_screen), computed at ``now``
    floored to settings.refresh_counters_s and cached under
    cache_key("screen", data version, {"bucket", "tz"}, scope): a warm call is one version read
    and one Redis GET. Works without Redis (the Cache degrades to computing)."""
    settings = services.settings
    bucket = floor_time(now, settings.refresh_counters_s)
    with services.pool.connection() as conn:
        version = data_version(conn)
        key = services.cache.key(
            "screen",
            version,
            {"bucket": bucket.isoformat(), "tz": settings.timezone},
            services.scope,
        )

        def compute() -> bytes:
            with custom_plans(conn):
                return _dumps(
                    build_screen(conn, services.scope, bucket, settings.tz, version=version)
                )

        return services.cache.get_or_compute(key, compute)


TICKER_LIMIT = 20


def ticker_payload(services: ScreenServices, now: datetime, limit: int = TICKER_LIMIT) -> bytes:
    """The ticker refresh as UTF-8 JSON {"version", "as_of_ms", "items": ticker(...)}, computed
    at ``now`` floored to settings.refresh_alerts_s and cached like screen_payload."""
    settings = services.settings
    bucket = floor_time(now, settings.refresh_alerts_s)
    with services.pool.connection() as conn:
        version = data_version(conn)
        key = services.cache.key(
            "screen-ticker",
            version,
            {"bucket": bucket.isoformat(), "limit": limit},
            services.scope,
        )

        def compute() -> bytes:
            with custom_plans(conn):
                items = ticker(conn, services.scope, bucket, limit)
            as_of = int(bucket.timestamp() * 1000)
            return _dumps({"version": version, "as_of_ms": as_of, "items": items})

        return services.cache.get_or_compute(key, compute)
