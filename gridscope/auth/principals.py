"""The signed-in principals behind a session (a user account or a wall link) and how a session
is loaded back into a ``Viewer`` on every request.

The session cookie (Flask's signed cookie) holds only ``_user_id`` = "u:<id>:<epoch>" or
"w:<id>" and an expiry; role and jurisdiction are read from the database on every request, so
a role change, a disabled account, a password change (epoch + 1) or a revoked wall link takes
effect on the next request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import flask
from flask_login import UserMixin

from domain.access import Role
from queries import accounts
from queries.scope import bounded_scope
from queries.services import Services
from queries.viewer import Viewer

log = logging.getLogger(__name__)

# A wall's last refresh is written at most this often (database clock).
WALL_TOUCH_S = 60


@dataclass
class SessionPrincipal(UserMixin):
    """What Flask-Login keeps: the session id string and the viewer loaded for it."""

    session_id: str
    viewer: Viewer

    def get_id(self) -> str:
        return self.session_id


def client_addr() -> str:
    return flask.request.remote_addr or ""


def load(svc: Services, session_id: str) -> SessionPrincipal | None:
    """The principal of a session id, or None when the account or link is gone, disabled,
    revoked, re-keyed (epoch moved) or outside the deployment."""
    parts = session_id.split(":")
    try:
        kind, ident = parts[0], int(parts[1])
    except (IndexError, ValueError):
        return None
    with svc.pool.connection() as conn:
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
