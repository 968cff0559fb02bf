"""A page of the workbench's ticket table: server-side sorting and paging, so that millions of
tickets never reach the browser (dash-ag-grid's infinite row model asks for rows start..end)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from domain.explore.filters import SORTS
from queries.explore.where import CLOCK_SQL, View, where

MAX_PAGE = 500
_NULLABLE = frozenset({"closed_at", "stage_due_at"})
# Deep OFFSETs walk the index row by row; nobody pages through more than this by scrolling
# (exports are for that), and it bounds what one request can cost.
MAX_OFFSET = 100_000

_COLUMNS = sql.SQL(
    "t.id, t.ticket_no, t.created_at, t.category_code, c.name_zh AS category_name,"
    " t.grid_code, g.name AS grid_name, t.state, t.stage, {clock} AS clock, t.stage_due_at,"
    " t.closed_at, t.closed_on_time, t.source, t.urgency, t.supervision, t.rework_count,"
    " t.return_count, t.lead_department_id, d.name AS department_name, t.source_type,"
    " t.source_reason, t.address"
).format(clock=CLOCK_SQL)
_JOINS = sql.SQL(
    " LEFT JOIN category c ON c.code = t.category_code"
    " LEFT JOIN grid g ON g.code = t.grid_code AND g.valid_to IS NULL"
    " LEFT JOIN department d ON d.id = t.lead_department_id"
)


def order_by(sort: str) -> sql.Composable:
    """ORDER BY for a SORTS name ('-' first: descending), ties broken by id; NULLs last."""
    column = sort.lstrip("-")
    if column not in SORTS:
        raise ValueError(f"cannot sort by {column!r}")
    direction = sql.SQL("DESC" if sort.startswith("-") else "ASC")
    # NULLS LAST only where NULLs exist: on a NOT NULL column it would keep the planner from
    # walking the column's index backwards (7 s instead of milliseconds for a city's year).
    nulls = sql.SQL(" NULLS LAST" if column in _NULLABLE else "")
    return sql.SQL("t.{col} {dir}{nulls}, t.id {dir}").format(
        col=sql.Identifier(column), dir=direction, nulls=nulls
    )


def page(
    conn: psycopg.Connection, view: View, offset: int, limit: int, ids: Any = None
) -> list[dict[str, Any]]:
    """Rows ``offset``..``offset + limit`` of ``view`` in its sort order (limit ≤ MAX_PAGE,
    offset ≤ MAX_OFFSET: ValueError beyond). ``ids``: a superset of those rows' ids the column
    store found (queries.explore.engine.candidates), so PostgreSQL orders a few hundred rows
    instead of searching the period for them."""
    if not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"offset must be between 0 and {MAX_OFFSET}")
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    clause, params = where(view)
    if ids is not None:
        clause = sql.SQL("{} AND t.id = ANY(%(ids)s)").format(clause)
        params["ids"] = [int(i) for i in ids]
    query = sql.SQL(
        "SELECT {cols} FROM ticket t{joins} WHERE {where} ORDER BY {order}"
        " OFFSET %(offset)s LIMIT %(limit)s"
    ).format(cols=_COLUMNS, joins=_JOINS, where=clause, order=order_by(view.filters.sort))
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, {**params, "offset": offset, "limit": limit})
        return cur.fetchall()


def count(conn: psycopg.Connection, view: View) -> int:
    """The number of tickets of ``view``."""
    clause, params = where(view)
    row = conn.execute(
        sql.SQL("SELECT count(*) FROM ticket t WHERE {}").format(clause), params
    ).fetchone()
    return int(row[0]) if row else 0


def stream(conn: psycopg.Connection, view: View, batch: int = 5000):
    """Every row of ``view`` in its sort order, fetched ``batch`` at a time through a
    server-side cursor (exports: memory stays bounded whatever the count)."""
    clause, params = where(view)
    query = sql.SQL(
        "SELECT {cols}, t.micro_grid_code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,"
        " t.reported_at, t.finished_at, t.due_at,"
        " t.original_due_at, t.self_resolved, t.extension_count, t.escalated, t.satisfaction"
        " FROM ticket t{joins} WHERE {where} ORDER BY {order}"
    ).format(cols=_COLUMNS, joins=_JOINS, where=clause, order=order_by(view.filters.sort))
    with conn.cursor(name="explore_export", row_factory=dict_row) as cur:
        cur.itersize = batch
        cur.execute(query, params)
        yield from cur
