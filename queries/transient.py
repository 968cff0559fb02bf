"""What counts as the database being away or busy, as opposed to a bug: the errors a server
answers with 503 + Retry-After (or a stale result) and a long-running job rides out.

psycopg raises ``OperationalError`` for everything the database (or the road to it) does to a
session: a refused or dropped connection, a server shutting down, a statement timeout
(``QueryCanceled``), a lock wait given up (``LockNotAvailable``), and the pool's own
``PoolTimeout`` (no connection within ``settings.db_wait_s``) is one too. ``DatabaseUnavailable``
is gridscope's one-line form of a failed connect. None of them says anything about the
request, so none deserves a traceback in the log (issue #10: a statement timeout was logged
with a full traceback on every request)."""

from __future__ import annotations

import psycopg

from .db import DatabaseUnavailable
from .faults import FaultLog

# One tuple for ``except`` clauses: PoolTimeout, QueryCanceled, LockNotAvailable and
# AdminShutdown are all OperationalError subclasses.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    DatabaseUnavailable,
)

# Seconds a client is told to wait (Retry-After) when the database is away or busy: long
# enough not to hammer a recovering server, short enough that a wall catches up within one
# refresh of its fastest panel (10 s).
RETRY_AFTER_S = 5

# FaultLog names. "postgres": the primary cannot be reached (refused, dropped, no pooled
# connection in time). "postgres-busy": it answers but a statement gave up (statement timeout,
# lock wait): a table locked for a migration is not an outage of the server, and other queries
# succeed meanwhile, so the two are logged apart (one closing the other made the log flap).
POSTGRES = "postgres"
POSTGRES_BUSY = "postgres-busy"
BUSY_ERRORS = (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable)

# The pool wait of a request once this process knows the primary is away: the pool keeps
# reconnecting in the background and hands a connection over at once when it has one, so
# waiting the full db_wait_s per request only holds request threads (issue #10).
QUICK_WAIT_S = 0.25


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` means the database is away or busy (see the module docstring)."""
    return isinstance(exc, TRANSIENT_DB_ERRORS)


def describe(exc: BaseException) -> str:
    """One line for a log or a client: the error's type and the first line of its message."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def fault_name(exc: BaseException) -> str:
    """The FaultLog name ``exc`` is reported under: POSTGRES_BUSY or POSTGRES."""
    return POSTGRES_BUSY if isinstance(exc, BUSY_ERRORS) else POSTGRES


def pool_wait(faults: FaultLog) -> float | None:
    """The timeout to pass to ``pool.connection()``: None (the pool's ``db_wait_s``) normally,
    ``QUICK_WAIT_S`` while an outage of the primary is open in this process."""
    return QUICK_WAIT_S if faults.down(POSTGRES) else None
