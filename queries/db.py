"""Connections to PostgreSQL: a pool per process, clear errors when the server is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from domain.config import Settings, redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached or is not usable; the message is user-facing."""


def describe_connect_error(url: str, exc: BaseException) -> str:
    """A one-line message naming the URL (password hidden) and the cause."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot connect to PostgreSQL at {redact_url(url)}: {reason}"


def apply_session_settings(conn: psycopg.Connection, settings: Settings) -> None:
    """Per-session settings of every connection gridscope opens: the statement timeout, and
    no JIT compilation.

    jit: the planner overestimates the layer and measure queries' joins by orders of
    magnitude, so PostgreSQL JIT-compiled them: 100 ms to seconds of compilation for queries
    that run in 5–120 ms (measured on the large demo: the worker layer's PostgreSQL fallback
    took 350 ms with JIT, 26 ms without). Nothing gridscope runs is long enough to repay it.

    gridscope.timezone: the local time zone the database-side rollup triggers count days and
    hours in (migration 0008_analytics_area.sql).
    """
    conn.execute(
        "SELECT set_config('statement_timeout', %s, false), set_config('jit', 'off', false),"
        " set_config('gridscope.timezone', %s, false)",
        (str(settings.statement_timeout_ms), settings.timezone),
    )


def connect(
    settings: Settings, *, autocommit: bool = False, dbname: str | None = None, timeout: float = 5.0
) -> psycopg.Connection:
    """One connection (CLI and tests); raises DatabaseUnavailable with a one-line message."""
    kwargs: dict = {"autocommit": autocommit, "connect_timeout": max(1, int(timeout))}
    if dbname:
        kwargs["dbname"] = dbname
    try:
        conn = psycopg.connect(settings.database_url, **kwargs)
    except psycopg.Error as exc:
        raise DatabaseUnavailable(describe_connect_error(settings.database_url, exc)) from None
    apply_session_settings(conn, settings)
    if not autocommit:
        conn.commit()
    return conn


def make_pool(
    settings: Settings, *, min_size: int = 1, url: str | None = None, name: str = "gridscope"
) -> ConnectionPool:
    """A connection pool for a server process (``url`` default: the primary); opened lazily so
    import has no side effects. A request waits at most ``settings.db_wait_s`` for a
    connection (psycopg_pool's default of 30 s tied up every request thread during an outage,
    issue #10), and a connect gives up as fast."""

    def configure(conn: psycopg.Connection) -> None:
        apply_session_settings(conn, settings)
        # A request that meets a lock gives up as fast as one that meets no connection: under
        # a 40 s lock on ticket, requests held their threads for the whole statement timeout
        # and static pages queued behind them (/api/v1/docs took 17 s, issue #10).
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false)", (str(round(settings.db_wait_s * 1000)),)
        )
        conn.commit()

    return ConnectionPool(
        url or settings.database_url,
        min_size=min_size,
        max_size=settings.db_pool_max,
        configure=configure,
        kwargs={"connect_timeout": max(1, round(settings.db_wait_s))},
        timeout=settings.db_wait_s,
        # Give up a reconnect round after this long (a later request starts a new one): with
        # the default (5 min of doubling delays) the pool came back 4.5–9.6 s after a
        # 10–20 s outage; with this, within 0.2 s of PostgreSQL returning (fault tier).
        reconnect_timeout=max(1.0, settings.db_wait_s),
        open=False,
        name=name,
    )


@contextmanager
def custom_plans(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A transaction (a savepoint inside one) whose statements are planned with their
    parameter values every time. For the read side: screen, layers, cards, API lists.

    psycopg prepares a statement after its fifth run on a connection, and PostgreSQL then
    switches a prepared statement to a generic plan, which knows neither the time window (no
    partition pruning at plan time) nor the jurisdiction prefix: on the large demo the 30-day
    heat query went from 110 ms to 750 ms on a long-lived pooled connection. The write path
    keeps the default: its generic plans are right and replanning the ticket insert tripled
    its server time (0.67 -> 2.19 ms per ticket).
    """
    with conn.transaction():
        before = one(
            conn.execute(
                "SELECT current_setting('plan_cache_mode'),"
                " set_config('plan_cache_mode', 'force_custom_plan', true)"
            ).fetchone()
        )[0]
        yield conn
        # A setting made inside a savepoint outlives its release: put the caller's back (an
        # exception rolls the savepoint or transaction back, and the setting with it).
        conn.execute("SELECT set_config('plan_cache_mode', %s, true)", (before,))


@contextmanager
def generic_plans(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A savepoint (or transaction) whose statements may keep a generic plan, for a statement
    whose plan does not depend on its values but whose planning is most of its cost (the
    ticker's three ordered scans over every month partition: 26-42 ms to plan, 1.5 ms to run).
    Run it with ``prepare=True``: the connection keeps the plan. The caller's
    ``plan_cache_mode`` (``custom_plans``' inside a feed computation) is put back after."""
    with conn.transaction():
        before = one(
            conn.execute(
                "SELECT current_setting('plan_cache_mode'),"
                " set_config('plan_cache_mode', 'force_generic_plan', true)"
            ).fetchone()
        )[0]
        yield conn
        conn.execute("SELECT set_config('plan_cache_mode', %s, true)", (before,))


def serial_plans(conn: psycopg.Connection) -> None:
    """No parallel workers for the rest of the current transaction.

    For the wall's background computations (queries/feed.py): one runs per jurisdiction and
    panel every few seconds while the data changes, and their latency matters less than the
    machine's total. A parallel plan spends more CPU in all than a serial one (the city's
    ticker: 169 ms with two workers, about 400 ms of CPU in three processes; 223 ms serial),
    and at 500 screens those workers took cores the answers needed (issue #10)."""
    conn.execute("SELECT set_config('max_parallel_workers_per_gather', '0', true)")


@contextmanager
def cursor(conn: psycopg.Connection) -> Iterator[psycopg.Cursor[dict[str, Any]]]:
    """A cursor returning dicts."""
    with conn.cursor(row_factory=dict_row) as cur:
        yield cur


def one(row: T | None, what: str = "a row") -> T:
    """``row``, which a query that always returns one row produced (LookupError otherwise)."""
    if row is None:
        raise LookupError(f"the query returned no {what}")
    return row
