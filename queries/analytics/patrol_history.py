"""Bulk replacement of the patrol rollups by a history built elsewhere (the demo loader draws
400 days of them: there is no position history to roll up). Binary COPY, one per table."""

from __future__ import annotations

import pgpq
import psycopg
import pyarrow as pa

from .. import bulk

# The monthly summaries are not demo tables of queries.bulk (their rows follow from the daily
# ones); their COPY statements are static here.
_COPY = {
    "patrol_micro_month": "COPY patrol_micro_month (month, grid_code, micro_grid_code, days)"
    " FROM STDIN WITH (FORMAT BINARY)",
    "stat_online_month": "COPY stat_online_month (month, grid_code, online_minutes,"
    " scheduled_minutes) FROM STDIN WITH (FORMAT BINARY)",
}
_TRUNCATE = "TRUNCATE patrol_visit, stat_online_daily, patrol_micro_month, stat_online_month"
# Loading into tables emptied in the same transaction, their primary keys are dropped and
# rebuilt: on the large demo the COPY of 4.9 M online rows took 17.8 s with the key in place and
# 5.6 s + 4.4 s without it. The monthly tables' key is declared in 0008_analytics_patrol.sql.
_DAILY = ("patrol_visit", "stat_online_daily")
_ANALYZE = "ANALYZE patrol_visit, stat_online_daily, patrol_micro_month, stat_online_month"
_DROP_MONTH_KEY = "ALTER TABLE patrol_micro_month DROP CONSTRAINT patrol_micro_month_pkey"
_ADD_MONTH_KEY = (
    "ALTER TABLE patrol_micro_month ADD CONSTRAINT patrol_micro_month_pkey"
    " PRIMARY KEY (month, grid_code, micro_grid_code)"
)


def _copy_summary(conn: psycopg.Connection, table: str, data: pa.Table) -> None:
    expected = _COPY[table].split("(", 1)[1].split(")", 1)[0].replace(" ", "").split(",")
    if data.column_names != expected:
        raise ValueError(f"{table}: columns {data.column_names}, expected {expected}")
    encoder = pgpq.ArrowToPostgresBinaryEncoder(data.schema)
    with conn.cursor() as cur, cur.copy(_COPY[table]) as copy:
        copy.write(encoder.write_header())
        for batch in data.to_batches(max_chunksize=200_000):
            copy.write(encoder.write_batch(batch))
        copy.write(encoder.finish())


def replace_history(
    conn: psycopg.Connection,
    visits: pa.Table,
    online: pa.Table,
    micro_month: pa.Table,
    online_month: pa.Table,
) -> None:
    """Empty the four patrol rollup tables and COPY the given rows (Arrow tables named and
    typed like the columns; rows in primary-key order load fastest). Takes no scope: the demo
    loader owns the whole database. Does not commit: an interruption rolls back to the rows
    and keys there were."""
    conn.execute(_TRUNCATE)
    keys = bulk.drop_load_structures(conn, _DAILY)
    conn.execute(_DROP_MONTH_KEY)
    bulk.copy_arrow(conn, "patrol_visit", visits, chunk_rows=200_000)
    bulk.copy_arrow(conn, "stat_online_daily", online, chunk_rows=200_000)
    _copy_summary(conn, "patrol_micro_month", micro_month)
    _copy_summary(conn, "stat_online_month", online_month)
    conn.execute("SELECT set_config('maintenance_work_mem', '256MB', true)")
    bulk.rebuild_structures(conn, keys)
    conn.execute(_ADD_MONTH_KEY)
    # Statistics for the readers' plans (the monthly tables are not demo tables the loader
    # analyses); ANALYZE sees this transaction's rows.
    conn.execute(_ANALYZE)
