"""User accounts and wall links (tables ``app_user``, ``wall_link``): the rows a session is
loaded from. Password hashing and secrets live in gridscope.auth; this module only stores and
reads hashes.

Lookups by username, id or secret hash take no scope: they are how a request's scope is found
(the row's ``jurisdiction``). Listings for the admin pages take the administrator's scope and
return only accounts whose jurisdiction lies inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from .scope import Scope


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    jurisdiction: str
    password_hash: str
    active: bool
    session_epoch: int
    last_login_at: datetime | None


_USER_COLUMNS = (
    "id, username, display_name, role, jurisdiction, password_hash, active, session_epoch,"
    " last_login_at"
)


def user_by_name(conn: psycopg.Connection, username: str) -> UserRow | None:
    """The account named ``username`` (active or not), or None."""
    row = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM app_user WHERE username = %s",  # noqa: S608 (constant)
        (username,),
    ).fetchone()
    return UserRow(*row) if row else None


def user_by_id(conn: psycopg.Connection, user_id: int) -> UserRow | None:
    row = conn.execute(
        f"SELECT {_USER_COLUMNS} FROM app_user WHERE id = %s",  # noqa: S608 (constant)
        (user_id,),
    ).fetchone()
    return UserRow(*row) if row else None


def insert_user(
    conn: psycopg.Connection,
    username: str,
    display_name: str,
    role: str,
    jurisdiction: str,
    password_hash: str,
) -> int:
    """A new active account; raises UniqueViolation when the username is taken."""
    row = conn.execute(
        "INSERT INTO app_user (username, display_name, role, jurisdiction, password_hash)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (username, display_name, role, jurisdiction, password_hash),
    ).fetchone()
    assert row is not None
    return int(row[0])


# Changes that end the account's open sessions bump session_epoch.
_UPDATABLE = {
    "display_name": False,
    "role": True,
    "jurisdiction": True,
    "password_hash": True,
    "active": True,
}


def update_user(conn: psycopg.Connection, user_id: int, **changes: Any) -> bool:
    """Change the named columns (display_name, role, jurisdiction, password_hash, active) of
    one account; True when it exists. Role, jurisdiction, password and active changes end the
    account's sessions (session_epoch + 1)."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise ValueError(f"not an account column: {', '.join(sorted(unknown))}")
    if not changes:
        return user_by_id(conn, user_id) is not None
    from psycopg import sql

    sets: list[sql.Composable] = [sql.SQL("{} = %s").format(sql.Identifier(k)) for k in changes]
    if any(_UPDATABLE[k] for k in changes):
        sets.append(sql.SQL("session_epoch = session_epoch + 1"))
    sets.append(sql.SQL("updated_at = now()"))
    query = sql.SQL("UPDATE app_user SET {} WHERE id = %s").format(sql.SQL(", ").join(sets))
    cur = conn.execute(query, (*changes.values(), user_id))
    return cur.rowcount == 1


def auth_generation(conn: psycopg.Connection) -> int:
    """The auth generation (migration 0011): moves when an account or a wall link changes in
    a way that can end or narrow a session; a principal verified at one generation may be
    reused while it holds (gridscope/auth/principals.py)."""
    row = conn.execute("SELECT generation FROM auth_generation").fetchone()
    return int(row[0]) if row else 0


def record_login(conn: psycopg.Connection, user_id: int, at: datetime) -> None:
    conn.execute("UPDATE app_user SET last_login_at = %s WHERE id = %s", (at, user_id))


def list_users(conn: psycopg.Connection, scope: Scope) -> list[dict[str, Any]]:
    """Accounts whose jurisdiction lies in ``scope``, by username: id, username, display_name,
    role, jurisdiction, active, created_at, last_login_at (no hashes)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, username, display_name, role, jurisdiction, active, created_at,"
            " last_login_at FROM app_user WHERE jurisdiction LIKE %s ORDER BY username",
            (scope.like,),
        ).fetchall()


@dataclass(frozen=True)
class WallRow:
    id: int
    name: str
    prefix: str
    jurisdiction: str
    layout: str
    revoked_at: datetime | None
    touch_due: bool


def insert_wall(
    conn: psycopg.Connection,
    name: str,
    prefix: str,
    secret_hash: str,
    jurisdiction: str,
    layout: str,
    created_by: str,
) -> int:
    """A new wall link; raises UniqueViolation on a prefix collision (the caller redraws)."""
    row = conn.execute(
        "INSERT INTO wall_link (name, prefix, secret_hash, jurisdiction, layout, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (name, prefix, secret_hash, jurisdiction, layout, created_by),
    ).fetchone()
    assert row is not None
    return int(row[0])


def wall_by_hash(conn: psycopg.Connection, secret_hash: str) -> WallRow | None:
    """The unrevoked wall link with this secret hash, or None."""
    row = conn.execute(
        "SELECT id, name, prefix, jurisdiction, layout, revoked_at, false FROM wall_link"
        " WHERE secret_hash = %s AND revoked_at IS NULL",
        (secret_hash,),
    ).fetchone()
    return WallRow(*row) if row else None


def wall_by_id(conn: psycopg.Connection, wall_id: int, stale_s: int = 60) -> WallRow | None:
    """The unrevoked wall link ``wall_id``; ``touch_due`` when its last refresh is older than
    ``stale_s`` seconds (database clock: this is bookkeeping of real use)."""
    row = conn.execute(
        "SELECT id, name, prefix, jurisdiction, layout, revoked_at,"
        " (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => %s))"
        " FROM wall_link WHERE id = %s AND revoked_at IS NULL",
        (stale_s, wall_id),
    ).fetchone()
    return WallRow(*row) if row else None


def touch_wall(conn: psycopg.Connection, wall_id: int, address: str) -> None:
    """Record a wall's refresh (shown as 'last refresh' in the list); never waits on a lock."""
    conn.execute(
        "UPDATE wall_link SET last_seen_at = now(), last_address = %s WHERE id = ("
        " SELECT id FROM wall_link WHERE id = %s FOR UPDATE SKIP LOCKED)",
        (address, wall_id),
    )


def revoke_wall(conn: psycopg.Connection, wall_id: int, scope: Scope) -> bool:
    """Revoke wall link ``wall_id`` if it lies in ``scope``; True when one was revoked."""
    cur = conn.execute(
        "UPDATE wall_link SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL"
        " AND jurisdiction LIKE %s",
        (wall_id, scope.like),
    )
    return cur.rowcount == 1


def list_walls(conn: psycopg.Connection, scope: Scope) -> list[dict[str, Any]]:
    """Wall links whose jurisdiction lies in ``scope``, newest first: id, name, prefix,
    jurisdiction, layout, created_by, created_at, revoked_at, last_seen_at, last_address."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT id, name, prefix, jurisdiction, layout, created_by, created_at, revoked_at,"
            " last_seen_at, last_address FROM wall_link WHERE jurisdiction LIKE %s"
            " ORDER BY created_at DESC, id DESC",
            (scope.like,),
        ).fetchall()


def region_or_grid_exists(conn: psycopg.Connection, code: str) -> bool:
    """True when ``code`` is a current region or grid code, or a prefix of one (a jurisdiction
    must name something that exists, or accounts could be bound to a typo)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM region WHERE code LIKE %(like)s AND valid_to IS NULL)"
        " OR EXISTS (SELECT 1 FROM grid WHERE code LIKE %(like)s AND valid_to IS NULL)",
        {"like": Scope(code).like},
    ).fetchone()
    return bool(row and row[0])


def session_secret(conn: psycopg.Connection, candidate: str) -> str:
    """The deployment's session-signing key kept in gridscope_meta: ``candidate`` on first use
    (stored), the stored one afterwards (so every worker and restart signs alike)."""
    conn.execute(
        "INSERT INTO gridscope_meta (key, value) VALUES ('session_secret', to_jsonb(%s::text))"
        " ON CONFLICT (key) DO NOTHING",
        (candidate,),
    )
    row = conn.execute("SELECT value #>> '{}' FROM gridscope_meta WHERE key = 'session_secret'")
    value = row.fetchone()
    assert value is not None
    return str(value[0])
