"""What every view of /api/v1 reads from the app serving the request: the clock, the caller,
the display time zone, and the checks of client-sent instants against the app's "now".

Everything comes from ``queries.services.current()`` (settings, pool, clock), never from the
Dash package and never from the machine's clock directly: tests pin the app at one instant
(setting ``fixed_now``) and every "now" of a request follows it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta

import flask
import psycopg

from queries import services
from queries.transient import POSTGRES, pool_wait
from queries.viewer import Viewer

from . import models as m
from .errors import ApiError
from .tokens import Caller, authenticate

PREFIX = "/api/v1"
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a client's clock may run
MAX_TICKET_AGE = timedelta(days=366)  # older reports go through the file importer
MAX_FIX_AGE = timedelta(days=30)  # worker tracks are retention-limited L4 data
MAX_DUE_AHEAD = timedelta(days=400)  # an extension further out is a typo


def now() -> datetime:
    """The current instant (aware, UTC) by the app's clock (``Services.clock``)."""
    return services.current().clock.now()


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in the configured display time zone (Asia/Shanghai by default), or None."""
    if value is None:
        return None
    return value.astimezone(services.current().settings.tz).isoformat()


def check_instant(name: str, value: datetime | None, now: datetime, max_age: timedelta) -> None:
    """422 naming ``name`` when ``value`` is later than ``now`` (plus the allowed clock skew)
    or older than ``max_age``; ``now`` is the app's clock, not the client's."""
    if value is None:
        return
    if value > now + CLOCK_SKEW:
        raise ApiError(422, f"invalid request body: {name}", [(name, "is in the future")])
    if value < now - max_age:
        raise ApiError(
            422, f"invalid request body: {name}", [(name, f"is more than {max_age.days} days ago")]
        )


def ticket_id(value: int) -> int:
    """``value`` when it can be a ticket id; a 404 (not a 500 from the database) otherwise."""
    if not 0 < value <= m.BIGINT_MAX:
        raise ApiError(404, f"no ticket {value} in your jurisdiction", [("ticket_id", "not found")])
    return value


def connection(svc: services.Services) -> AbstractContextManager[psycopg.Connection]:
    """A pooled connection for one request: waited for at most ``settings.db_wait_s``, or
    ``QUICK_WAIT_S`` while this process knows PostgreSQL is away (then a 503 answers at once
    instead of holding the request thread)."""
    return svc.pool.connection(timeout=pool_wait(svc.faults))


def caller(conn: psycopg.Connection, *, write: bool) -> Caller:
    """The client presenting the request's bearer token (401/403 otherwise), its jurisdiction
    bounded by the deployment's; the request is bound to it (``services.current().viewer``)."""
    app = services.app_services()
    found = authenticate(
        conn, flask.request.headers.get("Authorization"), write=write, deployment=app.scope
    )
    app.faults.ok(POSTGRES)  # the database answered: ends an open outage with one log line
    services.bind(found.viewer(flask.request.remote_addr or ""))
    return found


def viewer() -> Viewer:
    """The token behind the request as a ``Viewer`` (role, tier, masker, audit identity); only
    after ``caller`` has authenticated it."""
    found = services.viewer()
    if found is None or found.kind != "token":
        raise RuntimeError("api: viewer() before caller()")
    return found
