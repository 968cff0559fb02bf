"""``/healthz``: what monitors and the demo script poll. Open to anyone, so it says nothing
about the data.

It answers within about a second whatever PostgreSQL does (issue #10: it timed out at 15 s
during an outage). The check (``SELECT 1`` on a pooled connection, which waits on no lock)
runs in a short-lived probe thread that the request waits for at most ``ANSWER_WITHIN_S``: a
server that accepts connections and then never answers (frozen, or swapping) leaves the probe
stuck, not the request, and only one probe per process is ever in flight. A worker still
booting without its database answers 503 at once. Failures go to ``services.faults`` (one log
line per outage), never a line per poll.
"""

from __future__ import annotations

import threading
import time

import flask

from gridscope.outage import readiness
from queries import services
from queries.transient import POSTGRES, RETRY_AFTER_S, TRANSIENT_DB_ERRORS, pool_wait

ANSWER_WITHIN_S = 0.8
# A probe's result answers the polls of this long: several monitors cost one probe.
FRESH_S = 0.5
PROBE_KEY = "gridscope_health_probe"


class Probe:
    """The database check of one app: at most one probe thread in flight, its result shared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: threading.Event | None = None
        self._result: tuple[float, bool] = (float("-inf"), False)  # (monotonic time, ok)

    def database_answers(self, svc: services.Services) -> bool:
        """True when PostgreSQL answered a probe in the last ``FRESH_S``, or answers one within
        ``ANSWER_WITHIN_S``."""
        with self._lock:
            at, ok = self._result
            if time.monotonic() - at < FRESH_S:
                return ok
            running = self._running
            if running is None:
                running = self._running = threading.Event()
                threading.Thread(
                    target=self._probe, args=(svc, running), name="gridscope-healthz", daemon=True
                ).start()
        return running.wait(ANSWER_WITHIN_S) and self._result[1]

    def _probe(self, svc: services.Services, done: threading.Event) -> None:
        ok = False
        deadline = time.monotonic() + svc.settings.db_wait_s
        try:
            while not ok:
                left = max(0.05, deadline - time.monotonic())
                wait = min(pool_wait(svc.faults) or left, left)
                try:
                    with svc.pool.connection(timeout=wait) as conn:
                        conn.execute("SELECT 1")
                    ok = True
                    svc.faults.ok(POSTGRES)
                except TRANSIENT_DB_ERRORS as exc:
                    svc.faults.failed(POSTGRES, exc)
                    # A pooled connection the server dropped fails at once: one more try
                    # while time is left.
                    if time.monotonic() + 0.05 >= deadline:
                        break
        finally:
            with self._lock:
                self._result = (time.monotonic(), ok)
                self._running = None
            done.set()


def _probe_of(app: flask.Flask) -> Probe:
    found = app.extensions.get(PROBE_KEY)
    return found if found is not None else app.extensions.setdefault(PROBE_KEY, Probe())


def healthz() -> flask.Response:
    """200 {"status": "ok", "database": true, "redis": bool} when PostgreSQL answers; 503
    {"status": "error", "database": false, ...} with Retry-After otherwise (also while the
    worker has not reached its database since it booted: "starting": true). Says nothing
    about the data (not even its version, which moves with every write)."""
    svc = services.app_services()
    ready = readiness()
    starting = ready is not None and not ready.ready
    redis_ok = svc.cache.available
    if not starting and _probe_of(flask.current_app).database_answers(svc):
        return flask.jsonify(status="ok", database=True, redis=redis_ok)
    body: dict = {"status": "error", "database": False, "redis": redis_ok}
    if starting:
        body["starting"] = True
    resp = flask.jsonify(body)
    resp.status_code = 503
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    resp.headers["Cache-Control"] = "no-store"
    return resp
