"""API tokens: format, hashing and the check of a presented token.

A token reads ``gs_<prefix>_<secret>``: the 8-hex-digit prefix is public (it names the token in
``gridscope token list`` and in logs), the secret is 43 URL-safe characters (256 bits). Only the
SHA-256 of the whole token is stored; the presented token is hashed and compared with
``hmac.compare_digest`` (constant time), after looking the row up by its prefix.

A token carries a jurisdiction (bounded by the deployment's, setting ``jurisdiction``) and a
role of ``domain.access``: the role's tier decides what the token reads unmasked, its actions
whether it may write (``Action.WRITE_TICKETS``, and the token's own read-only flag).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from domain.access import Action, Role, may
from queries import api as q
from queries.scope import Scope, bounded_scope
from queries.viewer import Viewer

from .errors import ApiError

_TOKEN = re.compile(r"^gs_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
# last_used_at is written at most this often per token (keeps reads read-only). It is
# bookkeeping of when the server really saw the token, so the database's clock decides, not the
# app's (possibly pinned) clock: see queries.api.touch_token.
TOUCH_EVERY = timedelta(seconds=60)
_BEARER = re.compile(r"^Bearer +(\S+) *$", re.IGNORECASE)


def new_token() -> tuple[str, str]:
    """(prefix, token) for a fresh random token."""
    prefix = secrets.token_hex(4)
    return prefix, f"gs_{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    """Hex SHA-256 of the token: the only form in which it is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    conn: psycopg.Connection,
    name: str,
    scope: Scope,
    can_write: bool,
    role: Role = Role.DISPATCHER,
) -> tuple[str, str]:
    """Store a new token for ``scope`` with ``role``; returns (prefix, token). The token is not
    recoverable."""
    role = Role(role)
    for _ in range(5):
        prefix, token = new_token()
        try:
            with conn.transaction():
                q.insert_token(
                    conn, name, prefix, token_hash(token), scope.prefix, can_write, role.value
                )
        except psycopg.errors.UniqueViolation:
            continue  # prefix collision (1 in 4 billion): draw again
        return prefix, token
    raise RuntimeError("could not draw an unused token prefix")


@dataclass(frozen=True)
class Caller:
    """The authenticated API client: token id and prefix, jurisdiction (already inside the
    deployment's), role, and whether it may write."""

    token_id: int
    prefix: str
    name: str
    scope: Scope
    can_write: bool
    role: Role = Role.DISPATCHER

    @property
    def may_write(self) -> bool:
        """The token is read-write and its role may write tickets, transitions and positions."""
        return self.can_write and may(self.role, Action.WRITE_TICKETS)

    def viewer(self, client_addr: str = "") -> Viewer:
        """The caller as a ``Viewer`` (kind 'token', named 'prefix/name' in audit rows)."""
        return Viewer(
            "token",
            self.token_id,
            f"{self.prefix}/{self.name}",
            self.role,
            self.scope,
            client_addr=client_addr,
        )


def _unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        message,
        [("Authorization", message)],
        headers={"WWW-Authenticate": 'Bearer realm="gridscope"'},
    )


def parse_bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; 401 when absent or malformed."""
    if not header:
        raise _unauthorized("missing Authorization: Bearer <token> header")
    m = _BEARER.match(header)
    if not m or not _TOKEN.match(m.group(1)):
        raise _unauthorized("invalid or revoked API token")
    return m.group(1)


def authenticate(
    conn: psycopg.Connection, header: str | None, *, write: bool, deployment: Scope
) -> Caller:
    """The caller presenting ``header``, its jurisdiction bounded by ``deployment`` (the
    server's, setting ``jurisdiction``); 401 for a missing, unknown or revoked token, 403 for a
    token whose jurisdiction lies outside the deployment's and, when ``write`` is asked, for a
    read-only token or a role without ``Action.WRITE_TICKETS``."""
    token = parse_bearer(header)
    prefix = _TOKEN.match(token).group(1)
    stale_s = int(TOUCH_EVERY.total_seconds())
    # Looked up by prefix alone: no scope is known before the token is; the scope then comes
    # from this row and bounds every query of the request.
    row = q.active_token(conn, prefix, stale_s)
    presented = token_hash(token)
    # Compare even when no row matched, so timing says nothing about which prefixes exist.
    stored = row.token_hash if row else "0" * 64
    if not hmac.compare_digest(stored, presented) or row is None:
        raise _unauthorized("invalid or revoked API token")
    scope = bounded_scope(deployment, row.scope_prefix)
    if scope is None:
        raise ApiError(
            403,
            "this API token's jurisdiction lies outside this server's",
            [("Authorization", f"jurisdiction {row.scope_prefix or '(all)'!r} not served here")],
        )
    caller = Caller(row.id, row.prefix, row.name, scope, row.can_write, Role(row.role))
    if write and not caller.can_write:
        raise ApiError(403, "this API token is read-only", [("Authorization", "read-only token")])
    if write and not caller.may_write:
        raise ApiError(
            403,
            f"this API token's role {caller.role.value!r} may not write",
            [("Authorization", f"role {caller.role.value} is read-only")],
        )
    if row.touch_due:
        q.touch_token(conn, row.id, stale_s)
    return caller
