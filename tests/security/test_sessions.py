"""Sign-in, sessions and the access gate against the real database and Redis."""

from __future__ import annotations

import pytest

from app import create_app
from tests.access import PASSWORD, add_user, csrf_token, login, signed_in

pytestmark = pytest.mark.db


@pytest.fixture
def app(demo_db, redis_client):
    return create_app(demo_db)


def test_anonymous_requests_get_the_login_page_or_401(app):
    client = app.server.test_client()
    page = client.get("/screen", headers={"Accept": "text/html"})
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/screen")
    assert client.get("/geo/units/town.pbf").status_code == 401
    assert (
        client.post("/_dash-update-component", json={"output": "gs-kpis.children"}).status_code
        == 401
    )
    assert client.get("/_dash-layout").status_code == 401
    health = client.get("/healthz")
    assert health.status_code == 200 and set(health.get_json()) == {"status", "redis", "database"}


def test_login_opens_pages_of_the_role_only(app, demo_db):
    client = signed_in(app, demo_db, "analyst")
    assert client.get("/map", headers={"Accept": "text/html"}).status_code == 200
    assert client.get("/admin/users", headers={"Accept": "text/html"}).status_code == 403
    wall = signed_in(app, demo_db, "wall")
    assert wall.get("/map", headers={"Accept": "text/html"}).status_code == 403
    assert wall.get("/screen", headers={"Accept": "text/html"}).status_code == 200


def test_wrong_password_then_lockout(app, demo_db, redis_client):
    name = add_user(demo_db, "leader")
    client = app.server.test_client()
    for _ in range(5):
        assert login(client, name, "wrong-password").status_code == 401
    assert login(client, name, PASSWORD).status_code == 429


def test_login_without_csrf_is_refused(app, demo_db):
    name = add_user(demo_db, "leader")
    client = app.server.test_client()
    csrf_token(client)
    resp = client.post("/login", data={"username": name, "password": PASSWORD})
    assert resp.status_code == 400
