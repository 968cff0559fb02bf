"""Bulk loading: binary COPY of Arrow tables (encoded by pgpq), index drop/rebuild, rollups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pgpq
import pgpq.encoders
import pgpq.schema
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.types.json import Jsonb

from .db import one

SQL_DIR = Path(__file__).parent / "sql"

# Only these tables may be bulk-loaded or reset (identifiers are checked against this list).
LOADABLE = (
    "region",
    "grid",
    "micro_grid",
    "issued_code",
    "department",
    "staff",
    "staff_assignment",
    "category_department",
    "ticket",
    "ticket_task",
    "ticket_event",
    "worker_position",
    "worker_last_position",
    "stat_daily",
    "stat_area_daily",
    "stat_area_category_daily",
    "stat_hour_daily",
    "stat_backlog_daily",
    "stat_backlog_day",
    "ticket_external",
    # Analytics (migration 0008): survey records and the per-department, per-worker and patrol
    # rollups, emptied with the tickets and workers they count.
    "survey",
    "stat_task_daily",
    "stat_worker_daily",
    "patrol_visit",
    "stat_online_daily",
)
DEMO_TABLES = LOADABLE
# Tables kept by triggers from loadable ones (migration 0010: the coarse task and survey
# rollups; a TRUNCATE of their source empties them, so a demo reset must not name them too).
# They may be analysed and vacuumed like the others.
DERIVED = ("stat_task_area_daily", "stat_survey_daily")


def load_sql(name: str) -> str:
    """A static SQL file from queries/sql by name."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _check_table(table: str) -> sql.Identifier:
    if table not in LOADABLE:
        raise ValueError(f"{table!r} is not a bulk-loadable table")
    return sql.Identifier(table)


def copy_arrow(
    conn: psycopg.Connection,
    table: str,
    data: pa.Table,
    progress: Callable[[int], None] | None = None,
    chunk_rows: int = 50_000,
    jsonb_columns: tuple[str, ...] = (),
) -> int:
    """COPY ``data`` into ``table`` in binary format; columns by name. Returns rows copied.

    Arrow types map to PostgreSQL binary formats: int64→bigint, int32→integer, int16→smallint,
    float64→double precision, bool, string→text, timestamp[us, UTC]→timestamptz, binary→bytea or,
    for geometry columns, EWKB (geometry's binary input accepts it).
    """
    if jsonb_columns:
        # JSON text columns must go out in jsonb's binary format (a version byte + text).
        encoders = {f.name: pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f) for f in data.schema}
        for name in jsonb_columns:
            encoders[name] = pgpq.encoders.StringEncoderBuilder.new_with_output(
                data.schema.field(name), pgpq.schema.Jsonb()
            )
        encoder = pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(data.schema, encoders)
    else:
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


def drop_load_structures(conn: psycopg.Connection, tables: tuple[str, ...]) -> list[str]:
    """Drop the indexes, primary keys and foreign keys of ``tables`` before a bulk load.

    Returns the statements that rebuild them, in order (keys first, then foreign keys, then
    indexes). They are read from the catalogue, so the migrations remain the one place where
    they are declared; callers persist them (``set_meta``) until ``rebuild_structures`` ran, so
    an interrupted load cannot lose them.
    """
    for t in tables:
        _check_table(t)
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype"
        " FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid"
        " WHERE r.relname = ANY(%s) AND c.contype IN ('p', 'u', 'f') AND c.conparentid = 0"
        " ORDER BY c.contype DESC, c.conname",  # p, u before f
        (list(tables),),
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " JOIN pg_class c ON c.relname = i.indexname"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)"
        " ORDER BY i.indexname",
        (list(tables),),
    ).fetchall()
    rebuild: list[str] = []
    for table, name, definition, _ in constraints:
        rebuild.append(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ")
            .format(sql.Identifier(table), sql.Identifier(name))
            .as_string(conn)
            + definition
        )
    # pg_indexes shows an index of a partitioned table as "ON ONLY parent", which would create
    # it for the parent alone (invalid); rebuilt without ONLY it cascades to every partition.
    rebuild.extend(definition.replace(" ON ONLY ", " ON ", 1) for _, definition in indexes)
    for table, name, _, _ in reversed(constraints):
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return rebuild


def rebuild_structures(conn: psycopg.Connection, statements: list[str]) -> None:
    """Run the statements returned by ``drop_load_structures`` (catalogue-made DDL only)."""
    for statement in statements:
        conn.execute(statement)


def copy_parallel(
    settings,
    jobs: list[tuple[str, pa.Table, tuple[str, ...]]],
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> None:
    """COPY several Arrow tables over ``workers`` connections at once (each commits on its own).

    Used by the demo loader, whose tables were emptied and stripped of keys and indexes first;
    a table may be split into several jobs. Raises the first error any worker met.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .db import connect

    def run(job: tuple[str, pa.Table, tuple[str, ...]]) -> int:
        table, data, jsonb = job
        with connect(settings) as conn:
            conn.execute("SET statement_timeout = 0")
            conn.execute("SET synchronous_commit = off")
            n = copy_arrow(conn, table, data, progress, jsonb_columns=jsonb)
            conn.commit()
            return n

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(run, jobs):
            pass


def ensure_ticket_partitions(conn: psycopg.Connection, from_ts, to_ts) -> int:
    """Create the monthly ticket partitions covering [from_ts, to_ts]; returns how many."""
    row = conn.execute(
        "SELECT gridscope_ensure_ticket_partitions(%s, %s)", (from_ts, to_ts)
    ).fetchone()
    return int(one(row)[0])


def rebuild_stat_daily(conn: psycopg.Connection, tz: str) -> int:
    """Recompute the whole daily rollup from the event log (the write path keeps it current).

    Runs inside the caller's transaction; the rollup's keys and indexes are rebuilt after the
    insert (a sort-based build beats maintaining them row by row for ~10^6 rows).
    """
    from .analytics.area import rebuild_area_rollups
    from .analytics.grid_daily import rebuild_grid_daily

    conn.execute("TRUNCATE stat_daily")
    conn.execute("SET LOCAL work_mem = '256MB'")  # the group-by stays in memory
    statements = drop_load_structures(conn, ("stat_daily",))
    # The coarse rollups' statement triggers would copy all ~10^7 rows through a temporary
    # table; one grouped rebuild afterwards is several times faster.
    conn.execute("ALTER TABLE stat_daily DISABLE TRIGGER USER")
    cur = conn.execute(load_sql("rebuild_stat_daily"), {"tz": tz})
    conn.execute("ALTER TABLE stat_daily ENABLE TRIGGER USER")
    rebuild_structures(conn, statements)
    rebuild_area_rollups(conn, tz)
    rebuild_grid_daily(conn)
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


def delete_meta(conn: psycopg.Connection, key: str) -> None:
    conn.execute("DELETE FROM gridscope_meta WHERE key = %s", (key,))


def analyze(
    conn: psycopg.Connection,
    tables: tuple[str, ...],
    *,
    vacuum: bool = False,
    statistics: bool = True,
) -> None:
    """Refresh planner statistics of loadable tables (outside a transaction block); with
    ``vacuum`` also set the visibility map, so covering indexes give index-only scans;
    ``statistics=False`` (with ``vacuum``) skips the statistics of tables analysed already."""
    if not statistics and not vacuum:
        raise ValueError("nothing to do: statistics=False needs vacuum=True")
    verb = sql.SQL(("VACUUM (ANALYZE)" if statistics else "VACUUM") if vacuum else "ANALYZE")
    names = (sql.Identifier(t) if t in DERIVED else _check_table(t) for t in tables)
    conn.execute(sql.SQL("{} {}").format(verb, sql.SQL(", ").join(names)))


# Sequences behind the ``id`` columns that a bulk load writes explicitly.
ID_SEQUENCE_TABLES = ("department", "staff", "ticket", "ticket_task", "ticket_event")


def reset_id_sequences(conn: psycopg.Connection, tables: tuple[str, ...]) -> None:
    """Set each table's ``<table>_id_seq`` to the table's largest id (1 when empty), so rows
    inserted after a COPY that wrote the ids get fresh ones."""
    for table in tables:
        if table not in ID_SEQUENCE_TABLES:
            raise ValueError(f"no id sequence to reset for table {table!r}")
        conn.execute(
            sql.SQL("SELECT setval({}, (SELECT coalesce(max(id), 1) FROM {}))").format(
                sql.Literal(f"{table}_id_seq"), _check_table(table)
            )
        )


def bulk_session(conn: psycopg.Connection, *, maintenance_work_mem: str | None = None) -> None:
    """Lift the statement time limit for this session (bulk loads and index builds run long),
    and optionally give index builds more memory (a size such as '256MB')."""
    conn.execute("SET statement_timeout = 0")
    if maintenance_work_mem is not None:
        conn.execute(
            sql.SQL("SET maintenance_work_mem = {}").format(sql.Literal(maintenance_work_mem))
        )
