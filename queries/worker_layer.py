"""Reads behind the map's worker-position layer: latest fixes (Redis, else PostgreSQL) and the
detail of one worker on click (today's track, patrol coverage). Roles are codes; the layer
(layers/workers.py) builds the map's GeoJSON and names them.

Positions are WGS84 lon/lat (EPSG:4326); instants are UTC, "today" is the local day in the
configured time zone. The bulk payload carries no names, phones or tracks: staff id, role,
status and the outside-of-assigned-grids flag only; ``grid_anchors`` places per-grid counts
for callers who may not see positions. The detail (``worker_detail``) reads the worker's
track, which is L4 sensitive personal data (DOMAIN.md §7): every call writes an
``audit_event`` row for its viewer (the ``gridscope.audit`` log line is a copy).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import psycopg
import redis

from domain.access import FIELD_TIERS

from . import audit
from .db import one
from .positions import LatestFix, PositionStore
from .scope import Scope
from .screen.kpis import ONLINE_WINDOW
from .viewer import Viewer

log = logging.getLogger(__name__)
# A copy of the L4 read record (the record is the audit_event row): one INFO line per read.
audit_log = logging.getLogger("gridscope.audit")

# Staff who patrol and may send fixes; centre operators and department officers are not shown.
FIELD_ROLES: tuple[str, ...] = (
    "grid_chief",
    "fulltime_worker",
    "parttime_worker",
    "micro_grid_chief",
    "grid_instructor",
)
# Grey after this long without a ping (the same window as the screen's "online now").
STALE_AFTER = ONLINE_WINDOW
# Fixes older than this are not drawn at all (a worker who went home yesterday is not on the
# map); the payload counts them in meta.hidden_old so nothing disappears silently.
MAX_AGE = timedelta(hours=12)
# At most this many workers in one payload (a city has ~15k field staff); explicit cap.
MAX_WORKERS = 50_000

# Who is in scope: a worker with a current assignment to a grid in scope, or (no such
# assignment) whose own region is in scope. Current assignment = open-ended and started
# (``valid_to IS NULL``, the predicate of the partial index staff_assignment_staff).
_ROSTER_SQL = """
SELECT s.id, s.role,
       coalesce(array_agg(a.grid_code ORDER BY a.grid_code)
                FILTER (WHERE a.grid_code IS NOT NULL), '{}') AS grids
  FROM staff s
  LEFT JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
        AND a.valid_from <= %(now)s AND a.staff_id = ANY(%(ids)s::bigint[])
 WHERE s.id = ANY(%(ids)s::bigint[]) AND s.active AND s.role = ANY(%(roles)s)
 GROUP BY s.id
HAVING s.region_code LIKE %(like)s OR coalesce(bool_or(a.grid_code LIKE %(like)s), false)
"""

# The same roster joined to worker_last_position: the fallback when Redis is down or not
# primed. The grids covering a fix are recomputed only when the stored grid (one covering
# grid) is not one of the worker's: a fix on a shared boundary is then still inside.
_POSTGRES_SQL = """
WITH r AS (
    SELECT s.id, s.role,
           coalesce(array_agg(a.grid_code ORDER BY a.grid_code)
                    FILTER (WHERE a.grid_code IS NOT NULL), '{}') AS grids
      FROM worker_last_position p
      JOIN staff s ON s.id = p.staff_id
      LEFT JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
            AND a.valid_from <= %(now)s
     WHERE s.active AND s.role = ANY(%(roles)s) AND p.at > %(oldest)s
     GROUP BY s.id
    HAVING s.region_code LIKE %(like)s OR coalesce(bool_or(a.grid_code LIKE %(like)s), false)
)
SELECT r.id, r.role, r.grids, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       CASE WHEN p.grid_code = ANY(r.grids) THEN ARRAY[p.grid_code]
            ELSE ARRAY(SELECT g.code FROM grid g
                        WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code)
       END
  FROM r JOIN worker_last_position p ON p.staff_id = r.id
"""

# Workers of the scope whose latest fix is older than MAX_AGE (counted, not drawn).
_POSTGRES_OLD_SQL = """
SELECT count(*)
  FROM worker_last_position p JOIN staff s ON s.id = p.staff_id
 WHERE s.active AND s.role = ANY(%(roles)s) AND p.at <= %(oldest)s
   AND (s.region_code LIKE %(like)s
        OR EXISTS (SELECT 1 FROM staff_assignment a
                    WHERE a.staff_id = s.id AND a.valid_to IS NULL
                      AND a.valid_from <= %(now)s AND a.grid_code LIKE %(like)s))
"""


@dataclass(frozen=True)
class WorkerFix:
    """A worker in scope with the latest fix and current assigned grid codes."""

    staff_id: int
    role: str
    assigned: tuple[str, ...]
    fix: LatestFix

    @property
    def outside(self) -> bool:
        """True when no current assigned grid covers the fix (ST_Covers, boundary included)."""
        return not set(self.assigned) & set(self.fix.grids)


def check_roles(roles: Iterable[str]) -> list[str]:
    """The roles, each checked against FIELD_ROLES (ValueError names an unknown role)."""
    out = list(roles)
    for r in out:
        if r not in FIELD_ROLES:
            raise ValueError(f"unknown worker role {r!r}; allowed: {', '.join(FIELD_ROLES)}")
    return out


def workers_from_redis(
    conn: psycopg.Connection,
    store: PositionStore,
    scope: Scope,
    now: datetime,
    roles: Sequence[str] = FIELD_ROLES,
) -> tuple[list[WorkerFix], int] | None:
    """(workers in scope with a fix newer than MAX_AGE, fixes hidden as too old) read from
    Redis plus the roster from PostgreSQL (static tables only); None when Redis is not primed.
    Raises redis.RedisError when Redis fails."""
    fixes = store.read_all()
    if fixes is None:
        return None
    oldest = now - MAX_AGE
    recent = {sid: f for sid, f in fixes.items() if f.at > oldest}
    rows = conn.execute(
        _ROSTER_SQL,
        {"ids": list(fixes), "now": now, "roles": check_roles(roles), "like": scope.like},
    ).fetchall()
    out, hidden = [], 0
    for sid, role, grids in rows:
        f = recent.get(sid)
        if f is None:
            hidden += 1
            continue
        out.append(WorkerFix(sid, role, tuple(grids), f))
    return out, hidden


def workers_from_postgres(
    conn: psycopg.Connection, scope: Scope, now: datetime, roles: Sequence[str] = FIELD_ROLES
) -> tuple[list[WorkerFix], int]:
    """The same as workers_from_redis, read from worker_last_position."""
    params = {
        "now": now,
        "oldest": now - MAX_AGE,
        "roles": check_roles(roles),
        "like": scope.like,
    }
    rows = conn.execute(_POSTGRES_SQL, params).fetchall()
    hidden = int(one(conn.execute(_POSTGRES_OLD_SQL, params).fetchone())[0])
    out = []
    for sid, role, grids, at, lon, lat, duty, covering in rows:
        fix = LatestFix(sid, at, float(lon), float(lat), bool(duty), tuple(covering or ()))
        out.append(WorkerFix(sid, role, tuple(grids), fix))
    return out, hidden


def latest_workers(
    conn: psycopg.Connection,
    store: PositionStore | None,
    scope: Scope,
    now: datetime,
    roles: Sequence[str] = FIELD_ROLES,
) -> tuple[list[WorkerFix], int, str]:
    """(workers, hidden as too old, source 'redis' or 'postgres'): Redis when it answers and is
    primed, otherwise PostgreSQL — and then Redis is primed again for the next reader (one
    priming at a time across processes, guarded by a short Redis lock)."""
    if store is not None:
        try:
            got = workers_from_redis(conn, store, scope, now, roles)
            if got is not None:
                return got[0], got[1], "redis"
            _prime(conn, store)
        except redis.RedisError as exc:
            log.warning("worker positions: Redis unavailable (%s); reading PostgreSQL", exc)
    workers, hidden = workers_from_postgres(conn, scope, now, roles)
    return workers, hidden, "postgres"


def _prime(conn: psycopg.Connection, store: PositionStore) -> None:
    lock = f"{store.primed_key}:lock"
    if store.client.set(lock, b"1", nx=True, ex=30):
        try:
            n = store.resync(conn)
            log.info("worker positions: primed Redis with %d latest fixes", n)
        finally:
            store.client.delete(lock)


# The stored anchor (point on surface, migration 0004) of each grid code in scope; the latest
# version of the code, so a retired grid still places its counts.
_ANCHORS_SQL = """
SELECT DISTINCT ON (g.code) g.code, g.name, ST_X(g.anchor), ST_Y(g.anchor)
  FROM grid g
 WHERE g.code = ANY(%(codes)s) AND g.code LIKE %(like)s
 ORDER BY g.code, g.valid_to IS NULL DESC, g.valid_from DESC
"""


def grid_anchors(
    conn: psycopg.Connection, scope: Scope, codes: Iterable[str]
) -> dict[str, tuple[str, float, float]]:
    """{grid code: (name, lon, lat)} of the anchors (EPSG:4326) of ``codes`` in ``scope``;
    codes outside the scope or without geometry are left out."""
    wanted = sorted({c for c in codes if scope.contains(c)})
    if not wanted:
        return {}
    rows = conn.execute(_ANCHORS_SQL, {"codes": wanted, "like": scope.like}).fetchall()
    return {c: (n, float(x), float(y)) for c, n, x, y in rows if x is not None}


def status_of(fix: LatestFix, now: datetime) -> str:
    """'online' (fresh and on duty), 'off_duty' (fresh, off duty) or 'stale' (no ping within
    STALE_AFTER)."""
    if now - fix.at > STALE_AFTER:
        return "stale"
    return "online" if fix.on_duty else "off_duty"


# --------------------------------------------------------------------------------------------
# One worker on click (L4: today's track)
# --------------------------------------------------------------------------------------------

_DETAIL_SQL = """
SELECT s.id, s.name, s.role, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       coalesce((SELECT json_agg(json_build_object('code', a.grid_code,
                                                   'name', coalesce(g.name, a.grid_code))
                                 ORDER BY a.grid_code)
                   FROM staff_assignment a
                   LEFT JOIN grid g ON g.code = a.grid_code AND g.valid_from <= %(now)s
                        AND (g.valid_to IS NULL OR g.valid_to > %(now)s)
                  WHERE a.staff_id = s.id AND a.valid_from <= %(now)s
                    AND (a.valid_to IS NULL OR a.valid_to > %(now)s)), '[]'::json) AS grids
  FROM staff s
  LEFT JOIN worker_last_position p ON p.staff_id = s.id
 WHERE s.id = %(sid)s AND s.active AND s.role = ANY(%(roles)s)
   AND (s.region_code LIKE %(like)s
        OR EXISTS (SELECT 1 FROM staff_assignment a
                    WHERE a.staff_id = s.id AND a.grid_code LIKE %(like)s
                      AND a.valid_from <= %(now)s
                      AND (a.valid_to IS NULL OR a.valid_to > %(now)s)))
"""

# Today's fixes (local midnight .. now) as one line, rounded to 6 decimals (~0.1 m).
_TRACK_SQL = """
SELECT count(*), ST_AsGeoJSON(ST_MakeLine(geom ORDER BY at), 6)
  FROM worker_position
 WHERE staff_id = %(sid)s AND at >= %(day_start)s AND at <= %(now)s
"""

# Micro-grids of the worker's current grids, and those holding at least one of today's fixes.
_COVERAGE_SQL = """
WITH mg AS (
    SELECT m.code, m.geom
      FROM micro_grid m
     WHERE m.grid_code IN (SELECT a.grid_code FROM staff_assignment a
                            WHERE a.staff_id = %(sid)s AND a.valid_from <= %(now)s
                              AND (a.valid_to IS NULL OR a.valid_to > %(now)s))
       AND m.valid_from <= %(now)s AND (m.valid_to IS NULL OR m.valid_to > %(now)s)
), fx AS MATERIALIZED (
    SELECT geom FROM worker_position
     WHERE staff_id = %(sid)s AND at >= %(day_start)s AND at <= %(now)s
)
SELECT count(*)::int,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM fx WHERE ST_Covers(mg.geom, fx.geom)))::int
  FROM mg
"""

_COVERING_SQL = """
SELECT coalesce(array_agg(g.code ORDER BY g.code), '{}')
  FROM grid g
 WHERE g.valid_to IS NULL AND ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
"""


def local_day_start(now: datetime, tz: tzinfo) -> datetime:
    """Local midnight of ``now``'s day in ``tz`` (aware)."""
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def worker_detail(
    conn: psycopg.Connection,
    scope: Scope,
    staff_id: int,
    now: datetime,
    tz: tzinfo,
    *,
    viewer: Viewer,
) -> dict[str, Any] | None:
    """One worker of the jurisdiction, or None when not a field worker in scope:
    {"id", "name", "role" (code), "grids": [{"code", "name"}], "last_ping" (ISO, local
    time, or None), "last_ping_age_s", "status", "outside", "track" (GeoJSON LineString of
    today's fixes, EPSG:4326, or None), "track_points", "micro_grids": {"visited", "total",
    "share" (0–1 or None)}}. The track is L4 data: each served read inserts an audit_event
    row for ``viewer`` (action "track_read", object "worker", the staff id) on ``conn``
    without committing (the caller's transaction commits it with the read), and logs a copy
    to ``gridscope.audit``. The caller checks that ``viewer`` may read tracks."""
    params = {"sid": int(staff_id), "now": now, "roles": list(FIELD_ROLES), "like": scope.like}
    row = conn.execute(_DETAIL_SQL, params).fetchone()
    if row is None:
        return None
    sid, name, role, at, lon, lat, duty, grids = row
    day_start = local_day_start(now, tz)
    day = {**params, "day_start": day_start}
    n_fixes, track = one(conn.execute(_TRACK_SQL, day).fetchone())
    total, visited = one(conn.execute(_COVERAGE_SQL, day).fetchone())
    event = audit.event_for(
        viewer,
        "track_read",
        object="worker",
        object_ids=[str(sid)],
        count=int(n_fixes),
        tier=int(FIELD_TIERS["worker.track"]),
        detail={"day_start": day_start.isoformat(), "scope": scope.prefix},
    )
    audit.write(conn, event, now, commit=False)
    audit_log.info(
        "L4 read: worker track staff_id=%s scope=%r requested_by=%r fixes=%d day_start=%s",
        sid,
        scope.prefix,
        viewer.label,
        n_fixes,
        day_start.isoformat(),
    )
    status, outside = None, None
    if at is not None:
        fix = LatestFix(sid, at, float(lon), float(lat), bool(duty), ())
        status = status_of(fix, now)
        assigned = {g["code"] for g in grids}
        covering = one(conn.execute(_COVERING_SQL, {"lon": lon, "lat": lat}).fetchone())[0]
        outside = not assigned & set(covering)
    return {
        "id": sid,
        "name": name,
        "role": role,
        "grids": list(grids),
        "last_ping": at.astimezone(tz).isoformat() if at is not None else None,
        "last_ping_age_s": max(0, int((now - at).total_seconds())) if at is not None else None,
        "status": status,
        "outside": outside,
        "position": [round(float(lon), 6), round(float(lat), 6)] if at is not None else None,
        "track": json.loads(track) if track and n_fixes >= 2 else None,
        "track_points": int(n_fixes),
        "micro_grids": {
            "visited": visited,
            "total": total,
            "share": (visited / total) if total else None,
        },
    }
