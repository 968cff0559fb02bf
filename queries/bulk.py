"""Bulk loading: binary COPY of Arrow tables (encoded by pgpq), index drop/rebuild, rollups."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pgpq
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.types.json import Jsonb

SQL_DIR = Path(__file__).parent / "sql"

# Only these tables may be bulk-loaded or reset (identifiers are checked against this list).
LOADABLE = (
    "region", "grid", "micro_grid", "issued_code", "department", "staff", "staff_assignment",
    "category_department", "ticket", "ticket_task", "ticket_event", "worker_position",
    "worker_last_position", "stat_daily",
)
DEMO_TABLES = LOADABLE


def load_sql(name: str) -> str:
    """A static SQL file from queries/sql by name."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _check_table(table: str) -> sql.Identifier:
    if table not in LOADABLE:
        raise ValueError(f"{table!r} is not a bulk-loadable table")
    return sql.Identifier(table)


def copy_arrow(conn: psycopg.Connection, table: str, data: pa.Table,
               progress: Callable[[int], None] | None = None,
               chunk_rows: int = 50_000) -> int:
    """COPY ``data`` into ``table`` in binary format; columns by name. Returns rows copied.

    Arrow types map to PostgreSQL binary formats: int64→bigint, int32→integer, int16→smallint,
    float64→double precision, bool, string→text, timestamp[us, UTC]→timestamptz, binary→bytea or,
    for geometry columns, EWKB (geometry's binary input accepts it).
    """
    encoder = pgpq.ArrowToPostgresBinaryEncoder(data.schema)
    stmt = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
        _check_table(table), sql.SQL(", ").join(map(sql.Identifier, data.column_names))
    )
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        copy.write(encoder.write_header())
        for batch in data.to_batches(max_chunksize=chunk_rows):
            copy.write(encoder.write_batch(batch))
            if progress:
                progress(batch.num_rows)
        copy.write(encoder.finish())
    return data.num_rows


def reset_demo_tables(conn: psycopg.Connection) -> None:
    """Empty every territory, staff and ticket table (the item list and calendar stay)."""
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(_check_table(t) for t in DEMO_TABLES)
        )
    )
    conn.execute("ALTER SEQUENCE ticket_id_seq RESTART")


@contextmanager
def indexes_dropped(conn: psycopg.Connection, tables: tuple[str, ...]) -> Iterator[None]:
    """Drop the secondary indexes of ``tables`` for a bulk load and rebuild them afterwards.

    Constraint-backed indexes (primary keys, exclusion constraints) stay. Index definitions are
    read from the catalogue, so the migrations remain the one place they are declared.
    """
    for t in tables:
        _check_table(t)
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " JOIN pg_class c ON c.relname = i.indexname"
        " JOIN pg_index x ON x.indexrelid = c.oid"
        " LEFT JOIN pg_inherits h ON h.inhrelid = c.oid"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
        " AND h.inhrelid IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)",
        (list(tables),),
    ).fetchall()
    for name, _ in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        for _, definition in rows:
            # The definitions come from pg_indexes (the catalogue), not from any input.
            conn.execute(definition)


def ensure_ticket_partitions(conn: psycopg.Connection, from_ts, to_ts) -> int:
    """Create the monthly ticket partitions covering [from_ts, to_ts]; returns how many."""
    row = conn.execute(
        "SELECT gridscope_ensure_ticket_partitions(%s, %s)", (from_ts, to_ts)
    ).fetchone()
    return int(row[0])


def rebuild_stat_daily(conn: psycopg.Connection, tz: str) -> int:
    """Recompute the whole daily rollup from the event log (the write path keeps it current)."""
    conn.execute("TRUNCATE stat_daily")
    cur = conn.execute(load_sql("rebuild_stat_daily"), {"tz": tz})
    return cur.rowcount


def set_meta(conn: psycopg.Connection, key: str, value: dict) -> None:
    conn.execute(
        "INSERT INTO gridscope_meta (key, value) VALUES (%s, %s)"
        " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        (key, Jsonb(value)),
    )


def get_meta(conn: psycopg.Connection, key: str) -> dict | None:
    row = conn.execute("SELECT value FROM gridscope_meta WHERE key = %s", (key,)).fetchone()
    return row[0] if row else None
