"""A counter in PostgreSQL as this process last read it (the data version, the auth
generation), re-read at most every ``settings.version_poll_ms`` by one thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import psycopg

from .cache import data_version
from .transient import POSTGRES, QUICK_WAIT_S, TRANSIENT_DB_ERRORS

if TYPE_CHECKING:  # services imports the feed, which imports this module
    from .services import Services


class VersionWatch:
    """The data version as this process last read it, re-read at most every
    ``settings.version_poll_ms`` by one thread while the others use the last value; None
    while the database does not answer. ``read`` and ``primary`` make it watch another
    counter (the auth generation is read on the primary: a replica may lag behind a
    revocation). A watch with ``reports`` False (that one) neither opens nor closes an
    outage in ``services.faults`` and waits only ``QUICK_WAIT_S`` for a connection: it is a
    shortcut whose failure only sends the request the long way, and its success on the
    primary must not close an outage of the replicas that the screens' reads go to."""

    def __init__(
        self,
        read: Callable[[psycopg.Connection], int] = data_version,
        primary: bool = False,
        reports: bool = True,
    ) -> None:
        self._read, self._primary, self._reports = read, primary, reports
        self._reading = threading.Lock()
        self._value: int | None = None
        self._at = float("-inf")

    def current(self, services: Services) -> int | None:
        poll_s = services.settings.version_poll_ms / 1000
        if time.monotonic() - self._at < poll_s:
            return self._value
        # Only the very first read makes the other threads wait for it.
        if not self._reading.acquire(blocking=self._at == float("-inf")):
            return self._value
        try:
            if time.monotonic() - self._at < poll_s:
                return self._value
            pool = services.pool if self._primary else services.read_pool
            wait = None if self._reports else QUICK_WAIT_S
            try:
                with pool.connection(timeout=wait) as conn:
                    value: int | None = self._read(conn)
            except TRANSIENT_DB_ERRORS as exc:
                if self._reports:
                    services.faults.failed(POSTGRES, exc)
                value = None
            else:
                if self._reports:
                    services.faults.ok(POSTGRES)
            self._value, self._at = value, time.monotonic()
            return value
        finally:
            self._reading.release()
