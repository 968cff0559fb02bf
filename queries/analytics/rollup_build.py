"""Rebuilding the analytics rollups and the survey records from the tickets, their tasks and
the event log (the write path keeps them current step by step; this recounts them whole).

``rebuild_task_worker_rollups`` recomputes ``stat_task_daily`` and ``stat_worker_daily`` with the
rules of ``queries/sql/rebuild_stat_task_daily.sql`` and ``rebuild_stat_worker_daily.sql``;
``rebuild_surveys_from_events`` recomputes ``survey`` by ``rebuild_survey.sql``. Both run in the
caller's transaction over the whole database (maintenance, not a view: no jurisdiction scope),
each table emptied and refilled from one SELECT with its keys and indexes rebuilt after (a
sort-based build beats maintaining them row by row for millions of rows). The coarse rollups
kept from ``stat_task_daily`` and ``survey`` by triggers (migration 0010) are recounted once
after the refill instead (``rebuild_coarse_rollups``).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql

from domain.workflow.survey import DEFAULT_SURVEY_CHANNEL, SURVEY_CHANNELS

from ..bulk import drop_load_structures, load_sql, rebuild_structures

# The temporary table a rebuild's rows pass through (dropped at once, or at commit).
_ROWS = "rollup_build_rows"
ROLLUPS = {
    "stat_task_daily": "rebuild_stat_task_daily",
    "stat_worker_daily": "rebuild_stat_worker_daily",
}
# The coarse rollups (migration 0010_analytics_rollups.sql) by the table they are kept from,
# and the database function that recounts each whole.
COARSE = {
    "stat_task_daily": ("stat_task_area_daily", "gridscope_task_area_rebuild"),
    "survey": ("stat_survey_daily", "gridscope_survey_rebuild"),
}


def rebuild_coarse_rollups(conn: psycopg.Connection, tables: tuple[str, ...] = ()) -> dict:
    """Recount the coarse rollups kept from ``tables`` (all when empty) from their rows, in
    the caller's transaction; returns the rows written per coarse rollup. Survey days are
    local to the session's gridscope.timezone (set by queries.db.connect)."""
    out = {}
    for table, (coarse, function) in COARSE.items():
        if not tables or table in tables:
            row = conn.execute(sql.SQL("SELECT {}()").format(sql.Identifier(function)))
            out[coarse] = int((row.fetchone() or (0,))[0])
    return out


def _refill(conn: psycopg.Connection, table: str, sql_name: str, params: dict) -> int:
    """Empty ``table`` and fill it with the rows of the SELECT in ``queries/sql/<sql_name>``
    (its columns named as the table's); returns the rows written."""
    # drop_load_structures checks ``table`` against the bulk loader's allowlist first.
    statements = drop_load_structures(conn, (table,))
    conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(table)))
    # The coarse rollups' statement triggers would pass every row through an array; one
    # grouped recount after the refill is far cheaper (the TRUNCATE above emptied them).
    coarse = table in COARSE
    if coarse:
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table)))
    # The rows are computed by CREATE TABLE AS, which may run its query in parallel workers (an
    # INSERT … SELECT runs it in one process), then appended to the table in one pass.
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS ").format(sql.Identifier(_ROWS))
        + sql.SQL(load_sql(sql_name)),
        params,
    )
    cur = conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(sql.Identifier(_ROWS)))
    cols = sql.SQL(", ").join(sql.Identifier(d.name) for d in cur.description or ())
    cur = conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(
            sql.Identifier(table), cols, cols, sql.Identifier(_ROWS)
        )
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(_ROWS)))
    rebuild_structures(conn, statements)
    if coarse:
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table)))
        rebuild_coarse_rollups(conn, (table,))
    return cur.rowcount


def rebuild_task_worker_rollups(conn: psycopg.Connection, tz: str) -> dict[str, int]:
    """Recompute the per-department and per-worker daily rollups, counting on local days in
    ``tz`` (the IANA name of settings.timezone); returns the rows written per table."""
    with conn.transaction():  # a savepoint in the caller's transaction (one if autocommit)
        conn.execute("SET LOCAL work_mem = '256MB'")  # the group-bys stay in memory
        return {table: _refill(conn, table, name, {"tz": tz}) for table, name in ROLLUPS.items()}


def channel_bounds(mix: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    """(channels, cumulative lower bounds of all but the first) of a channel mix of weights,
    the arguments of rebuild_survey.sql's width_bucket draw; ValueError for an unknown channel
    or weights that are not positive."""
    if not mix:
        return [DEFAULT_SURVEY_CHANNEL], []
    unknown = [c for c, _ in mix if c not in SURVEY_CHANNELS]
    if unknown:
        raise ValueError(f"unknown survey channels {unknown}: one of {', '.join(SURVEY_CHANNELS)}")
    total = sum(w for _, w in mix)
    if any(w <= 0 for _, w in mix) or total <= 0:
        raise ValueError("channel weights must be positive")
    bounds, acc = [], 0.0
    for _, w in mix[:-1]:
        acc += w / total
        bounds.append(acc)
    return [c for c, _ in mix], bounds


def rebuild_surveys_from_events(
    conn: psycopg.Connection,
    *,
    seed: int = 0,
    channel_mix: Sequence[tuple[str, float]] = (),
    comments: Sequence[str] = (),
) -> int:
    """Recompute the survey records from the 'survey' events; returns the rows written.

    Events of the survey action are copied exactly (channel from the event data, comment from
    the event). Events without a channel (bulk-loaded) get a channel drawn from ``channel_mix``
    ((channel, weight) pairs; the default channel when empty) and, when unsatisfied, one of
    ``comments``; the draws hash the ticket id with ``seed`` (the same seed, the same records).
    """
    channels, bounds = channel_bounds(channel_mix)
    params = {"channels": channels, "bounds": bounds, "comments": list(comments), "seed": seed}
    with conn.transaction():
        return _refill(conn, "survey", "rebuild_survey", params)
