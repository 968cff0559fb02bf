"""A wall's feed polls reuse the principal this process verified (gridscope/auth/principals.py,
issue #10) only while the auth generation of migration 0011 holds: a revoked wall link, a
disabled account or a role change ends feed access within the watch's poll, and pages and
callbacks are verified on every request as before."""

from __future__ import annotations

import time

import pytest

from app import create_app
from gridscope.auth import principals, walls
from queries import accounts
from queries.db import connect
from queries.scope import WHOLE
from tests.access import add_user, login

TOWN = "330402007"
POLL_MS = 50
GZIP = {"Accept-Encoding": "gzip"}


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db.model_copy(update={"version_poll_ms": POLL_MS}))
    yield app
    app.server.extensions["gridscope"].close()


@pytest.fixture
def lookups(monkeypatch):
    """How many times a session was verified against the database, by kind."""
    seen = {"wall": 0, "user": 0}
    wall_by_id, user_by_id = accounts.wall_by_id, accounts.user_by_id

    def count_wall(*args, **kwargs):
        seen["wall"] += 1
        return wall_by_id(*args, **kwargs)

    def count_user(*args, **kwargs):
        seen["user"] += 1
        return user_by_id(*args, **kwargs)

    monkeypatch.setattr(accounts, "wall_by_id", count_wall)
    monkeypatch.setattr(accounts, "user_by_id", count_user)
    return seen


def _generation(settings) -> int:
    with connect(settings) as conn:
        return accounts.auth_generation(conn)


def _past_the_poll() -> None:
    time.sleep(3 * POLL_MS / 1000)


def _open_wall(app, settings) -> tuple[int, object]:
    with connect(settings) as conn:
        wall_id, token = walls.create(conn, "reuse test", TOWN, "standard", "test")
        conn.commit()
    client = app.server.test_client()
    assert client.get(f"/wall/{token}").status_code == 302
    return wall_id, client


def test_feed_polls_reuse_the_verified_wall_until_the_link_is_revoked(app, demo_db, lookups):
    wall_id, wall = _open_wall(app, demo_db)
    opened = lookups["wall"]
    for _ in range(6):
        assert wall.get("/feed/counters", headers=GZIP).status_code == 200
    # The first poll verified the link; the other five rode on it.
    assert lookups["wall"] == opened + 1
    # A page is verified on every request all the same.
    assert wall.get("/screen").status_code == 200
    assert lookups["wall"] == opened + 2

    with connect(demo_db) as conn:
        assert accounts.revoke_wall(conn, wall_id, WHOLE)
        conn.commit()
    _past_the_poll()
    resp = wall.get("/feed/counters", headers=GZIP)
    assert resp.status_code == 401, resp.status_code
    assert wall.get("/feed/ticker", headers=GZIP).status_code == 401


def test_a_disabled_account_or_a_new_role_ends_feed_reuse(app, demo_db, lookups):
    leader, dispatcher = add_user(demo_db, "leader", TOWN), add_user(demo_db, "dispatcher", TOWN)
    clients = {}
    for name in (leader, dispatcher):
        clients[name] = app.server.test_client()
        assert login(clients[name], name).status_code == 302
        assert clients[name].get("/feed/counters", headers=GZIP).status_code == 200
    before = lookups["user"]
    assert clients[leader].get("/feed/counters", headers=GZIP).status_code == 200
    assert lookups["user"] == before  # reused

    with connect(demo_db) as conn:
        rows = {r["username"]: r for r in accounts.list_users(conn, WHOLE)}
        assert accounts.update_user(conn, rows[leader]["id"], active=False)
        assert accounts.update_user(conn, rows[dispatcher]["id"], role="wall")
        conn.commit()
    _past_the_poll()
    assert clients[leader].get("/feed/counters", headers=GZIP).status_code == 401
    # A role change moves the account's epoch: the old session is over.
    assert clients[dispatcher].get("/feed/counters", headers=GZIP).status_code == 401


def test_bookkeeping_writes_do_not_move_the_generation(demo_db):
    # A wall's "last refresh" and a sign-in's time are written all the time: if they moved the
    # generation, every process would verify every session again after each of them.
    with connect(demo_db) as conn:
        wall_id, _ = walls.create(conn, "bookkeeping", TOWN, "standard", "test")
        conn.commit()
    user = add_user(demo_db, "analyst", TOWN)
    start = _generation(demo_db)
    with connect(demo_db) as conn:
        accounts.touch_wall(conn, wall_id, "10.0.0.1")
        (row,) = [r for r in accounts.list_users(conn, WHOLE) if r["username"] == user]
        accounts.record_login(conn, row["id"], row["created_at"])
        conn.commit()
    assert _generation(demo_db) == start
    with connect(demo_db) as conn:
        accounts.update_user(conn, row["id"], display_name="改名")
        conn.commit()
    assert _generation(demo_db) == start  # a display name narrows nothing
    with connect(demo_db) as conn:
        accounts.update_user(conn, row["id"], jurisdiction=TOWN + "001")
        conn.rollback()
    assert _generation(demo_db) == start  # rolled back: nothing to see
    with connect(demo_db) as conn:
        accounts.update_user(conn, row["id"], jurisdiction=TOWN + "001")
        conn.commit()
    assert _generation(demo_db) == start + 1
    with connect(demo_db) as conn:
        assert accounts.revoke_wall(conn, wall_id, WHOLE)
        conn.commit()
    assert _generation(demo_db) == start + 2


def test_reuse_needs_a_known_generation_and_a_recent_verification(monkeypatch):
    from domain.access import Role
    from queries.scope import Scope
    from queries.viewer import Viewer

    seen = principals.VerifiedSessions()
    principal = principals.SessionPrincipal("w:1", Viewer("wall", 1, "w", Role.WALL, Scope(TOWN)))
    seen.remember(principal, 7)
    assert seen.reusable("w:1", 7) is principal
    assert seen.reusable("w:1", 8) is None  # the generation moved
    assert seen.reusable("w:1", None) is None  # the generation could not be read
    seen.remember(principal, None)  # verified by a page: no generation known
    assert seen.reusable("w:1", None) is None and seen.reusable("w:1", 7) is None
    seen.remember(principal, 7)
    clock = time.monotonic() + principals.REUSE_S + 1
    monkeypatch.setattr(principals.time, "monotonic", lambda: clock)
    assert seen.reusable("w:1", 7) is None  # verified too long ago
