"""One worker of the map's worker layer on click: name, role, grids, last ping, share of
micro-grids visited today and today's track (``worker_detail``).

The track is L4 sensitive personal data (DOMAIN.md §7): every call writes an ``audit_event``
row for its viewer (the ``gridscope.audit`` log line is a copy). Positions are WGS84 lon/lat
(EPSG:4326); instants are UTC, "today" is the local day in the configured time zone.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, tzinfo
from typing import Any

import psycopg

from domain.access import FIELD_TIERS

from . import audit
from .db import one
from .position_store import LatestFix
from .scope import Scope
from .viewer import Viewer
from .worker_layer import FIELD_ROLES, status_of

# A copy of the L4 read record (the record is the audit_event row): one INFO line per read.
audit_log = logging.getLogger("gridscope.audit")


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
