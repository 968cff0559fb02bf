"""The staffing report's queries (domain.staffing holds the rules; this module gathers, in a few
set-based statements, the facts they are tested on).

Every function takes the caller's jurisdiction ``scope`` (grids by ``grid.code``, assignments by
``staff_assignment.grid_code``, people without a grid by ``staff.region_code``, each ``LIKE
%(like)s`` on a COLLATE "C" b-tree), the instant ``now`` (an aware datetime from the app's clock:
current grid and micro-grid versions and assignments that have started by then) and ``today``,
the local date (Asia/Shanghai by default) an end date is compared with.

A current assignment (``valid_to`` NULL, started) counts as staffing unless it has *ended*: its
person is inactive, or its ``ends_on`` or the person's ``end_date`` is on or before ``today``
(the sweep closes such assignments daily; until then they are reported, not counted).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from domain.staffing import (
    CONTACT_ROLES,
    COUNT_CAP,
    GRID_ROLES,
    GRID_STAFF_ROLES,
    area_params,
    count_grid_gaps,
    hotline_gap,
)
from domain.staffing_report import (
    Report,
    Summary,
    facts_of,
    grid_findings,
    hotline_finding,
    person_finding,
    report_of,
    summarize,
)

from .db import one
from .scope import Scope

# An assignment of a person who left: inactive, or an end date on or before today.
_ENDED = "(NOT s.active OR a.ends_on <= %(today)s OR s.end_date <= %(today)s) IS TRUE"

# The facts per current grid, one pass over the current assignments. ``cap`` bounds every count
# (the wall groups grids by them); the role columns are named by domain.staffing.GRID_ROLES.
_FACTS_CTE = """
WITH per_grid AS (
    SELECT a.grid_code, {role_counts},
           least(count(*) FILTER (WHERE NOT {ended} AND coalesce(btrim(s.phone), '') <> ''
                                    AND a.role = ANY(%(contact_roles)s)), %(cap)s)::int
               AS contacts,
           count(*) FILTER (WHERE {ended}) AS ended
      FROM staff_assignment a JOIN staff s ON s.id = a.staff_id
     WHERE a.valid_to IS NULL AND a.valid_from <= %(now)s AND a.grid_code LIKE %(like)s
     GROUP BY a.grid_code
), micro_chief AS (
    SELECT DISTINCT a.micro_grid_code
      FROM staff_assignment a JOIN staff s ON s.id = a.staff_id
     WHERE a.valid_to IS NULL AND a.valid_from <= %(now)s AND a.grid_code LIKE %(like)s
       AND a.role = 'micro_grid_chief' AND NOT {ended}
), micro AS (
    SELECT m.grid_code, least(count(*), %(cap)s)::int AS micro_grids,
           least(count(*) FILTER (WHERE c.micro_grid_code IS NULL), %(cap)s)::int
               AS micro_without_chief
      FROM micro_grid m
      LEFT JOIN micro_chief c ON c.micro_grid_code = m.code
     WHERE m.valid_to IS NULL AND m.valid_from <= %(now)s AND m.grid_code LIKE %(like)s
     GROUP BY m.grid_code
), facts AS (
    SELECT g.code, g.name, g.grid_type, g.community_code,
           c.name AS community, c.parent_code AS town_code, t.name AS town,
           CASE WHEN c.kind = ANY(%(urban_kinds)s) THEN 'urban'
                WHEN c.kind = ANY(%(rural_kinds)s) THEN 'rural'
                WHEN btrim(c.name) ~ %(rural_name)s THEN 'rural'
                ELSE 'urban' END AS area,
           {role_values}, coalesce(p.contacts, 0) AS contacts,
           coalesce(m.micro_grids, 0) AS micro_grids,
           coalesce(m.micro_without_chief, 0) AS micro_without_chief
      FROM grid g
      LEFT JOIN per_grid p ON p.grid_code = g.code
      LEFT JOIN micro m ON m.grid_code = g.code
      LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
      LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
     WHERE g.code LIKE %(like)s AND g.valid_to IS NULL AND g.valid_from <= %(now)s
)
"""

# Grid staff with no current assignment: active, started, not yet ended.
_UNASSIGNED_WHERE = """
 WHERE s.active AND s.role = ANY(%(staff_roles)s) AND s.region_code LIKE %(like)s
   AND (s.end_date IS NULL OR s.end_date > %(today)s)
   AND (s.start_date IS NULL OR s.start_date <= %(today)s)
   AND NOT EXISTS (SELECT 1 FROM staff_assignment a
                    WHERE a.staff_id = s.id AND a.valid_to IS NULL)
"""

_GRID_ROWS = "SELECT * FROM facts ORDER BY town_code NULLS LAST, code"

# Grids grouped by their (capped) facts: a few hundred groups for a whole city.
_COUNTS = """
, groups AS (
    SELECT grid_type, area, {role_cols}, contacts, micro_grids, micro_without_chief,
           count(*) AS n
      FROM facts
     GROUP BY grid_type, area, {role_cols}, contacts, micro_grids, micro_without_chief
)
SELECT (SELECT count(*) FROM facts) AS grids,
       (SELECT coalesce(jsonb_agg(to_jsonb(groups)), '[]'::jsonb) FROM groups) AS groups,
       (SELECT coalesce(sum(ended), 0) FROM per_grid) AS ended,
       (SELECT count(*) FROM staff s {unassigned_where}) AS unassigned
"""


def _compose(tail: str) -> sql.Composed:
    """The facts CTE, then ``tail``, with the role columns filled in from GRID_ROLES
    (identifiers and literals quoted by psycopg; the roles are the schema's CHECK vocabulary)."""
    roles = [sql.Identifier(r) for r in GRID_ROLES]
    counts = [
        sql.SQL("least(count(*) FILTER (WHERE NOT {} AND a.role = {}), %(cap)s)::int AS {}").format(
            sql.SQL(_ENDED), sql.Literal(r), sql.Identifier(r)
        )
        for r in GRID_ROLES
    ]
    values = [sql.SQL("coalesce(p.{0}, 0) AS {0}").format(i) for i in roles]
    return sql.SQL(_FACTS_CTE + tail).format(
        role_counts=sql.SQL(", ").join(counts),
        role_values=sql.SQL(", ").join(values),
        role_cols=sql.SQL(", ").join(roles),
        unassigned_where=sql.SQL(_UNASSIGNED_WHERE),
        ended=sql.SQL(_ENDED),
    )


_GRID_ROWS_SQL = _compose(_GRID_ROWS)
_COUNTS_SQL = _compose(_COUNTS)

_UNASSIGNED_SQL = (
    """
SELECT s.staff_no, s.name, s.role, s.region_code, r.name AS region, r.level AS region_level,
       r.parent_code AS region_parent, p.name AS parent_name
  FROM staff s
  LEFT JOIN region r ON r.code = s.region_code AND r.valid_to IS NULL
  LEFT JOIN region p ON p.code = r.parent_code AND p.valid_to IS NULL"""
    + _UNASSIGNED_WHERE
    + " ORDER BY s.region_code, s.staff_no"
)

_ENDED_SQL = """
SELECT s.staff_no, s.name, a.role, s.active, s.end_date, a.ends_on,
       g.code AS grid_code, g.name AS grid_name, g.community_code,
       c.name AS community, c.parent_code AS town_code, t.name AS town
  FROM staff_assignment a
  JOIN staff s ON s.id = a.staff_id
  LEFT JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN region t ON t.code = c.parent_code AND t.valid_to IS NULL
 WHERE a.valid_to IS NULL AND a.valid_from <= %(now)s AND a.grid_code LIKE %(like)s
   AND (NOT s.active OR a.ends_on <= %(today)s OR s.end_date <= %(today)s) IS TRUE
 ORDER BY t.code NULLS LAST, a.grid_code, s.staff_no
"""


def _params(scope: Scope, now: datetime, today: date, cap: int) -> dict[str, Any]:
    return {
        "like": scope.like,
        "now": now,
        "today": today,
        "cap": cap,
        "contact_roles": list(CONTACT_ROLES),
        "staff_roles": list(GRID_STAFF_ROLES),
        **area_params(),
    }


def grid_rows(conn: psycopg.Connection, scope: Scope, now: datetime, today: date) -> list[dict]:
    """One row per current grid in ``scope``, by town then code: {code, name, grid_type,
    community_code, community, town_code, town, area ('urban'|'rural'), staff ({role: current
    assignments not ended}), contacts (of them, chiefs and workers with a phone), micro_grids,
    micro_without_chief}. Counts are exact (capped at 2**31-1)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_GRID_ROWS_SQL, _params(scope, now, today, 2**31 - 1)).fetchall()
    return [_with_staff(r) for r in rows]


def _with_staff(row: dict[str, Any]) -> dict[str, Any]:
    """The role columns of a facts row gathered into ``staff`` ({role: n})."""
    row["staff"] = {r: row.pop(r) for r in GRID_ROLES}
    return row


def unassigned_rows(
    conn: psycopg.Connection, scope: Scope, now: datetime, today: date
) -> list[dict[str, Any]]:
    """Person rows (domain.staffing_report.person_finding) of the active grid staff whose
    region is in ``scope`` and who have no current assignment (rule worker_without_grid)."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_UNASSIGNED_SQL, _params(scope, now, today, COUNT_CAP)).fetchall()
    out = []
    for r in rows:
        town = r["region_level"] == "community"  # a community's parent is its town
        out.append(
            {
                "rule": "worker_without_grid",
                "missing": f"无在任网格（所属辖区 {r['region'] or r['region_code']}）",
                "staff_no": r["staff_no"],
                "name": r["name"],
                "role": r["role"],
                "community_code": r["region_code"] if town else "",
                "community": r["region"] if town else "",
                "town_code": r["region_parent"] if town else r["region_code"],
                "town": r["parent_name"] if town else r["region"],
            }
        )
    return out


def ended_rows(
    conn: psycopg.Connection, scope: Scope, now: datetime, today: date
) -> list[dict[str, Any]]:
    """Person rows of the current assignments in ``scope`` that have ended (person inactive,
    or an end date on or before ``today``): rule ended_still_assigned."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_ENDED_SQL, _params(scope, now, today, COUNT_CAP)).fetchall()
    out = []
    for r in rows:
        if not r["active"]:
            why = "人员已停用"
        else:
            ends = [d for d in (r["ends_on"], r["end_date"]) if d is not None]
            why = f"任职已于 {min(ends).isoformat()} 结束"
        out.append(
            {
                "rule": "ended_still_assigned",
                "missing": f"{why}，仍在网格公示名单中",
                **{k: r[k] for k in ("staff_no", "name", "role", "grid_code", "grid_name")},
                **{k: r[k] for k in ("community_code", "community", "town_code", "town")},
            }
        )
    return out


def staffing_report(
    conn: psycopg.Connection, scope: Scope, now: datetime, today: date, hotline: str | None
) -> Report:
    """The staffing report of ``scope`` at ``now``: every finding (grids, then people, then the
    hotline when ``hotline`` — setting ``hotline`` — is empty) and the counts per rule."""
    rows = grid_rows(conn, scope, now, today)
    findings = grid_findings(rows)
    people = unassigned_rows(conn, scope, now, today) + ended_rows(conn, scope, now, today)
    findings += [person_finding(r) for r in people]
    if hotline_gap(hotline):
        findings.append(hotline_finding())
    return report_of(findings, grids=len(rows))


def staffing_counts(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    today: date,
    hotline: str | None = None,
) -> Summary:
    """The report's counts per rule in one statement, without its lines (the wall's basic-data
    panel): grids are grouped by their capped facts, each group tested once. ``hotline`` None
    leaves the hotline rule out (the wall counts the jurisdiction, not the settings)."""
    row = one(conn.execute(_COUNTS_SQL, _params(scope, now, today, COUNT_CAP)).fetchone())
    _grids, groups, ended, unassigned = row
    counts = count_grid_gaps((facts_of(_with_staff(g)), int(g["n"])) for g in groups)
    counts["ended_still_assigned"] = int(ended)
    counts["worker_without_grid"] = int(unassigned)
    if hotline is not None and hotline_gap(hotline):
        counts["hotline_missing"] = 1
    return summarize(counts)
