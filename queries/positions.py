"""Worker GPS positions: the time series, the latest fix per worker, and its Redis copy.

PostgreSQL holds the truth (``worker_position``, ``worker_last_position``). The ingest path,
``record_positions``, also keeps the latest fix per worker in Redis (``PositionStore``) so that
the map's worker layer, refreshed every ``refresh_workers_s`` on every wall, does not read the
write-hot ``worker_last_position`` table. Order of writes: the database commits first, then
Redis is updated; a Redis failure is logged and never loses or rolls back the database write.

The Redis side (``PositionStore``, ``LatestFix``, the key layout and the marks that keep a
restored snapshot from passing for the newest positions) is ``queries.position_store``; both
names are re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import psycopg

from .position_store import ALL_LATEST_SQL, LatestFix, PositionStore, epoch_ms
from .scope import Scope

__all__ = [
    "LatestFix",
    "PositionStore",
    "latest_from_postgres",
    "record_positions",
    "workers_on_duty",
]

log = logging.getLogger(__name__)

# Moves the latest position of each worker in the batch (older fixes never overwrite newer
# ones) and returns the rows it moved, with the current grids that cover each fix, for Redis.
_UPSERT_LATEST_SQL = """
WITH f AS (
    SELECT DISTINCT ON (u.staff_id) u.staff_id, u.at, u.lon, u.lat,
           ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom
      FROM unnest(%(staff)s::bigint[], %(at)s::timestamptz[], %(lon)s::float8[],
                  %(lat)s::float8[]) AS u(staff_id, at, lon, lat)
     ORDER BY u.staff_id, u.at DESC
), c AS (
    SELECT f.*, ARRAY(SELECT g.code FROM grid g
                       WHERE g.valid_to IS NULL AND ST_Covers(g.geom, f.geom)
                       ORDER BY g.code) AS grids
      FROM f
), up AS (
    INSERT INTO worker_last_position (staff_id, at, geom, grid_code, on_duty)
    SELECT c.staff_id, c.at, c.geom, c.grids[1], %(on_duty)s FROM c
    ON CONFLICT (staff_id) DO UPDATE SET at = EXCLUDED.at, geom = EXCLUDED.geom,
        grid_code = EXCLUDED.grid_code, on_duty = EXCLUDED.on_duty
    WHERE worker_last_position.at <= EXCLUDED.at
    RETURNING staff_id
)
SELECT c.staff_id, c.at, c.lon, c.lat, c.grids FROM c JOIN up ON up.staff_id = c.staff_id
"""

_SOME_LATEST_SQL = """
SELECT p.staff_id, p.at, ST_X(p.geom), ST_Y(p.geom), p.on_duty,
       ARRAY(SELECT g.code FROM grid g
              WHERE g.valid_to IS NULL AND ST_Covers(g.geom, p.geom) ORDER BY g.code)
  FROM worker_last_position p
 WHERE p.staff_id = ANY(%(ids)s)
"""


def record_positions(
    conn: psycopg.Connection,
    fixes: Iterable[tuple[int, datetime, float, float]],
    on_duty: bool = True,
    *,
    store: PositionStore | None = None,
) -> int:
    """Append WGS84 fixes (staff_id, at, lon, lat) and move each worker's latest position.

    The latest position also records the grid it lies in (NULL outside every grid). Older fixes
    never overwrite a newer latest position. After the commit, the moved latest positions are
    written to ``store`` (Redis) when given; a Redis failure is logged, never raised, and the
    database write stands. Returns the fixes stored. Takes no scope: the caller first checks
    the staff against its jurisdiction (the API with ``queries.api.staff_outside``).
    """
    fixes = list(fixes)
    if not fixes:
        return 0
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO worker_position (staff_id, at, geom, on_duty)"
            " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s)",
            [(s, at, lon, lat, on_duty) for s, at, lon, lat in fixes],
        )
        moved = cur.execute(
            _UPSERT_LATEST_SQL,
            {
                "on_duty": on_duty,
                "staff": [f[0] for f in fixes],
                "at": [f[1] for f in fixes],
                "lon": [f[2] for f in fixes],
                "lat": [f[3] for f in fixes],
            },
        ).fetchall()
        if store is not None and moved:
            # Before the commit: see PositionStore.announce.
            store.announce(max(epoch_ms(at) for _, at, *_ in moved))
    # No data-version bump: fixes arrive every few seconds and would invalidate every cached
    # screen and layer at once. Readers of positions key their caches on the refresh bucket
    # (counters, worker layer) or read the Redis store directly.
    conn.commit()
    if store is not None:
        store.publish(
            conn,
            [
                LatestFix(sid, at, float(lon), float(lat), on_duty, tuple(grids or ()))
                for sid, at, lon, lat, grids in moved
            ],
        )
    return len(fixes)


def latest_from_postgres(
    conn: psycopg.Connection, staff_ids: Sequence[int] | None = None
) -> Mapping[int, LatestFix]:
    """Latest fixes from ``worker_last_position`` (all, or only ``staff_ids``), with the grids
    covering each fix computed now; the fallback when Redis is down or not primed."""
    if staff_ids is None:
        rows = conn.execute(ALL_LATEST_SQL).fetchall()
    else:
        rows = conn.execute(_SOME_LATEST_SQL, {"ids": list(staff_ids)}).fetchall()
    return {
        sid: LatestFix(sid, at, float(lon), float(lat), bool(duty), tuple(grids or ()))
        for sid, at, lon, lat, duty, grids in rows
    }


def workers_on_duty(conn: psycopg.Connection, scope: Scope) -> list[dict]:
    """Full- and part-time workers of the jurisdiction with one of their grids and its point
    on surface (lon/lat) and the worker's latest fix if any."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT DISTINCT ON (s.id) s.id AS staff_id, a.grid_code,"
            "  ST_X(g.anchor) AS home_lon,"
            "  ST_Y(g.anchor) AS home_lat,"
            "  ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat"
            " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
            " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
            " LEFT JOIN worker_last_position p ON p.staff_id = s.id"
            " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker')"
            "   AND a.grid_code LIKE %s"
            " ORDER BY s.id, a.grid_code",
            (scope.like,),
        )
        return cur.fetchall()
