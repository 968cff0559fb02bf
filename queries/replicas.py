"""The read side's connections: streaming replicas named by ``settings.database_read_url``.

Screen, map, analytics and feed reads take ``Services.read_pool`` (or ``read_connection``);
writes always take the primary's ``Services.pool``. With several replicas, one pool per
replica, taken in turn. A replica that does not answer is left out and the read goes to the
next one, or to the primary's pool when none answers; the outage is logged once (FaultLog name
``postgres-replica``) and the replica is tried again every ``RETRY_S``, so reads return to it by
themselves when it is back.

Why one pool per replica rather than one libpq multi-host URL (libpq 16+ can balance hosts
with ``load_balance_hosts=random``): the setting separates URLs with commas, which a
multi-host URL contains; a multi-host pool keeps its connections on whichever host it reached
(on the primary after a replica outage, until they expire an hour later), and it cannot tell
which replica failed or lags.

Consistency: a payload is keyed by the data version read on the connection that computes it,
so it is never older than its key on any replica. ``read_connection(..., at_least=v)`` skips a
replica that has not replayed version ``v`` yet (another replica, or the primary, serves), for
callers that learned ``v`` elsewhere (a process-wide version watch)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import TYPE_CHECKING

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from domain.config import Settings, redact_url

from .db import apply_session_settings
from .faults import FaultLog

if TYPE_CHECKING:
    from .services import Services

log = logging.getLogger(__name__)

FAULT = "postgres-replica"

# Version as cache.data_version reads it (kept here: cache imports nothing from this module).
_VERSION_SQL = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM data_version"


def make_replica_pool(settings: Settings, url: str, name: str) -> ConnectionPool:
    """A pool on one replica. Like ``db.make_pool`` (same session settings, the same short
    wait), plus a check of every connection it hands out: a replica restarts independently of
    the primary, and without the check the first read on each connection that survived in the
    pool fails instead of falling back."""

    def configure(conn: psycopg.Connection) -> None:
        apply_session_settings(conn, settings)
        conn.commit()

    return ConnectionPool(
        url,
        min_size=1,
        max_size=settings.db_pool_max,
        configure=configure,
        check=ConnectionPool.check_connection,
        kwargs={"connect_timeout": max(1, round(settings.db_wait_s))},
        timeout=settings.db_wait_s,
        # psycopg_pool retries a failed connect with a doubling delay for up to this long:
        # with its 5-minute default a pool came back 4.5 s after a 10 s outage and 9.6 s after
        # a 20 s one (measured); given up after db_wait_s, the next request connects at once.
        reconnect_timeout=max(1.0, settings.db_wait_s),
        open=False,
        name=name,
    )


class _Replica:
    """One replica's pool and health (guarded by ReadPools._lock)."""

    def __init__(self, settings: Settings, url: str, index: int):
        self.settings, self.url, self.index = settings, url, index
        self.pool = make_replica_pool(settings, url, f"gridscope-read-{index}")
        self.down_until = 0.0  # monotonic; 0 = in use
        self.failures = 0

    def renew(self) -> ConnectionPool:
        """A fresh pool (connecting at once) in place of one whose connections died with the
        server; psycopg_pool's own reconnection backs off for up to minutes. Returns the old
        pool, to be closed outside the lock."""
        old = self.pool
        self.pool = make_replica_pool(self.settings, self.url, f"gridscope-read-{self.index}")
        self.pool.open(wait=False)
        return old


class ReadPools:
    """The read side over one or more replicas, with fallback to the primary. Duck-types the
    part of ``ConnectionPool`` that readers use: ``connection(timeout=None)``, ``open``,
    ``close``."""

    # How long a replica that failed is left out before one read tries it again, and how long
    # that read waits for it (a replica in use gets settings.db_wait_s).
    RETRY_S = 5.0
    PROBE_WAIT_S = 0.5

    def __init__(
        self,
        settings: Settings,
        urls: tuple[str, ...],
        primary: ConnectionPool | None = None,
        faults: FaultLog | None = None,
    ):
        if not urls:
            raise ValueError("ReadPools needs at least one replica URL")
        self.settings = settings
        self.primary = primary
        self.faults = faults if faults is not None else FaultLog()
        self._replicas = [_Replica(settings, u, i) for i, u in enumerate(urls)]
        self._lock = threading.Lock()
        self._next = 0

    def open(self, wait: bool = False) -> None:
        for r in self._replicas:
            r.pool.open(wait=wait)

    def close(self) -> None:
        for r in self._replicas:
            r.pool.close()

    def _candidates(self) -> list[tuple[_Replica, float]]:
        """(replica, longest wait) to try for one read, in turn from the round-robin position:
        those in use, and a failed one whose retry time has come (claimed by this read alone:
        the others keep skipping it until it answers). A failed replica's pool is renewed when
        retried."""
        now = time.monotonic()
        stale: list[ConnectionPool] = []
        with self._lock:
            n = len(self._replicas)
            start = self._next
            self._next = (self._next + 1) % n
            out = []
            for i in range(n):
                r = self._replicas[(start + i) % n]
                if r.down_until == 0.0:
                    out.append((r, self.settings.db_wait_s))
                elif now >= r.down_until:
                    r.down_until = now + self.RETRY_S
                    stale.append(r.renew())
                    out.append((r, min(self.PROBE_WAIT_S, self.settings.db_wait_s)))
        for pool in stale:
            pool.close(timeout=0)
        return out

    def _failed(self, r: _Replica, exc: BaseException) -> None:
        with self._lock:
            first = r.down_until == 0.0
            r.down_until = time.monotonic() + self.RETRY_S
            r.failures += 1
        if first:
            log.info("read replica %s left out: %s", redact_url(r.url), exc)
        self.faults.failed(FAULT, exc)

    def _answered(self, r: _Replica) -> None:
        if r.down_until != 0.0:
            with self._lock:
                r.down_until = 0.0
            log.info("read replica %s back in use", redact_url(r.url))
        if self.faults.down(FAULT) and all(x.down_until == 0.0 for x in self._replicas):
            self.faults.ok(FAULT)

    @contextmanager
    def connection(
        self, timeout: float | None = None, *, at_least: int | None = None
    ) -> Iterator[psycopg.Connection]:
        """A connection for reading: from a replica that answers (and, with ``at_least``, has
        replayed at least that data version), else from the primary's pool. ``timeout`` bounds
        the wait on the primary; a replica in use gets at most ``settings.db_wait_s``, one being
        retried after a failure ``PROBE_WAIT_S``.
        Errors raised by the caller's own statements propagate unchanged."""
        with ExitStack() as stack:
            conn = self._acquire(stack, at_least)
            if conn is None:
                if self.primary is None:
                    raise PoolTimeout("no read replica answers and no primary pool to fall back to")
                conn = stack.enter_context(self.primary.connection(timeout))
            yield conn

    def _acquire(self, stack: ExitStack, at_least: int | None) -> psycopg.Connection | None:
        for r, wait in self._candidates():
            cm = r.pool.connection(wait)
            try:
                conn = cm.__enter__()
            except (PoolTimeout, psycopg.OperationalError) as exc:
                if not (isinstance(exc, PoolTimeout) and _saturated(r.pool)):
                    self._failed(r, exc)
                # else every connection is open and busy: not an outage, this read spills over
                continue
            if at_least is not None:
                try:
                    row = conn.execute(_VERSION_SQL).fetchone()
                    conn.commit()  # hand the connection over outside a transaction
                except psycopg.Error as exc:
                    with suppress(Exception):  # the pool discards a broken connection
                        cm.__exit__(None, None, None)
                    self._failed(r, exc)
                    continue
                if row is None or int(row[0]) < at_least:
                    cm.__exit__(None, None, None)  # behind: not a fault, just not this read
                    continue
            self._answered(r)
            stack.push(cm)  # the pool's context manager returns the connection on exit
            return conn
        return None

    def status(self) -> list[dict]:
        """[{url (no password), in_use, failures}] per replica, for health pages and tests."""
        with self._lock:
            return [
                {"url": redact_url(r.url), "in_use": r.down_until == 0.0, "failures": r.failures}
                for r in self._replicas
            ]


def _saturated(pool: ConnectionPool) -> bool:
    """True when the pool holds all the connections it may and none was free: a busy replica,
    as opposed to one that cannot be reached."""
    return pool.get_stats().get("pool_size", 0) >= (pool.max_size or 0)


def make_read_pool(
    settings: Settings, primary: ConnectionPool | None = None, faults: FaultLog | None = None
) -> ReadPools | None:
    """The read side over the configured replicas, or None when reads go to the primary.
    ``primary`` is where reads fall back while no replica answers; ``faults`` the app's
    FaultLog (``Services.faults``)."""
    urls = settings.read_urls
    if not urls:
        return None
    return ReadPools(settings, urls, primary=primary, faults=faults)


@contextmanager
def read_connection(
    services: Services, timeout: float | None = None, *, at_least: int | None = None
) -> Iterator[psycopg.Connection]:
    """A connection for read-only work (screen, map, analytics, feeds): a replica when
    configured and answering, else the primary. ``at_least``: only a connection that has
    replayed that data version (the primary always has)."""
    replicas = services.replica_pool
    if isinstance(replicas, ReadPools):
        with replicas.connection(timeout, at_least=at_least) as conn:
            yield conn
    else:
        with services.pool.connection(timeout) as conn:
            yield conn
