"""SQL of the file imports (``gridscope import grids|tickets``): every statement they run
(the micro-grid import's own statements are in ``queries.micro_grids``).

Geometries go in and out as WKB in EPSG:4326 (lon/lat degrees); timestamps are timestamptz.
The callers hold one transaction for a whole import and commit it themselves; nothing here
commits. Identifiers are never built from input: every statement is a constant, or names one
of a fixed set of tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pgpq
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from domain.workflow.timeliness import STAT_COUNTS

from . import bulk
from .scope import Scope

# Advisory lock keys (pg_advisory_xact_lock(int, int)): one class per import kind.
_LOCK_GRIDS = 71_001
_LOCK_TICKETS = 71_002
# The versioned boundary tables whose codes are issued once (issued_code) and never reused.
_BOUNDARY_TABLES = ("grid", "micro_grid")


# ---------------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------------


def lock_grid_import(conn: psycopg.Connection) -> None:
    """Serialise grid imports (held until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, 0)", (_LOCK_GRIDS,))


def current_grids(
    conn: psycopg.Connection, codes: Sequence[str] = (), communities: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Current grid versions with one of ``codes`` or in one of ``communities``.

    Each row: code, name, community_code, grid_type, exclusive_kind, households, population,
    valid_from and wkb (MultiPolygon, EPSG:4326).
    """
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT code, name, community_code, grid_type, exclusive_kind, households,"
            " population, valid_from, ST_AsBinary(geom) AS wkb FROM grid"
            " WHERE valid_to IS NULL"
            "   AND (code = ANY(%(codes)s) OR community_code = ANY(%(communities)s))"
            " ORDER BY code",
            {"codes": list(codes), "communities": list(communities)},
        )
        return cur.fetchall()


def code_history(
    conn: psycopg.Connection, codes: Sequence[str], table: str = "grid"
) -> dict[str, dict[str, Any]]:
    """For codes ever issued or used: {code: {"kind", "retired_at", "has_grid"}}, for the
    import of ``table`` ('grid' or 'micro_grid', the versioned boundaries).

    kind is issued_code.kind ('grid'/'micro_grid', None when only a row knows the code);
    retired_at is the end of the code's last version in ``table`` when it has versions there
    but no current one (retired), else None; has_grid is true when a grid (any version)
    carries the code.
    """
    if table not in _BOUNDARY_TABLES:
        raise ValueError(f"not a versioned boundary table: {table!r}")
    query = sql.SQL(
        "SELECT c.code, i.kind,"
        "  (SELECT max(t.valid_to) FROM {table} t WHERE t.code = c.code"
        "     HAVING bool_and(t.valid_to IS NOT NULL)) AS retired_at,"
        "  EXISTS (SELECT 1 FROM {table} t WHERE t.code = c.code) AS has_own,"
        "  EXISTS (SELECT 1 FROM grid g WHERE g.code = c.code) AS has_grid"
        " FROM unnest(%s::text[]) AS c(code)"
        " LEFT JOIN issued_code i ON i.code = c.code"
    ).format(table=sql.Identifier(table))
    rows = conn.execute(query, (list(codes),)).fetchall()
    return {
        code: {"kind": kind, "retired_at": retired_at, "has_grid": has_grid}
        for code, kind, retired_at, has_own, has_grid in rows
        if kind is not None or has_own or has_grid
    }


def current_regions(conn: psycopg.Connection, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Current regions by code: {code: {name, level, wkb (MultiPolygon 4326 or None)}}."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT code, name, level, ST_AsBinary(geom) AS wkb FROM region"
            " WHERE valid_to IS NULL AND code = ANY(%s)",
            (list(codes),),
        )
        return {r["code"]: r for r in cur.fetchall()}


def create_region(conn: psycopg.Connection, code: str, name: str, level: str) -> None:
    """A region row without a boundary (geom NULL), valid from the schema default."""
    conn.execute("INSERT INTO region (code, name, level) VALUES (%s, %s, %s)", (code, name, level))


def close_grid_version(conn: psycopg.Connection, code: str, at: datetime) -> int:
    """End the current version of grid ``code`` at ``at``; returns rows changed (0 or 1)."""
    cur = conn.execute(
        "UPDATE grid SET valid_to = %s WHERE code = %s AND valid_to IS NULL", (at, code)
    )
    return cur.rowcount


def insert_grid(conn: psycopg.Connection, row: dict[str, Any], valid_from: datetime | None) -> None:
    """Insert one grid version; ``row['wkb']`` is a (Multi)Polygon in EPSG:4326 and
    ``row.get('decision_no')`` the decision that drew it (None: none given).

    valid_from None uses the schema default (the code's first version is valid "since always").
    """
    query = sql.SQL(
        "INSERT INTO grid (code, name, community_code, grid_type, exclusive_kind, households,"
        " population, area_m2, geom, decision_no, valid_from) VALUES (%(code)s, %(name)s,"
        " %(community_code)s, %(grid_type)s, %(exclusive_kind)s, %(households)s,"
        " %(population)s, %(area_m2)s, ST_Multi(ST_GeomFromWKB(%(wkb)s, 4326)),"
        " %(decision_no)s, {})"
    ).format(sql.DEFAULT if valid_from is None else sql.Placeholder("valid_from"))
    conn.execute(query, {"decision_no": None, **row, "valid_from": valid_from})


def issue_codes(conn: psycopg.Connection, codes: Sequence[str], kind: str) -> int:
    """Record codes as issued (never to be reused); returns how many were new."""
    cur = conn.execute(
        "INSERT INTO issued_code (code, kind) SELECT c, %s FROM unnest(%s::text[]) AS c"
        " ON CONFLICT (code) DO NOTHING",
        (kind, list(codes)),
    )
    return cur.rowcount


def record_import_run(
    conn: psycopg.Connection,
    *,
    kind: str,
    file_name: str,
    file_sha256: str,
    options: dict[str, Any],
    started_at: datetime,
    rows_total: int,
    rows_loaded: int,
    rows_skipped: int,
    rows_rejected: int,
    report: dict[str, Any],
) -> int:
    """Insert the import_run row of a committed import; returns its id."""
    row = conn.execute(
        "INSERT INTO import_run (kind, file_name, file_sha256, options, dry_run, started_at,"
        " finished_at, rows_total, rows_loaded, rows_skipped, rows_rejected, report)"
        " VALUES (%s, %s, %s, %s, false, %s, clock_timestamp(), %s, %s, %s, %s, %s)"
        " RETURNING id",
        (
            kind,
            file_name,
            file_sha256,
            Jsonb(options),
            started_at,
            rows_total,
            rows_loaded,
            rows_skipped,
            rows_rejected,
            Jsonb(report),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------------


def lock_ticket_namespace(conn: psycopg.Connection, namespace: str) -> None:
    """Serialise imports into one external-id namespace (held until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_LOCK_TICKETS, namespace))


def grids_for_join(conn: psycopg.Connection, scope: Scope) -> list[tuple[str, bytes]]:
    """(code, WKB MultiPolygon EPSG:4326) of every current grid in scope, by code."""
    return [
        (r[0], bytes(r[1]))
        for r in conn.execute(
            "SELECT code, ST_AsBinary(geom) FROM grid WHERE valid_to IS NULL AND code LIKE %s"
            " ORDER BY code",
            (scope.like,),
        ).fetchall()
    ]


def micro_grids_for_join(conn: psycopg.Connection, scope: Scope) -> list[tuple[str, str, bytes]]:
    """(code, grid_code, WKB EPSG:4326) of every current micro-grid in scope, by code."""
    return [
        (r[0], r[1], bytes(r[2]))
        for r in conn.execute(
            "SELECT code, grid_code, ST_AsBinary(geom) FROM micro_grid WHERE valid_to IS NULL"
            " AND grid_code LIKE %s ORDER BY code",
            (scope.like,),
        ).fetchall()
    ]


def _copy_temp(
    conn: psycopg.Connection, create: str | sql.Composed, copy: str, data: pa.Table
) -> None:
    """Create a session temp table (dropped at commit) and binary-COPY ``data`` into it.

    ``create`` and ``copy`` are constant statements of this module; columns go by position.
    """
    encoder = pgpq.ArrowToPostgresBinaryEncoder(data.schema)
    conn.execute(create)
    with conn.cursor() as cur, cur.copy(copy) as cp:
        cp.write(encoder.write_header())
        for batch in data.to_batches(max_chunksize=100_000):
            cp.write(encoder.write_batch(batch))
        cp.write(encoder.finish())


def existing_external_ids(
    conn: psycopg.Connection, namespace: str, external_ids: pa.Array
) -> set[str]:
    """The ids among ``external_ids`` (Arrow strings) already loaded in ``namespace``."""
    if conn.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM ticket_external WHERE namespace = %s)", (namespace,)
    ).fetchone() == (True,):
        return set()
    _copy_temp(
        conn,
        "CREATE TEMP TABLE import_external_ids (external_id text) ON COMMIT DROP",
        "COPY import_external_ids (external_id) FROM STDIN WITH (FORMAT BINARY)",
        pa.table({"external_id": external_ids}),
    )
    rows = conn.execute(
        "SELECT x.external_id FROM ticket_external x"
        " JOIN import_external_ids i ON i.external_id = x.external_id"
        " WHERE x.namespace = %s",
        (namespace,),
    ).fetchall()
    return {r[0] for r in rows}


def allocate_ticket_ids(conn: psycopg.Connection, n: int) -> np.ndarray:
    """``n`` fresh ticket ids from ticket_id_seq (safe beside concurrent writers).

    The ids are drawn in one statement; when no other session drew in between they form one
    range and only its ends travel back. Otherwise that draw is abandoned (ids are allowed to
    have gaps) and a second one fetches every id.
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    row = conn.execute(
        "SELECT min(v), max(v) FROM (SELECT nextval('ticket_id_seq') AS v"
        " FROM generate_series(1, %s)) s",
        (n,),
    ).fetchone()
    assert row is not None
    lo, hi = int(row[0]), int(row[1])
    if hi - lo + 1 == n:
        return np.arange(lo, hi + 1, dtype=np.int64)
    rows = conn.execute(
        "SELECT nextval('ticket_id_seq') FROM generate_series(1, %s)", (n,)
    ).fetchall()
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)


def copy_tickets(
    conn: psycopg.Connection,
    ticket: pa.Table,
    event: pa.Table,
    external: pa.Table,
    progress: Any = None,
) -> None:
    """Binary COPY of the imported tickets, their events (``data`` is JSON text) and their
    external ids, after making sure the monthly partitions for their created_at exist."""
    # The import is idempotent (ticket_external): losing it to a crash right after commit costs
    # a re-run, never consistency, so the commit need not wait for the WAL flush.
    conn.execute("SET LOCAL synchronous_commit = off")
    created = ticket.column("created_at")
    if ticket.num_rows:
        import pyarrow.compute as pc

        bulk.ensure_ticket_partitions(conn, pc.min(created).as_py(), pc.max(created).as_py())
    bulk.copy_arrow(conn, "ticket", ticket, progress)
    bulk.copy_arrow(conn, "ticket_event", event, progress, jsonb_columns=("data",))
    bulk.copy_arrow(conn, "ticket_external", external, progress)


def add_stat_daily(conn: psycopg.Connection, counts: pa.Table) -> int:
    """Add per (day, grid, category) counts of new tickets to the rollup (set-based upsert).

    ``counts`` columns, in this order: day (date32, local day), grid_code, category_code, then
    int32 counts named after ``stat_daily`` columns (``domain.workflow.timeliness.STAT_COUNTS``;
    any other name is refused). Returns the rollup rows touched.
    """
    if counts.num_rows == 0:
        return 0
    keys, names = counts.column_names[:3], counts.column_names[3:]
    if keys != ["day", "grid_code", "category_code"] or not names:
        raise ValueError(f"rollup counts need day, grid_code, category_code first: {keys}")
    unknown = set(names) - set(STAT_COUNTS)
    if unknown:
        raise ValueError(f"not stat_daily columns: {sorted(unknown)}")
    # Identifiers come from the allowlist STAT_COUNTS checked above; every value is COPYed.
    cols = [sql.Identifier(c) for c in names]
    _copy_temp(
        conn,
        sql.SQL(
            "CREATE TEMP TABLE import_stat (day date, grid_code text, category_code text, {})"
            " ON COMMIT DROP"
        ).format(sql.SQL(", ").join(sql.SQL("{} integer").format(c) for c in cols)),
        "COPY import_stat FROM STDIN WITH (FORMAT BINARY)",
        counts,
    )
    upsert = sql.SQL(
        "INSERT INTO stat_daily (day, grid_code, category_code, {cols})"
        " SELECT day, grid_code, category_code, {cols} FROM import_stat"
        " ON CONFLICT (day, grid_code, category_code) DO UPDATE SET {sets}"
    ).format(
        cols=sql.SQL(", ").join(cols),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = stat_daily.{c} + EXCLUDED.{c}").format(c=c) for c in cols
        ),
    )
    return conn.execute(upsert).rowcount


def import_runs(conn: psycopg.Connection, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    """The latest import runs of ``kind``, newest first (without their reports)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, file_name, file_sha256, started_at, finished_at, rows_total, rows_loaded,"
            " rows_skipped, rows_rejected FROM import_run WHERE kind = %s"
            " ORDER BY id DESC LIMIT %s",
            (kind, limit),
        )
        return cur.fetchall()
