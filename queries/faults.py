"""Faults logged once: when a dependency (PostgreSQL, Redis, a replica) starts failing, one
line; while it keeps failing, a count; when it answers again, one line with the count and the
outage's length. A dead database under 500 screens otherwise wrote a line (and a traceback)
per request: 1,140 lines in a minute (issue #10).

One ``FaultLog`` per app (on ``Services``); thread-safe; no module-level state."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger("gridscope.faults")


@dataclass
class _Outage:
    since: float
    count: int
    first_error: str


class FaultLog:
    """Per-dependency outage state of one process."""

    def __init__(self, logger: logging.Logger | None = None):
        self._log = logger or log
        self._lock = threading.Lock()
        self._open: dict[str, _Outage] = {}

    def failed(self, name: str, exc: BaseException | str) -> bool:
        """Record a failure of ``name``; logs (warning, no traceback) only the first of an
        outage. True when this call opened the outage."""
        reason = exc if isinstance(exc, str) else _reason(exc)
        with self._lock:
            outage = self._open.get(name)
            if outage is not None:
                outage.count += 1
                return False
            self._open[name] = _Outage(time.monotonic(), 1, reason)
        self._log.warning("%s unavailable: %s (logged once until it recovers)", name, reason)
        return True

    def ok(self, name: str) -> bool:
        """Record a success of ``name``; logs the end of an open outage with its count and
        length. True when this call closed one."""
        if name not in self._open:  # the fast path takes no lock
            return False
        with self._lock:
            outage = self._open.pop(name, None)
        if outage is None:
            return False
        self._log.warning(
            "%s is back after %.1f s (%d failures while it was away)",
            name,
            time.monotonic() - outage.since,
            outage.count,
        )
        return True

    def down(self, name: str) -> bool:
        """True while an outage of ``name`` is open in this process."""
        return name in self._open

    def open_outages(self) -> dict[str, float]:
        """{name: seconds since the outage started} of every open outage."""
        now = time.monotonic()
        with self._lock:
            return {k: now - v.since for k, v in self._open.items()}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
