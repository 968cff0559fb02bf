"""Reads behind the map's worker-position layer: latest fixes (Redis, else PostgreSQL) with
the roster (role, assigned grids) of the workers in scope. Roles are codes; the layer
(layers/workers.py) builds the map's GeoJSON and names them. The detail of one worker on click
is ``queries.worker_detail``; the delta feed's view is ``queries.worker_view``.

Positions are WGS84 lon/lat (EPSG:4326); instants are UTC. The bulk payload carries no names,
phones or tracks: staff id, role, status and the outside-of-assigned-grids flag only;
``grid_anchors`` places per-grid counts for callers who may not see positions.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
import redis

from .db import one
from .faults import FaultLog
from .positions import LatestFix, PositionStore
from .scope import Scope
from .screen.kpis import ONLINE_WINDOW

log = logging.getLogger(__name__)

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
    Redis plus the roster from PostgreSQL (static tables only); None when Redis cannot be
    trusted and another process is priming it (``PositionStore.read_all``: a hash that is not
    primed or older than PostgreSQL is primed again first). Raises redis.RedisError when Redis
    fails."""
    fixes = store.read_all(conn)
    if fixes is None:
        return None
    return roster_join(conn, fixes, scope, now, roles)


def roster_join(
    conn: psycopg.Connection,
    fixes: Mapping[int, LatestFix],
    scope: Scope,
    now: datetime,
    roles: Sequence[str] = FIELD_ROLES,
) -> tuple[list[WorkerFix], int]:
    """(the workers of ``fixes`` who are active field staff of ``roles`` in ``scope`` with a
    fix newer than MAX_AGE, how many of them have an older fix)."""
    oldest = now - MAX_AGE
    out, hidden = [], 0
    for sid, (role, grids) in roster_of(conn, list(fixes), scope, now, roles).items():
        f = fixes[sid]
        if f.at <= oldest:
            hidden += 1
            continue
        out.append(WorkerFix(sid, role, grids, f))
    return out, hidden


def roster_of(
    conn: psycopg.Connection,
    staff_ids: Sequence[int],
    scope: Scope,
    now: datetime,
    roles: Sequence[str] = FIELD_ROLES,
) -> dict[int, tuple[str, tuple[str, ...]]]:
    """{staff id: (role, current assigned grid codes)} of those of ``staff_ids`` who are
    active field staff of ``roles`` in ``scope`` (an assigned grid in scope, or the staff's
    own region in scope); the others are left out."""
    rows = conn.execute(
        _ROSTER_SQL,
        {"ids": list(staff_ids), "now": now, "roles": check_roles(roles), "like": scope.like},
    ).fetchall()
    return {sid: (role, tuple(grids)) for sid, role, grids in rows}


# Every worker of the scope: staff whose region is in scope or with a current assignment in
# scope (the two indexed halves of _ROSTER_SQL's HAVING), then the same roster.
_SCOPE_ROSTER_SQL = """
WITH cand AS (
    SELECT s.id FROM staff s WHERE s.region_code LIKE %(like)s
    UNION
    SELECT a.staff_id FROM staff_assignment a
     WHERE a.valid_to IS NULL AND a.valid_from <= %(now)s AND a.grid_code LIKE %(like)s
)
SELECT s.id, s.role,
       coalesce(array_agg(a.grid_code ORDER BY a.grid_code)
                FILTER (WHERE a.grid_code IS NOT NULL), '{}') AS grids
  FROM staff s JOIN cand ON cand.id = s.id
  LEFT JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL
        AND a.valid_from <= %(now)s
 WHERE s.active AND s.role = ANY(%(roles)s)
 GROUP BY s.id
"""


def roster_in_scope(
    conn: psycopg.Connection, scope: Scope, now: datetime, roles: Sequence[str] = FIELD_ROLES
) -> dict[int, tuple[str, tuple[str, ...]]]:
    """{staff id: (role, current assigned grid codes)} of every active field staff of
    ``roles`` in ``scope``, with or without a fix (the rule of ``roster_of``)."""
    rows = conn.execute(
        _SCOPE_ROSTER_SQL, {"now": now, "roles": check_roles(roles), "like": scope.like}
    ).fetchall()
    return {sid: (role, tuple(grids)) for sid, role, grids in rows}


# The south-west corner of the scope's current grid anchors (EPSG:4326): a stable origin for
# quantised coordinates.
_CORNER_SQL = """
SELECT min(ST_X(g.anchor)), min(ST_Y(g.anchor))
  FROM grid g WHERE g.valid_to IS NULL AND g.code LIKE %(like)s
"""


def scope_corner(conn: psycopg.Connection, scope: Scope) -> tuple[float, float] | None:
    """(lon, lat) WGS84 of the south-west corner of the scope's grid anchors; None when the
    scope holds no grid."""
    lon, lat = one(conn.execute(_CORNER_SQL, {"like": scope.like}).fetchone())
    return None if lon is None else (float(lon), float(lat))


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
    *,
    faults: FaultLog | None = None,
) -> tuple[list[WorkerFix], int, str]:
    """(workers, hidden as too old, source 'redis' or 'postgres'): Redis when it answers and
    can be trusted (primed again first when it cannot), otherwise PostgreSQL. A Redis failure
    is reported to ``faults`` (logged once per outage) or, without one, logged."""
    if store is not None:
        try:
            got = workers_from_redis(conn, store, scope, now, roles)
            if faults is not None:
                faults.ok("redis")
            if got is not None:
                return got[0], got[1], "redis"
        except redis.RedisError as exc:
            if faults is not None:
                faults.failed("redis", exc)
            else:
                log.warning("worker positions: Redis unavailable (%s); reading PostgreSQL", exc)
    workers, hidden = workers_from_postgres(conn, scope, now, roles)
    return workers, hidden, "postgres"


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


def grid_of(w: WorkerFix, scope: Scope) -> str | None:
    """The grid a worker is counted in: a grid covering the fix, one of the worker's own when
    it can, in ``scope``; None when no grid of the scope covers the fix."""
    inside = [g for g in w.fix.grids if scope.contains(g)]
    own = [g for g in inside if g in w.assigned]
    return (own or inside)[0] if inside else None


def status_of(fix: LatestFix, now: datetime) -> str:
    """'online' (fresh and on duty), 'off_duty' (fresh, off duty) or 'stale' (no ping within
    STALE_AFTER)."""
    if now - fix.at > STALE_AFTER:
        return "stale"
    return "online" if fix.on_duty else "off_duty"
