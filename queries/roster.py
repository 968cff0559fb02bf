"""Staff, their grid assignments and departments (issue #13): what the staff and department
imports read and write, and the sweep's closing of assignments whose end date has come.

Bulk writes go through COPY into temporary tables (dropped at commit) and one set-based
statement each, so a file of 20,000 people and 40,000 assignments is a handful of statements.
Timestamps are timestamptz; an end date ``ends_on`` is a local day that ends the assignment at
its first instant in the deployment's time zone. The callers hold one transaction for a whole
import and commit it; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .scope import Scope

# pg_advisory_xact_lock(int, int) class of the roster imports (queries.imports uses 71_001/2).
_LOCK_ROSTER = 71_003
# The staff row an import writes, in this order (gridscope.imports.roster.staff_plan).
STAFF_FIELDS = (
    "staff_no",
    "name",
    "phone",
    "role",
    "department_id",
    "region_code",
    "start_date",
    "end_date",
    "active",
)
DEPARTMENT_FIELDS = ("code", "name", "kind", "level", "parent_code", "region_code", "phone")


def lock(conn: psycopg.Connection, kind: str) -> None:
    """Serialise imports of ``kind`` ('staff' or 'departments') until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_ROSTER, kind))


# ------------------------------------------------------------------ what rows are checked against


def current_grids(conn: psycopg.Connection, scope: Scope) -> dict[str, str]:
    """{grid code: community code} of the current grids in ``scope``."""
    rows = conn.execute(
        "SELECT code, community_code FROM grid WHERE valid_to IS NULL AND code LIKE %s",
        (scope.like,),
    ).fetchall()
    return dict(rows)


def current_micro_grids(conn: psycopg.Connection, scope: Scope) -> dict[str, str]:
    """{micro-grid code: grid code} of the current micro-grids whose grid is in ``scope``."""
    rows = conn.execute(
        "SELECT code, grid_code FROM micro_grid WHERE valid_to IS NULL AND grid_code LIKE %s",
        (scope.like,),
    ).fetchall()
    return dict(rows)


def current_region_codes(conn: psycopg.Connection) -> set[str]:
    """Codes of every current region (the caller applies its scope)."""
    return {r[0] for r in conn.execute("SELECT code FROM region WHERE valid_to IS NULL")}


def category_codes(conn: psycopg.Connection) -> set[str]:
    """Codes of the item list (admitted or not)."""
    return {r[0] for r in conn.execute("SELECT code FROM category")}


def staff_index(conn: psycopg.Connection) -> dict[int, tuple]:
    """{staff id: the staff row in STAFF_FIELDS order} of every staff row."""
    rows = conn.execute(
        "SELECT id, staff_no, name, phone, role, department_id, region_code, start_date,"
        " end_date, active FROM staff"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def assignments_of(
    conn: psycopg.Connection, staff_ids: Sequence[int]
) -> tuple[list[tuple], list[tuple]]:
    """The assignments of ``staff_ids``: (open rows (id, staff_id, grid_code, micro_grid_code
    or '', role, valid_from, ends_on), closed keys (staff_id, grid_code, micro_grid_code or '',
    role, latest valid_to))."""
    ids = list(staff_ids)
    open_rows = conn.execute(
        "SELECT id, staff_id, grid_code, coalesce(micro_grid_code, ''), role, valid_from, ends_on"
        " FROM staff_assignment WHERE valid_to IS NULL AND staff_id = ANY(%s)",
        (ids,),
    ).fetchall()
    closed = conn.execute(
        "SELECT staff_id, grid_code, coalesce(micro_grid_code, ''), role, max(valid_to)"
        " FROM staff_assignment WHERE valid_to IS NOT NULL AND staff_id = ANY(%s)"
        " GROUP BY 1, 2, 3, 4",
        (ids,),
    ).fetchall()
    return open_rows, closed


# ------------------------------------------------------------------ staff writes


def _copy(conn: psycopg.Connection, statement: str, rows: Iterable[Sequence[Any]]) -> None:
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def write_staff(
    conn: psycopg.Connection,
    changed: Sequence[tuple[int, tuple]],
    new: Sequence[tuple],
    now: datetime,
) -> dict[str, int]:
    """Update the ``changed`` staff rows ((id, fields in STAFF_FIELDS order)) and insert the
    ``new`` ones (fields); returns {staff_no: id} of the inserted rows."""
    conn.execute(
        'CREATE TEMP TABLE roster_staff (id bigint, staff_no text COLLATE "C", name text,'
        ' phone text, role text, department_id bigint, region_code text COLLATE "C",'
        " start_date date, end_date date, active boolean) ON COMMIT DROP"
    )
    _copy(
        conn,
        "COPY roster_staff (id, staff_no, name, phone, role, department_id, region_code,"
        " start_date, end_date, active) FROM STDIN",
        [(i, *f) for i, f in changed] + [(None, *f) for f in new],
    )
    conn.execute(
        "UPDATE staff s SET staff_no = t.staff_no, name = t.name, phone = t.phone, role = t.role,"
        " department_id = t.department_id, region_code = t.region_code,"
        " start_date = t.start_date, end_date = t.end_date, active = t.active, updated_at = %s"
        " FROM roster_staff t WHERE t.id IS NOT NULL AND s.id = t.id",
        (now,),
    )
    rows = conn.execute(
        "INSERT INTO staff (staff_no, name, phone, role, department_id, region_code, start_date,"
        " end_date, active, updated_at) SELECT staff_no, name, phone, role, department_id,"
        " region_code, start_date, end_date, active, %s FROM roster_staff WHERE id IS NULL"
        " RETURNING staff_no, id",
        (now,),
    ).fetchall()
    return dict(rows)


def write_assignments(
    conn: psycopg.Connection,
    inserts: Sequence[tuple],
    updates: Sequence[tuple[int, datetime | None, date | None]],
    deletes: Sequence[int],
    import_run_id: int | None,
) -> None:
    """Apply a staff import's assignment changes: ``updates`` (id, valid_to, ends_on) close an
    assignment (valid_to set, ends_on None) or set or clear its end date (valid_to None);
    ``deletes`` remove assignments that never began; ``inserts`` (staff_id, grid_code,
    micro_grid_code, role, valid_from, valid_to, ends_on) open new ones, tagged with
    ``import_run_id``."""
    if updates:
        conn.execute(
            "CREATE TEMP TABLE roster_change (id bigint, valid_to timestamptz, ends_on date)"
            " ON COMMIT DROP"
        )
        _copy(conn, "COPY roster_change (id, valid_to, ends_on) FROM STDIN", updates)
        conn.execute(
            "UPDATE staff_assignment a SET valid_to = t.valid_to, ends_on = t.ends_on"
            " FROM roster_change t WHERE a.id = t.id"
        )
    if deletes:
        conn.execute("DELETE FROM staff_assignment WHERE id = ANY(%s)", (list(deletes),))
    if inserts:
        _copy(
            conn,
            "COPY staff_assignment (staff_id, grid_code, micro_grid_code, role, valid_from,"
            " valid_to, ends_on, import_run_id) FROM STDIN",
            ((*row, import_run_id) for row in inserts),
        )


def missing_staff(conn: psycopg.Connection, scope: Scope, present: Sequence[int]) -> list[int]:
    """Ids of the active staff of ``scope`` (by region code) not among ``present``."""
    rows = conn.execute(
        "SELECT s.id FROM staff s LEFT JOIN unnest(%s::bigint[]) AS p(id) ON p.id = s.id"
        " WHERE s.active AND s.region_code LIKE %s AND p.id IS NULL ORDER BY s.id",
        (list(present), scope.like),
    ).fetchall()
    return [r[0] for r in rows]


def retire_staff(conn: psycopg.Connection, ids: Sequence[int], scope: Scope, now: datetime) -> int:
    """Close at ``now`` the open assignments in ``scope`` of the staff ``ids`` (removing those
    not begun yet) and mark the staff inactive; returns the assignments closed or removed."""
    ids = list(ids)
    closed = conn.execute(
        "UPDATE staff_assignment SET valid_to = %s WHERE valid_to IS NULL AND valid_from < %s"
        " AND staff_id = ANY(%s) AND grid_code LIKE %s",
        (now, now, ids, scope.like),
    ).rowcount
    removed = conn.execute(
        "DELETE FROM staff_assignment WHERE valid_to IS NULL AND valid_from >= %s"
        " AND staff_id = ANY(%s) AND grid_code LIKE %s",
        (now, ids, scope.like),
    ).rowcount
    conn.execute("UPDATE staff SET active = false, updated_at = %s WHERE id = ANY(%s)", (now, ids))
    return closed + removed


def close_ended(conn: psycopg.Connection, today: date, tz: tzinfo) -> int:
    """Close (valid_to = the start of ``ends_on`` local time) the current assignments whose
    ``ends_on`` is on or before ``today``; returns how many. Staff whose end date has come
    are marked inactive at the same time."""
    zone = getattr(tz, "key", None) or str(tz)
    closed = conn.execute(
        "UPDATE staff_assignment SET valid_to = (ends_on::timestamp AT TIME ZONE %(tz)s)"
        " WHERE valid_to IS NULL AND ends_on <= %(today)s"
        "   AND (ends_on::timestamp AT TIME ZONE %(tz)s) > valid_from",
        {"tz": zone, "today": today},
    ).rowcount
    conn.execute("UPDATE staff SET active = false WHERE active AND end_date <= %s", (today,))
    return closed


# ------------------------------------------------------------------ departments


def departments(conn: psycopg.Connection) -> dict[str, tuple]:
    """{code: (id, name, kind, level, parent_code, region_code, phone, active)} of every
    department."""
    rows = conn.execute(
        "SELECT code, id, name, kind, level, parent_code, region_code, phone, active"
        " FROM department"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def duties(conn: psycopg.Connection) -> dict[int, dict[str, str]]:
    """{department id: {category code: 'lead'|'assist'}}."""
    out: dict[int, dict[str, str]] = {}
    for code, dept, duty in conn.execute(
        "SELECT category_code, department_id, duty FROM category_department"
    ).fetchall():
        out.setdefault(dept, {})[code] = duty
    return out


def write_departments(
    conn: psycopg.Connection,
    changed: Sequence[tuple[int, tuple]],
    new: Sequence[tuple],
    now: datetime,
) -> dict[str, int]:
    """Update the ``changed`` departments ((id, fields in DEPARTMENT_FIELDS order), made
    active) and insert the ``new`` ones; returns {code: id} of every department written."""
    rows = [(i, *f) for i, f in changed] + [(None, *f) for f in new]
    cols = ["id", *DEPARTMENT_FIELDS]
    arrays = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in cols]
    params = dict(zip(cols, arrays, strict=True)) | {"now": now}
    conn.execute(
        "UPDATE department d SET name = t.name, kind = t.kind, level = t.level,"
        " parent_code = t.parent_code, region_code = t.region_code, phone = t.phone,"
        " active = true, updated_at = %(now)s"
        " FROM unnest(%(id)s::bigint[], %(name)s::text[], %(kind)s::text[], %(level)s::text[],"
        "   %(parent_code)s::text[], %(region_code)s::text[], %(phone)s::text[])"
        "   AS t(id, name, kind, level, parent_code, region_code, phone)"
        " WHERE t.id IS NOT NULL AND d.id = t.id",
        params,
    )
    conn.execute(
        "INSERT INTO department (code, name, kind, level, parent_code, region_code, phone,"
        " updated_at) SELECT code, name, kind, level, parent_code, region_code, phone, %(now)s"
        " FROM unnest(%(id)s::bigint[], %(code)s::text[], %(name)s::text[], %(kind)s::text[],"
        "   %(level)s::text[], %(parent_code)s::text[], %(region_code)s::text[],"
        "   %(phone)s::text[]) AS t(id, code, name, kind, level, parent_code, region_code, phone)"
        " WHERE t.id IS NULL",
        params,
    )
    found = conn.execute(
        "SELECT code, id FROM department WHERE code = ANY(%s)", (arrays[1],)
    ).fetchall()
    return dict(found)


def replace_duties(
    conn: psycopg.Connection, department_ids: Sequence[int], rows: Sequence[tuple[str, int, str]]
) -> tuple[int, int]:
    """Make ``rows`` (category_code, department_id, duty) the whole of category_department for
    ``department_ids``; returns (rows written, rows removed)."""
    codes = [r[0] for r in rows]
    depts = [r[1] for r in rows]
    duty = [r[2] for r in rows]
    removed = conn.execute(
        "DELETE FROM category_department c WHERE c.department_id = ANY(%s)"
        " AND (c.category_code, c.department_id) NOT IN"
        "   (SELECT * FROM unnest(%s::text[], %s::bigint[]))",
        (list(department_ids), codes, depts),
    ).rowcount
    written = conn.execute(
        "INSERT INTO category_department (category_code, department_id, duty)"
        " SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[])"
        " ON CONFLICT (category_code, department_id) DO UPDATE SET duty = EXCLUDED.duty"
        " WHERE category_department.duty <> EXCLUDED.duty",
        (codes, depts, duty),
    ).rowcount
    return written, removed


def finish_import_run(conn: psycopg.Connection, run_id: int, report: dict[str, Any]) -> None:
    """Store the final report (with the write phases' timings) in the import run ``run_id``,
    recorded before the writes so that new assignments carry its id."""
    conn.execute(
        "UPDATE import_run SET finished_at = clock_timestamp(), report = %s WHERE id = %s",
        (Jsonb(report), run_id),
    )
