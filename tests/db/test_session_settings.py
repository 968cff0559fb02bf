"""Every gridscope connection runs without JIT (queries.db.apply_session_settings), and the
read side plans with real parameter values (queries.db.custom_plans): a long-lived pooled
connection must not drift to generic plans once psycopg has prepared a statement."""

from __future__ import annotations

from queries.db import connect, custom_plans, make_pool
from queries.heat import heat_cells
from queries.scope import Scope
from tests.conftest import DEMO_NOW


def _settings(conn):
    return conn.execute(
        "SELECT current_setting('plan_cache_mode'), current_setting('jit'),"
        " current_setting('statement_timeout')"
    ).fetchone()


def test_connect_and_pool_apply_the_session_settings(fresh_db):
    with connect(fresh_db) as conn:
        mode, jit, timeout = _settings(conn)
        assert (mode, jit) == ("auto", "off")  # the write path keeps its generic plans
        assert timeout != "0"
        with custom_plans(conn):
            assert _settings(conn)[0] == "force_custom_plan"
        assert _settings(conn)[0] == "auto"
    pool = make_pool(fresh_db)
    pool.open(wait=True)
    try:
        with pool.connection() as conn:
            assert _settings(conn)[:2] == ("auto", "off")
    finally:
        pool.close()


def _rounded(cells):
    points, cell = cells  # plans sum in different orders: compare to 1e-9 degrees
    return sorted((round(x, 9), round(y, 9), n) for x, y, n in points), cell


def test_a_prepared_layer_query_keeps_custom_plans(demo_db):
    now = DEMO_NOW
    with connect(demo_db) as conn:
        with custom_plans(conn):
            first = heat_cells(conn, Scope(""), now, window="30d")
        for _ in range(12):  # psycopg prepares after 5 runs; PostgreSQL goes generic after 5 more
            with custom_plans(conn):
                again = heat_cells(conn, Scope(""), now, window="30d")
        assert _rounded(again) == _rounded(first)
        plans = conn.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE '%%GROUP BY t.grid_code%%'"
        ).fetchall()
        assert plans, "the heat query was not prepared"
        assert all(generic == 0 and custom > 0 for generic, custom in plans)
