"""SQL of the micro-grid import (``gridscope import micro-grids``): every statement it runs
besides those it shares with the grid import (``queries.imports``: the lock, ``code_history``,
``issue_codes``, ``record_import_run``).

Geometries go in and out as WKB in EPSG:4326 (lon/lat degrees); timestamps are timestamptz.
The caller holds one transaction for the whole import and commits it; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row


def current_grids(conn: psycopg.Connection, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The current versions of the grids ``codes`` (the micro-grids' parents):
    {code: {"code", "name", "wkb" (MultiPolygon, EPSG:4326)}}; codes that name no current grid
    are absent."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT code, name, ST_AsBinary(geom) AS wkb FROM grid"
            " WHERE valid_to IS NULL AND code = ANY(%s)",
            (list(codes),),
        )
        return {r["code"]: r for r in cur.fetchall()}


def current_micro_grids(
    conn: psycopg.Connection, codes: Sequence[str] = (), grid_codes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Current micro-grid versions with one of ``codes`` or under one of ``grid_codes``.

    Each row: code, grid_code, name, households, household_groups (None when never given),
    valid_from and wkb (MultiPolygon, EPSG:4326), ordered by code.
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT code, grid_code, name, households, household_groups, valid_from,"
            " ST_AsBinary(geom) AS wkb FROM micro_grid WHERE valid_to IS NULL"
            "   AND (code = ANY(%(codes)s) OR grid_code = ANY(%(grids)s)) ORDER BY code",
            {"codes": list(codes), "grids": list(grid_codes)},
        )
        return cur.fetchall()


def close_micro_grid_versions(conn: psycopg.Connection, codes: Sequence[str], at: datetime) -> int:
    """End the current versions of the micro-grids ``codes`` at ``at``; returns rows changed."""
    cur = conn.execute(
        "UPDATE micro_grid SET valid_to = %s WHERE valid_to IS NULL AND code = ANY(%s)",
        (at, list(codes)),
    )
    return cur.rowcount


def insert_micro_grids(
    conn: psycopg.Connection, rows: Sequence[dict[str, Any]], valid_from: datetime | None
) -> None:
    """Insert micro-grid versions (one pipelined batch): each row holds code, grid_code, name,
    households, household_groups (None: not given), decision_no (None: none) and wkb, a
    (Multi)Polygon in EPSG:4326. valid_from None uses the schema default (first versions are
    valid "since always")."""
    if not rows:
        return
    query = sql.SQL(
        "INSERT INTO micro_grid (code, grid_code, name, households, household_groups,"
        " decision_no, geom, valid_from) VALUES (%(code)s, %(grid_code)s, %(name)s,"
        " %(households)s, %(household_groups)s, %(decision_no)s,"
        " ST_Multi(ST_GeomFromWKB(%(wkb)s, 4326)), {})"
    ).format(sql.DEFAULT if valid_from is None else sql.Placeholder("valid_from"))
    with conn.cursor() as cur:
        cur.executemany(
            query, [{"decision_no": None, **row, "valid_from": valid_from} for row in rows]
        )
