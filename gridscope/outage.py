"""The web server while PostgreSQL is away or busy (issue #10): a clear 503, fast, never a
traceback per request, and never a worker that refuses to boot.

- ``Readiness`` (one per app, ``app.extensions``): a worker boots whether or not PostgreSQL
  answers. The schema check and the session key (when it lives in the database) wait for the
  first successful connection, retried in the background; until then every request that needs
  the database gets 503 at once (``require_database``, a before-request hook that runs before
  the access gate). Under gunicorn a worker that exited at boot (code 3) made the master shut
  down for good, so a database outage plus one dying worker took the whole server away.
- ``unavailable_response``: the one 503 shape, by what asked: a small zh-CN page for browsers,
  the API's JSON error for /api/, ``{"ok": false}`` JSON for feeds and Dash plumbing, and
  ``204`` (Dash's "no update") for a callback, so a panel keeps what it shows. All carry
  ``Retry-After``.
- ``install`` wires both, and ``database_error``: any transient database error
  (``queries.transient``) a view or callback lets through becomes that 503, reported once per
  outage through ``services.faults`` under its name ("postgres" away, "postgres-busy" for
  statement timeouts and lock waits, closed by ``settle_busy`` once requests run clean).

Requests that never touch the database (static code, /healthz, the API's documents, and the
sign-in page once the app has reached its database) pass whatever PostgreSQL does.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from html import escape

import flask
import psycopg

from queries import accounts
from queries.db import connect
from queries.migrate import SchemaMismatch, check_schema
from queries.services import Services, app_services
from queries.transient import (
    POSTGRES,
    POSTGRES_BUSY,
    RETRY_AFTER_S,
    TRANSIENT_DB_ERRORS,
    describe,
    fault_name,
)

log = logging.getLogger(__name__)

EXTENSION_KEY = "gridscope_readiness"
BUSY_KEY = "gridscope_busy"
SCHEMA = "postgres-schema"  # a database at another revision: not an outage, still a 503
# A "busy" spell (statement timeouts, lock waits) is over once requests have run this long
# without one: nothing else says a lock is gone.
BUSY_QUIET_S = 5.0
CALLBACK_PATH = "/_dash-update-component"
# Never need the database: static code and the documents built at boot.
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
STATIC_PATHS = frozenset(
    {
        "/healthz",  # reports the database itself
        "/favicon.ico",
        "/_favicon.ico",
        "/api/v1",
        "/api/v1/",
        "/api/v1/docs",
        "/api/v1/openapi.json",
    }
)
MESSAGE = "数据库暂不可用，请稍后重试"


def needs_no_database(path: str) -> bool:
    """True for the routes that never wait on PostgreSQL."""
    return path in STATIC_PATHS or path.startswith(STATIC_PREFIXES)


class Readiness:
    """Whether this app has reached its database once: schema at this code's revision and the
    session key loaded. Until then ``ready`` is False and requests needing the database get 503.

    ``attempt()`` tries once (bounded by ``settings.db_wait_s``); ``start()`` retries every
    ``retry_s`` in a daemon thread until it succeeds or the app's pool is closed."""

    def __init__(
        self,
        svc: Services,
        *,
        check_database: bool,
        set_secret_key: Callable[[str], None] | None,
        retry_s: float = 1.0,
    ):
        self._svc = svc
        self._check_database = check_database
        self._set_secret_key = set_secret_key
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ready = not check_database and set_secret_key is None
        self.problem = ""  # why not ready, for /healthz and the log

    def attempt(self) -> bool:
        """One try at the schema check and the session key; True once ready."""
        if self.ready:
            return True
        with self._lock:
            if self.ready:
                return True
            svc = self._svc
            try:
                # A direct connection, not the pool: the pool's reconnect backoff must not
                # delay the moment a recovered database is seen.
                with connect(svc.settings, timeout=svc.settings.db_wait_s) as conn:
                    if self._check_database:
                        check_schema(conn)
                    if self._set_secret_key is not None:
                        key = accounts.session_secret(conn, secrets.token_urlsafe(48))
                        conn.commit()
                        self._set_secret_key(key)
            except TRANSIENT_DB_ERRORS as exc:
                self.problem = describe(exc)
                svc.faults.failed(POSTGRES, exc)
                return False
            except (SchemaMismatch, psycopg.Error) as exc:
                # Another revision, or not migrated at all: still never a worker that fails to
                # boot (gunicorn would shut down); 503 until `gridscope db migrate` has run.
                self.problem = str(exc) if isinstance(exc, SchemaMismatch) else describe(exc)
                svc.faults.failed(SCHEMA, self.problem)
                return False
            self.ready, self.problem = True, ""
            svc.faults.ok(SCHEMA)
            svc.faults.ok(POSTGRES)
            log.info("database reached: schema checked, serving")
            return True

    def start(self) -> None:
        """Retry in the background until ready (no request ever waits on this)."""
        if self.ready or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="gridscope-readiness", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.retry_s):
            if self._svc.pool.closed or self.attempt():
                return


def readiness() -> Readiness | None:
    """The Readiness of the app handling the current request (None when not installed)."""
    return flask.current_app.extensions.get(EXTENSION_KEY)


def unavailable_page(message: str = MESSAGE) -> str:
    """A small self-contained zh-CN page (no script: the CSP allows none inline); it reloads
    itself, so a wall left on it comes back by itself."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="{RETRY_AFTER_S * 2}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>数据库暂不可用</title><style>body{margin:0;min-height:100vh;display:flex;"
        "align-items:center;justify-content:center;background:#0b1526;color:#dce6f2;"
        'font:18px/1.6 system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}'
        "main{text-align:center;padding:24px}h1{font-size:28px;color:#fff}"
        "p{color:#9fb3cc}</style></head><body><main><h1>数据库暂不可用</h1>"
        f"<p>{escape(message)}</p><p>页面将自动重试。</p></main></body></html>"
    )


def _wants_html() -> bool:
    req = flask.request
    return req.method == "GET" and "text/html" in req.headers.get("Accept", "")


def unavailable_response(message: str = MESSAGE) -> flask.Response:
    """503 (or 204 for a Dash callback) with ``Retry-After``, shaped for whoever asked."""
    path = flask.request.path
    if path == CALLBACK_PATH:
        # Dash's "no update" (what PreventUpdate answers): the panel keeps its last data,
        # and the browser logs no error. Callbacks that must say more catch the error.
        resp = flask.Response(status=204)
    elif path.startswith("/api/"):
        body = {"error": {"status": 503, "message": message, "fields": []}}
        resp = flask.json.jsonify(body)
        resp.status_code = 503
        resp.headers["Cache-Control"] = "no-store"
    elif _wants_html():
        resp = flask.Response(unavailable_page(message), status=503, mimetype="text/html")
    else:
        resp = flask.json.jsonify(ok=False, error=message)
        resp.status_code = 503
    resp.headers["Retry-After"] = str(RETRY_AFTER_S)
    resp.headers["X-Gridscope-Unavailable"] = POSTGRES
    return resp


def require_database() -> flask.Response | None:
    """Before-request hook: 503 at once while the app has not reached its database yet."""
    ready = readiness()
    req = flask.request
    if ready is None or ready.ready or needs_no_database(req.path):
        return None
    if req.path == "/login" and req.method == "GET" and flask.current_app.secret_key:
        return None  # the sign-in page needs only the session key (configured): no database
    return unavailable_response(MESSAGE)


class BusyWatch:
    """When this app last saw a statement give up (``POSTGRES_BUSY``)."""

    def __init__(self) -> None:
        self.last_at = 0.0


def report(exc: BaseException) -> None:
    """Record a transient database error of the current request in ``services.faults`` under
    its name (``queries.transient.fault_name``): logged once per outage, never a traceback."""
    name = fault_name(exc)
    if name == POSTGRES_BUSY:
        watch = flask.current_app.extensions.get(BUSY_KEY)
        if watch is not None:
            watch.last_at = time.monotonic()
    app_services().faults.failed(name, exc)


def settle_busy(response: flask.Response) -> flask.Response:
    """After-request hook: close a busy spell once requests have gone ``BUSY_QUIET_S``
    without a statement giving up."""
    faults = app_services().faults
    if response.status_code < 500 and faults.down(POSTGRES_BUSY):
        watch = flask.current_app.extensions.get(BUSY_KEY)
        if watch is not None and time.monotonic() - watch.last_at > BUSY_QUIET_S:
            faults.ok(POSTGRES_BUSY)
    return response


def database_error(exc: Exception) -> flask.Response:
    """Error handler for transient database errors: one log line per outage, then 503."""
    report(exc)
    return unavailable_response()


def install(
    server: flask.Flask,
    svc: Services,
    *,
    check_database: bool,
    set_secret_key: Callable[[str], None] | None,
) -> Readiness:
    """Readiness (first attempt now, then in the background) and the 503 hook and handler on
    ``server``. Call before the access gate is registered: the hook must run first."""
    ready = Readiness(svc, check_database=check_database, set_secret_key=set_secret_key)
    server.extensions[EXTENSION_KEY] = ready
    if not ready.attempt():
        # services.faults has logged the outage once; 503 until the background retry succeeds.
        log.info("starting without the database: %s", ready.problem)
        ready.start()
    server.extensions[BUSY_KEY] = BusyWatch()
    server.before_request(require_database)
    server.after_request(settle_busy)
    for exc_type in TRANSIENT_DB_ERRORS:
        server.register_error_handler(exc_type, database_error)
    return ready
