"""Connections to PostgreSQL: a pool per process, clear errors when the server is unreachable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from gridscope.config import Settings, redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be reached or is not usable; the message is user-facing."""


def describe_connect_error(url: str, exc: BaseException) -> str:
    """A one-line message naming the URL (password hidden) and the cause."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"cannot connect to PostgreSQL at {redact_url(url)}: {reason}"


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
    conn.execute(
        "SELECT set_config('statement_timeout', %s, false)", (str(settings.statement_timeout_ms),)
    )
    if not autocommit:
        conn.commit()
    return conn


def make_pool(settings: Settings, *, min_size: int = 1) -> ConnectionPool:
    """A connection pool for a server process; opened lazily so import has no side effects."""

    def configure(conn: psycopg.Connection) -> None:
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false)",
            (str(settings.statement_timeout_ms),),
        )
        conn.commit()

    return ConnectionPool(
        settings.database_url,
        min_size=min_size,
        max_size=settings.db_pool_max,
        configure=configure,
        kwargs={"connect_timeout": 5},
        open=False,
        name="gridscope",
    )


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
