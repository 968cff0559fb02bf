"""Queries the live demo simulator needs to pick where new tickets happen and what moves next.

Any of them may raise a transient database error (``queries.transient``: a statement timeout,
a lock wait given up, a dropped connection); the simulator's loop rides those out."""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from .scope import Scope


def yield_to_locks(conn: psycopg.Connection, lock_timeout_ms: int) -> None:
    """Make the simulator's session give up a lock wait after ``lock_timeout_ms`` (raising
    ``LockNotAvailable``, which the loop rides out) instead of waiting for the statement
    timeout: queued behind a migration's lock it would also hold up everyone queued behind it.
    """
    conn.execute("SELECT set_config('lock_timeout', %s, false)", (str(lock_timeout_ms),))
    conn.commit()


def tickets_answer(conn: psycopg.Connection) -> None:
    """Read one row of ``ticket`` and commit: raises the transient error while the table the
    simulator writes is still locked or the database still away. A tick that happened to write
    nothing (no new ticket, no step drawn) proves nothing, so the loop asks this before it
    declares an outage over; otherwise one lock is logged as several outages."""
    conn.execute("SELECT 1 FROM ticket LIMIT 1").fetchall()
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


# The simulator's tickets to move on: open (and recently closed, unsurveyed) tickets of the
# jurisdiction from the last 60 days, at random. On the large demo they are ~100,000 rows:
# sorting them all by random() every second was a third of PostgreSQL's work during the wall
# benchmark (issue #10). A sample of SAMPLE_PERCENT of the pages finds enough of them; a
# small city, where it finds too few, reads them all.
_ADVANCE_SQL = """
SELECT id, state, category_code, urgency, stage_started_at, stage_due_at
  FROM ticket {sample}
 WHERE state NOT IN ('surveyed', 'rejected', 'suspended') AND grid_code LIKE %(like)s
   AND stage_started_at < %(now)s AND created_at > %(now)s - interval '60 days'
 ORDER BY random() LIMIT %(n)s
"""
SAMPLE_PERCENT = 2.0


def tickets_to_advance(
    conn: psycopg.Connection, scope: Scope, now: datetime, limit: int
) -> list[dict]:
    """Up to ``limit`` open (and recently closed, unsurveyed) tickets of the jurisdiction
    created in the last 60 days, at random (from a sample of the pages when it holds
    enough)."""
    params = {"like": scope.like, "now": now, "n": limit, "pct": SAMPLE_PERCENT}
    with conn.cursor(row_factory=dict_row) as cur:
        for sample in ("TABLESAMPLE SYSTEM (%(pct)s)", ""):
            query = sql.SQL(_ADVANCE_SQL).format(sample=sql.SQL(sample))
            rows = cur.execute(query, params).fetchall()
            if len(rows) >= limit:
                break
    return rows


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
