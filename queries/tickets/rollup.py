"""The daily rollups as the write path keeps them: counts added per step.

``stat_daily`` per (local day, grid, category); ``stat_task_daily`` per (local day, department,
grid) for the department tasks; ``stat_worker_daily`` per (local day, staff, grid) for what grid
workers do. The counting rules are those of the rebuild statements in ``queries/sql/``
(``rebuild_stat_daily.sql``, ``rebuild_stat_task_daily.sql``, ``rebuild_stat_worker_daily.sql``);
docs/measures-rollups.md states them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import psycopg
from psycopg import sql

from domain.workflow.timeliness import STAT_COUNTS

# The count columns of stat_daily (the names of domain.workflow.timeliness.STAT_COUNTS).
STAT_COLUMNS = STAT_COUNTS
# The count columns of stat_task_daily and stat_worker_daily (migration 0008).
TASK_COLUMNS: tuple[str, ...] = (
    "dispatched",
    "returned",
    "finished",
    "finished_on_time",
    "reworked",
)
WORKER_COLUMNS: tuple[str, ...] = (
    "discovered",
    "self_resolved",
    "reported",
    "reported_on_time",
    "verify_due",
    "verified_on_time",
)
# The stat_daily counts of a step that a worker's own step also adds to the worker's rollup
# (same names in both tables); 'discovered' is the worker's creation (queries/tickets/create.py).
WORKER_STEP_COUNTS: tuple[str, ...] = (
    "self_resolved",
    "reported",
    "reported_on_time",
    "verify_due",
    "verified_on_time",
)
assert set(WORKER_STEP_COUNTS) <= set(WORKER_COLUMNS) & set(STAT_COLUMNS)

# table -> (key columns, count columns): the allowlist of identifiers _upsert may quote.
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stat_daily": (("day", "grid_code", "category_code"), STAT_COLUMNS),
    "stat_task_daily": (("day", "department_id", "grid_code"), TASK_COLUMNS),
    "stat_worker_daily": (("day", "staff_id", "grid_code"), WORKER_COLUMNS),
}


def _upsert(
    cur: psycopg.Cursor, table: str, key: tuple[object, ...], counts: Mapping[str, int]
) -> None:
    """Add ``counts`` (negative ones subtract) to ``table``'s row of ``key``; zeros skipped."""
    keys, columns = _TABLES[table]
    nonzero = {k: v for k, v in counts.items() if v}
    if not nonzero:
        return
    unknown = set(nonzero) - set(columns)
    if unknown:
        raise ValueError(f"not {table} columns: {sorted(unknown)}")
    cols = sorted(nonzero)
    t = sql.Identifier(table)
    # Identifiers come from the allowlist _TABLES checked above.
    query = sql.SQL(
        "INSERT INTO {t} ({keys}, {cols}) VALUES ({kvals}, {vals})"
        " ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    ).format(
        t=t,
        keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
        cols=sql.SQL(", ").join(map(sql.Identifier, cols)),
        kvals=sql.SQL(", ").join(sql.Placeholder() * len(keys)),
        vals=sql.SQL(", ").join(sql.Placeholder() * len(cols)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = {t}.{c} + EXCLUDED.{c}").format(c=sql.Identifier(c), t=t) for c in cols
        ),
    )
    cur.execute(query, (*key, *[nonzero[c] for c in cols]))
    if any(v < 0 for v in nonzero.values()):
        # A withdrawn count may leave a row of zeros, which a rebuild would not write: drop it,
        # so the kept rollup stays row for row what a rebuild gives.
        cur.execute(
            sql.SQL("DELETE FROM {t} WHERE {match} AND {zero}").format(
                t=t,
                match=sql.SQL(" AND ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys
                ),
                zero=sql.SQL(" AND ").join(
                    sql.SQL("{} = 0").format(sql.Identifier(c)) for c in columns
                ),
            ),
            key,
        )


def stat_upsert(
    cur: psycopg.Cursor,
    day: date,
    grid_code: str,
    category_code: str,
    counts: Mapping[str, int],
) -> None:
    """Add ``counts`` to the rollup row of (local ``day``, grid, category); zeros are skipped."""
    _upsert(cur, "stat_daily", (day, grid_code, category_code), counts)


def task_upsert(
    cur: psycopg.Cursor,
    day: date,
    department_id: int,
    grid_code: str,
    counts: Mapping[str, int],
) -> None:
    """Add ``counts`` (TASK_COLUMNS; a withdrawn finish subtracts) to the department rollup
    row of (local ``day``, department, grid of the ticket); zeros are skipped."""
    _upsert(cur, "stat_task_daily", (day, department_id, grid_code), counts)


def worker_upsert(
    cur: psycopg.Cursor,
    day: date,
    staff_id: int,
    grid_code: str,
    counts: Mapping[str, int],
) -> None:
    """Add ``counts`` (WORKER_COLUMNS) to the worker rollup row of (local ``day``, staff,
    grid of the ticket); zeros are skipped."""
    _upsert(cur, "stat_worker_daily", (day, staff_id, grid_code), counts)


def worker_step_counts(
    actor_kind: str, actor_id: int | None, counts: Mapping[str, int]
) -> dict[str, int]:
    """The per-worker counts of a step's stat_daily ``counts``: a step counts for a worker
    when a worker (``actor_kind`` 'worker') with a staff id took it; else none."""
    if actor_kind != "worker" or actor_id is None:
        return {}
    return {k: counts[k] for k in WORKER_STEP_COUNTS if counts.get(k)}
