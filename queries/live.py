"""Queries the live demo simulator needs to pick where new tickets happen and what moves next.

Any of them may raise a transient database error (``queries.transient``: a statement timeout,
a lock wait given up, a dropped connection); the simulator's loop rides those out."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from .scope import Scope


def yield_to_locks(conn: psycopg.Connection, lock_timeout_ms: int) -> None:
    """Make the simulator's session give up a lock wait after ``lock_timeout_ms`` (raising
    ``LockNotAvailable``, which the loop rides out) instead of waiting for the statement
    timeout: queued behind a migration's lock it would also hold up everyone queued behind it.
    """
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (str(lock_timeout_ms),))
    conn.commit()


def random_points(conn: psycopg.Connection, scope: Scope, n: int, seed: int) -> list[dict]:
    """``n`` WGS84 points, each uniformly inside a micro-grid drawn with weight by households.

    Returns dicts with lon, lat, grid_code, micro_grid_code, grid_type, exclusive_kind.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT setseed(%s)", ((seed % 10_000) / 10_000.0,))
        cur.execute(
            "WITH pick AS ("
            "  SELECT m.code, m.grid_code, m.geom FROM micro_grid m"
            "  WHERE m.valid_to IS NULL AND m.grid_code LIKE %(like)s"
            "  ORDER BY -ln(random()) / greatest(m.households, 1) LIMIT %(n)s)"
            " SELECT ST_X(pt) AS lon, ST_Y(pt) AS lat, p.grid_code, p.code AS micro_grid_code,"
            "   g.grid_type, g.exclusive_kind"
            " FROM pick p JOIN grid g ON g.code = p.grid_code AND g.valid_to IS NULL,"
            " LATERAL (SELECT (ST_Dump(ST_GeneratePoints(p.geom, 1, %(seed)s))).geom AS pt) d",
            {"like": scope.like, "n": n, "seed": seed},
        )
        return cur.fetchall()


def tickets_to_advance(
    conn: psycopg.Connection, scope: Scope, now: datetime, limit: int
) -> list[dict]:
    """Open (and recently closed, unsurveyed) tickets of the jurisdiction, oldest stage first."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, state, category_code, urgency, stage_started_at, stage_due_at"
            " FROM ticket"
            " WHERE state NOT IN ('surveyed', 'rejected', 'suspended') AND grid_code LIKE %s"
            "   AND stage_started_at < %s AND created_at > %s - interval '60 days'"
            " ORDER BY random() LIMIT %s",
            (scope.like, now, now, limit),
        )
        return cur.fetchall()


def lead_departments(conn: psycopg.Connection) -> dict[str, list[int]]:
    """{category code: department ids that lead on it} (the demo's are major codes; an
    imported department may lead a minor one). Departments that only assist
    (category_department.duty 'assist', migration 0009) are not leads."""
    out: dict[str, list[int]] = {}
    for code, dept in conn.execute(
        "SELECT category_code, department_id FROM category_department WHERE duty = 'lead'"
        " ORDER BY 1, 2"
    ).fetchall():
        out.setdefault(code, []).append(dept)
    return out


def admitted_categories(conn: psycopg.Connection) -> list[str]:
    """Codes of admitted categories."""
    return [
        r[0]
        for r in conn.execute("SELECT code FROM category WHERE admitted ORDER BY code").fetchall()
    ]
