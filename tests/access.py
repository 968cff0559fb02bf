"""Signing in from tests: accounts created directly in the database and a real sign-in through
POST /login (CSRF token and all), so every test goes through the same gate as a browser."""

from __future__ import annotations

import re
import uuid
from functools import lru_cache

import flask.testing

from domain.config import Settings
from queries import accounts
from queries.db import connect

PASSWORD = "Test-pass-2026!"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@lru_cache(maxsize=1)
def _password_hash() -> str:
    from gridscope.auth.passwords import hash_password

    return hash_password(PASSWORD)  # argon2 is slow on purpose: hash the shared one once


def add_user(
    settings: Settings, role: str, jurisdiction: str = "", username: str | None = None
) -> str:
    """A new active account with password PASSWORD; returns its username."""
    username = username or f"{role}-{uuid.uuid4().hex[:8]}"
    with connect(settings) as conn:
        accounts.insert_user(conn, username, username, role, jurisdiction, _password_hash())
        conn.commit()
    return username


def csrf_token(client: flask.testing.FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    m = _CSRF.search(page)
    assert m, "the sign-in page carries a CSRF token"
    return m.group(1)


def login(client: flask.testing.FlaskClient, username: str, password: str = PASSWORD, **extra):
    """POST /login as a browser would; returns the response (302 on success)."""
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token(client),
            **extra,
        },
    )


def signed_in(app, settings: Settings, role: str, jurisdiction: str = ""):
    """A test client of ``app`` signed in as a new account of ``role`` in ``jurisdiction``."""
    client = app.server.test_client()
    resp = login(client, add_user(settings, role, jurisdiction))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return client
