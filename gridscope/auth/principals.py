"""The signed-in principals behind a session (a user account or a wall link) and how a session
is loaded back into a ``Viewer`` on every request.

The session cookie (Flask's signed cookie) holds only ``_user_id`` = "u:<id>:<epoch>" or
"w:<id>" and an expiry; role and jurisdiction are read from the database on every request, so
a role change, a disabled account, a password change (epoch + 1) or a revoked wall link takes
effect on the next request.

While PostgreSQL is away (issue #10) a session cannot be verified. The lookup then gives up
fast (``queries.transient.QUICK_WAIT_S`` once the outage is known) and the request gets 503,
except the read-only traffic of a screen already open: ``GET /feed/*`` and Dash's callbacks
and layout proceed with the principal this process last verified for the same session, if
that was less than ``STALE_GRACE_S`` ago (``VerifiedSessions``). Walls then keep showing their
last data with a stale mark instead of errors. The trade-off: a session revoked in the last
``STALE_GRACE_S`` before the outage (its next request had not reached this process yet) may
read those panels until the grace runs out; revoking anything needs the database anyway, and
nothing that opens a page or signs in is let through on a remembered principal (a callback
that writes fails on the database like any other query).

A wall polls its feeds every few seconds, hundreds of walls at once, and reading the
principal was most of a feed request's cost (issue #10). So a ``GET /feed/*`` reuses the
principal this process verified for the session less than ``REUSE_S`` ago, as long as the
auth generation (migration 0011: moved, in the same transaction, by every change to an account
or a wall link that can end or narrow a session) still has the value it had just before that
verification. This process re-reads the generation on the primary at most every
``version_poll_ms`` (1 s by default), so a revocation reaches the feed polls within about a
second and everything else (pages, callbacks, sign-in) on the next request. Past ``REUSE_S``
the session is verified again, which also keeps a wall's "last refresh" current.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import flask
from flask_login import UserMixin

from domain.access import Role
from queries import accounts
from queries.db import DatabaseUnavailable
from queries.scope import bounded_scope
from queries.services import Services
from queries.transient import POSTGRES, TRANSIENT_DB_ERRORS, pool_wait
from queries.version_watch import VersionWatch
from queries.viewer import Viewer

from ..outage import report

log = logging.getLogger(__name__)

# A wall's last refresh is written at most this often (database clock).
WALL_TOUCH_S = 60
# How long a session verified in this process may stand in for itself while PostgreSQL is
# away, and for how many sessions (a wall refreshes every few seconds, so its entry is fresh).
STALE_GRACE_S = 300.0
MAX_REMEMBERED = 20_000
VERIFIED_KEY = "gridscope_verified_sessions"
# Read-only traffic of an open screen that may ride on a remembered principal.
STALE_OK_PATHS = frozenset({"/_dash-update-component", "/_dash-layout", "/_dash-dependencies"})
STALE_OK_GET_PREFIX = "/feed/"
RIDE_OUT_WAIT_S = 0.02
# How long a feed poll may reuse a verified principal while the auth generation holds.
REUSE_S = 30.0
AUTH_WATCH_KEY = "gridscope_auth_watch"


@dataclass
class SessionPrincipal(UserMixin):
    """What Flask-Login keeps: the session id string and the viewer loaded for it."""

    session_id: str
    viewer: Viewer

    def get_id(self) -> str:
        return self.session_id


def client_addr() -> str:
    return flask.request.remote_addr or ""


class VerifiedSessions:
    """Principals this process verified against the database, by session id, for at most
    ``grace_s`` and ``max_entries`` (oldest verification dropped first). Thread-safe."""

    def __init__(self, grace_s: float = STALE_GRACE_S, max_entries: int = MAX_REMEMBERED):
        self.grace_s, self.max_entries = grace_s, max_entries
        self._lock = threading.Lock()
        # session id -> (verified at, principal, auth generation read just before).
        self._seen: OrderedDict[str, tuple[float, SessionPrincipal, int | None]] = OrderedDict()

    def remember(self, principal: SessionPrincipal, generation: int | None = None) -> None:
        with self._lock:
            self._seen.pop(principal.session_id, None)
            self._seen[principal.session_id] = (time.monotonic(), principal, generation)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)

    def reusable(self, session_id: str, generation: int | None) -> SessionPrincipal | None:
        """The principal verified for ``session_id`` less than ``REUSE_S`` ago at the auth
        generation ``generation`` (known), or None."""
        if generation is None:
            return None
        with self._lock:
            found = self._seen.get(session_id)
        if found is None or found[2] != generation or time.monotonic() - found[0] > REUSE_S:
            return None
        return found[1]

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._seen.pop(session_id, None)

    def recent(self, session_id: str) -> SessionPrincipal | None:
        """The principal verified for ``session_id`` less than ``grace_s`` ago, or None."""
        with self._lock:
            found = self._seen.get(session_id)
        if found is None or time.monotonic() - found[0] > self.grace_s:
            return None
        return found[1]


def verified_sessions() -> VerifiedSessions:
    """The VerifiedSessions of the app handling the current request."""
    ext = flask.current_app.extensions
    found = ext.get(VERIFIED_KEY)
    return found if found is not None else ext.setdefault(VERIFIED_KEY, VerifiedSessions())


def auth_watch() -> VersionWatch:
    """The auth generation as the app handling the current request last read it."""
    ext = flask.current_app.extensions
    found = ext.get(AUTH_WATCH_KEY)
    if found is None:
        found = ext.setdefault(
            AUTH_WATCH_KEY, VersionWatch(accounts.auth_generation, primary=True, reports=False)
        )
    return found


def may_reuse() -> bool:
    """True for a feed poll, the only traffic that may reuse a verified principal."""
    req = flask.request
    return req.method == "GET" and req.path.startswith(STALE_OK_GET_PREFIX)


def may_ride_out() -> bool:
    """True when the current request is read-only traffic of an open screen (see module)."""
    req = flask.request
    if req.path in STALE_OK_PATHS:
        return True
    return req.method == "GET" and req.path.startswith(STALE_OK_GET_PREFIX)


def reusable(svc: Services, session_id: str) -> SessionPrincipal | None:
    """The principal this app verified for ``session_id`` that a feed poll may reuse now (see
    the module docstring), or None; never touches the database but for the generation's
    re-read (at most once per ``version_poll_ms``)."""
    return verified_sessions().reusable(session_id, auth_watch().current(svc))


def load(svc: Services, session_id: str) -> SessionPrincipal | None:
    """The principal of a session id, or None when the account or link is gone, disabled,
    revoked, re-keyed (epoch moved) or outside the deployment.

    PostgreSQL away: the principal last verified for this session when the request may ride
    out the outage (module docstring), else ``DatabaseUnavailable`` (503 by
    ``gridscope.outage``)."""
    remembered = verified_sessions()
    generation = None
    if may_reuse():
        generation = auth_watch().current(svc)
        reused = remembered.reusable(session_id, generation)
        if reused is not None:
            return reused
    stale = remembered.recent(session_id) if may_ride_out() else None
    wait = pool_wait(svc.faults)
    if wait is not None and stale is not None:
        # An outage is open and this request has its stand-in: take a pooled connection only
        # if one is there (the pool reconnects by itself), so hundreds of walls polling
        # through an outage do not hold a request thread each.
        wait = RIDE_OUT_WAIT_S
    try:
        principal = _from_database(svc, session_id, wait)
    except TRANSIENT_DB_ERRORS as exc:
        report(exc)
        if stale is None:
            raise DatabaseUnavailable("the session cannot be verified now") from None
        flask.g.gs_stale_principal = True
        return stale
    svc.faults.ok(POSTGRES)
    if principal is None:
        remembered.forget(session_id)
    else:
        remembered.remember(principal, generation)
    return principal


def _from_database(svc: Services, session_id: str, wait: float | None) -> SessionPrincipal | None:
    parts = session_id.split(":")
    try:
        kind, ident = parts[0], int(parts[1])
    except (IndexError, ValueError):
        return None
    with svc.pool.connection(timeout=wait) as conn:
        if kind == "u" and len(parts) == 3:
            row = accounts.user_by_id(conn, ident)
            if row is None or not row.active or str(row.session_epoch) != parts[2]:
                return None
            scope = bounded_scope(svc.scope, row.jurisdiction)
            if scope is None:
                return None
            viewer = Viewer(
                "user", row.id, row.username, Role(row.role), scope, client_addr=client_addr()
            )
        elif kind == "w" and len(parts) == 2:
            wall = accounts.wall_by_id(conn, ident, WALL_TOUCH_S)
            if wall is None:
                return None
            scope = bounded_scope(svc.scope, wall.jurisdiction)
            if scope is None:
                return None
            if wall.touch_due:
                accounts.touch_wall(conn, wall.id, client_addr())
                conn.commit()
            viewer = Viewer(
                "wall", wall.id, wall.name, Role.WALL, scope, wall.layout, client_addr()
            )
        else:
            return None
    return SessionPrincipal(session_id, viewer)


def user_session_id(row: accounts.UserRow) -> str:
    return f"u:{row.id}:{row.session_epoch}"


def wall_session_id(wall: accounts.WallRow) -> str:
    return f"w:{wall.id}"
