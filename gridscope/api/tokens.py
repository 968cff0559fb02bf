"""API tokens: format, hashing and the check of a presented token.

A token reads ``gs_<prefix>_<secret>``: the 8-hex-digit prefix is public (it names the token in
``gridscope token list`` and in logs), the secret is 43 URL-safe characters (256 bits). Only the
SHA-256 of the whole token is stored; the presented token is hashed and compared with
``hmac.compare_digest`` (constant time), after looking the row up by its prefix.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from queries import api as q
from queries.scope import Scope

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
    conn: psycopg.Connection, name: str, scope: Scope, can_write: bool
) -> tuple[str, str]:
    """Store a new token for ``scope``; returns (prefix, token). The token is not recoverable."""
    for _ in range(5):
        prefix, token = new_token()
        try:
            with conn.transaction():
                q.insert_token(conn, name, prefix, token_hash(token), scope.prefix, can_write)
        except psycopg.errors.UniqueViolation:
            continue  # prefix collision (1 in 4 billion): draw again
        return prefix, token
    raise RuntimeError("could not draw an unused token prefix")


@dataclass(frozen=True)
class Caller:
    """The authenticated API client: token id and prefix, jurisdiction, write permission."""

    token_id: int
    prefix: str
    name: str
    scope: Scope
    can_write: bool


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


def authenticate(conn: psycopg.Connection, header: str | None, *, write: bool) -> Caller:
    """The caller presenting ``header``; 401 for a missing, unknown or revoked token and 403
    when ``write`` is asked of a read-only token."""
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
    if write and not row.can_write:
        raise ApiError(403, "this API token is read-only", [("Authorization", "read-only token")])
    if row.touch_due:
        q.touch_token(conn, row.id, stale_s)
    return Caller(row.id, row.prefix, row.name, Scope(row.scope_prefix), row.can_write)
