"""Worker GPS positions: the time series and the latest fix per worker."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import psycopg

from .cache import bump_data_version
from .scope import Scope


def record_positions(
    conn: psycopg.Connection,
    fixes: Iterable[tuple[int, datetime, float, float]],
    on_duty: bool = True,
) -> int:
    """Append WGS84 fixes (staff_id, at, lon, lat) and move each worker's latest position.

    The latest position also records the grid it lies in (NULL outside every grid). Older fixes
    never overwrite a newer latest position. Returns the fixes stored.
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
        cur.execute(
            "INSERT INTO worker_last_position (staff_id, at, geom, grid_code, on_duty)"
            " SELECT DISTINCT ON (f.staff_id) f.staff_id, f.at, f.geom,"
            "   (SELECT g.code FROM grid g WHERE g.valid_to IS NULL AND ST_Covers(g.geom, f.geom)"
            "    LIMIT 1), %s"
            " FROM (SELECT u.staff_id, u.at, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326) AS geom"
            "       FROM unnest(%s::bigint[], %s::timestamptz[], %s::float8[], %s::float8[])"
            "         AS u(staff_id, at, lon, lat)) f"
            " ORDER BY f.staff_id, f.at DESC"
            " ON CONFLICT (staff_id) DO UPDATE SET at = EXCLUDED.at, geom = EXCLUDED.geom,"
            "   grid_code = EXCLUDED.grid_code, on_duty = EXCLUDED.on_duty"
            " WHERE worker_last_position.at <= EXCLUDED.at",
            (
                on_duty,
                [f[0] for f in fixes],
                [f[1] for f in fixes],
                [f[2] for f in fixes],
                [f[3] for f in fixes],
            ),
        )
    bump_data_version(conn)
    conn.commit()
    return len(fixes)


def workers_on_duty(conn: psycopg.Connection, scope: Scope) -> list[dict]:
    """Full- and part-time workers of the jurisdiction with one of their grids and its point
    on surface (lon/lat) and the worker's latest fix if any."""
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            "SELECT DISTINCT ON (s.id) s.id AS staff_id, a.grid_code,"
            "  ST_X(ST_PointOnSurface(g.geom)) AS home_lon,"
            "  ST_Y(ST_PointOnSurface(g.geom)) AS home_lat,"
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
