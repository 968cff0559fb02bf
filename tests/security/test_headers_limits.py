"""Security headers on every response, the request body cap on callbacks (with and without
Content-Length), probes of Dash's component suites, and geometry drill-downs that cannot grow
Redis: against the real app, database and Redis."""

from __future__ import annotations

import base64
import hashlib
import http.client
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import create_app
from domain.config import Settings
from gridscope.auth.headers import content_security_policy, frame_sources, tile_source
from queries.cache import KEY_PREFIX, namespace_for
from queries.db import connect
from tests.access import signed_in
from tests.conftest import DEMO_NOW, database_copy, free_port

pytestmark = pytest.mark.db

CALLBACK = "/_dash-update-component"
HTML = {"Accept": "text/html"}
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.S)


@pytest.fixture
def app(demo_db, redis_client):
    return create_app(demo_db)


def csp_directives(value: str) -> dict[str, list[str]]:
    out = {}
    for part in value.split(";"):
        name, *sources = part.split()
        out[name] = sources
    return out


def assert_secured(resp, framed: bool = False) -> dict[str, list[str]]:
    headers = resp.headers
    assert headers["X-Content-Type-Options"] == "nosniff", resp.request.path
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer"), resp.request.path
    assert ("X-Frame-Options" in headers) is not framed, resp.request.path
    csp = csp_directives(headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"] and csp["base-uri"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    return csp


def test_headers_on_pages_routes_and_refusals(app, demo_db):
    anonymous = app.server.test_client()
    for resp in (
        anonymous.get("/login"),
        anonymous.get("/healthz"),
        anonymous.get("/screen", headers=HTML),  # redirect to the sign-in page
        anonymous.post(CALLBACK, json={"output": "gs-status.data"}),  # 401
        anonymous.get("/assets/10_gridscope.js"),
        anonymous.get("/_dash-component-suites/nope/x.js"),  # 404
    ):
        csp = assert_secured(resp)
        assert csp["frame-ancestors"] == ["'none'"] and resp.headers["X-Frame-Options"] == "DENY"
    analyst = signed_in(app, demo_db, "analyst")
    for resp in (
        analyst.get("/map", headers=HTML),
        analyst.get("/_dash-layout"),
        analyst.get("/_dash-dependencies"),
        analyst.get("/geo/units/town.pbf"),
        analyst.get("/admin/users", headers=HTML),  # 403
        analyst.post(CALLBACK, json=None),  # 400
    ):
        assert_secured(resp)


def test_csp_allows_exactly_the_inline_scripts_of_the_page(app, demo_db):
    """Every inline script of Dash's index (the renderer start, the router's title function)
    is allowed by its hash, computed here from the page itself."""
    client = signed_in(app, demo_db, "analyst")
    for path in ("/map", "/", "/screen"):
        resp = client.get(path, headers=HTML)
        assert resp.status_code == 200
        allowed = set(assert_secured(resp)["script-src"]) - {"'self'"}
        inline = set()
        page = _COMMENT.sub("", resp.get_data(as_text=True))  # Dash's IE-only alert
        for m in _INLINE_SCRIPT.finditer(page):
            if "src=" in m.group("attrs") or "application/json" in m.group("attrs"):
                continue
            digest = hashlib.sha256(m.group("body").encode()).digest()
            inline.add(f"'sha256-{base64.b64encode(digest).decode()}'")
        assert any("new DashRenderer" in m.group("body") for m in _INLINE_SCRIPT.finditer(page))
        assert inline and inline == allowed, (inline, allowed)


def test_wall_link_keeps_no_referrer(app, demo_db):
    from gridscope.auth.walls import create

    with connect(demo_db) as conn:
        _id, token = create(conn, "测试", "330402007", "standard", "tests")
        conn.commit()
    resp = app.server.test_client().get(f"/wall/{token}")
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert_secured(resp)


def test_frame_ancestors_and_basemap_from_settings(demo_db, redis_client):
    settings = demo_db.model_copy(
        update={
            "frame_ancestors": "https://portal.example.gov.cn 'self' ; script-src *",
            "basemap_url": "https://t{s}.tianditu.gov.cn/img_w/wmts?x={x}&y={y}&z={z}&tk=k",
        }
    )
    client = create_app(settings).server.test_client()
    csp = assert_secured(client.get("/login"), framed=True)
    # the forged "; script-src *" is dropped, never a new directive
    assert csp["frame-ancestors"] == ["https://portal.example.gov.cn", "'self'"]
    assert csp["script-src"][0] == "'self'" and "*" not in csp["script-src"]
    assert "https://*.tianditu.gov.cn" in csp["img-src"]


def test_policy_parts():
    assert tile_source("http://tiles.local:8080/{z}/{x}/{y}.png") == "http://tiles.local:8080"
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://*.tile.openstreetmap.org"
    )
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None  # this server: 'self'
    assert tile_source("https://evil.example;script-src/x") is None
    assert frame_sources("https://a.example, https://*.b.example:8443 javascript:x") == [
        "https://a.example",
        "https://*.b.example:8443",
    ]
    policy = content_security_policy(Settings.model_construct(), ["'sha256-x'"])
    assert "frame-ancestors 'none'" in policy and "script-src 'self' 'sha256-x'" in policy


# --- body size -------------------------------------------------------------------------------


class EndlessBody(io.RawIOBase):
    """A request body of ``size`` bytes produced on demand, counting what the server reads."""

    def __init__(self, size: int):
        self.size, self.read_bytes = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b" " * n
        self.read_bytes += n
        return n


def test_oversized_callback_bodies_get_413(app, demo_db):
    limit = demo_db.max_body_bytes
    client = signed_in(app, demo_db, "analyst")
    padding = " " * (limit + 1)
    resp = client.post(CALLBACK, data='{"output": "x"}' + padding, content_type="application/json")
    assert resp.status_code == 413
    assert_secured(resp)
    # Chunked: no Content-Length. gunicorn terminates the input stream (wsgi.input_terminated),
    # so Werkzeug enforces the cap while reading: 413 after about ``limit`` bytes of 50 MB.
    body = EndlessBody(50 * 1024 * 1024)
    resp = client.post(
        CALLBACK,
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": io.BufferedReader(body), "wsgi.input_terminated": True},
    )
    assert resp.status_code == 413
    assert body.read_bytes <= limit + 64 * 1024, body.read_bytes
    # under the cap a callback still reaches the shape check
    assert client.post(CALLBACK, json={"output": "gs-status.data"}).status_code == 400


@pytest.fixture(scope="module")
def live_server(small_demo_template):
    """``gridscope serve`` (gunicorn, as deployed) on a copy of the small demo, and the path
    of a wall link for the demo town."""
    from gridscope.auth.walls import create

    with database_copy(small_demo_template) as settings:
        with connect(settings) as conn:
            _id, token = create(conn, "测试大屏", "330402007", "standard", "tests")
            conn.commit()
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "REDIS_URL": settings.redis_url,
            "GRIDSCOPE_WORKERS": "1",
            "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
        }
        gs = str(Path(sys.executable).with_name("gridscope"))
        proc = subprocess.Popen(
            [gs, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(port, proc)
            yield port, f"/wall/{token}", settings
        finally:
            proc.terminate()
            proc.wait(10)


def wait_for(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail("gridscope serve exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)  # polling for start-up, not a timed assertion
    pytest.fail("gridscope serve did not answer /healthz")


def test_chunked_callback_body_on_gunicorn_gets_413(live_server):
    """A 50 MB chunked callback body on the real server: 413, and the server stops reading
    long before the end (the client cannot send it all)."""
    port, wall_path, settings = live_server
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", wall_path)
    resp = conn.getresponse()
    resp.read()
    cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
    assert resp.status == 302 and cookie.startswith("gridscope_session=")

    total, chunk = 50 * 1024 * 1024, b"[" + b" " * (64 * 1024 - 1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", CALLBACK)
    conn.putheader("Cookie", cookie)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    sent = 0
    try:
        while sent < total:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed the connection: what we want
    resp = conn.getresponse()
    assert resp.status == 413
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert sent < total, "the server read the whole 50 MB body"
    # and the server is still there
    health = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    health.request("GET", "/healthz")
    assert health.getresponse().status == 200


# --- component suites ------------------------------------------------------------------------

PROBES = (
    "/_dash-component-suites/nope/x.js",
    "/_dash-component-suites/os/path.py",
    "/_dash-component-suites/dash/../../app.py",
    "/_dash-component-suites/dash/%2e%2e/%2e%2e/app.py",
    "/_dash-component-suites/dash/dash-renderer/build/nope.js",
    "/_dash-component-suites/dash/dash-renderer/build/dash_renderer.v9_9_9m1.min.js.map",
    "/_dash-component-suites/dash/__init__.py",
    "/_dash-component-suites/dash",
    "/_dash-component-suites/dash/",
    "/_dash-component-suites/",
    "/_dash-component-suites/dash_leaflet/" + "a/" * 200 + "x.js",
    "/_dash-component-suites/dash/%00.js",
)


def test_component_suite_probes_get_404(app, demo_db):
    anonymous = app.server.test_client()
    for path in PROBES:
        resp = anonymous.get(path)
        assert resp.status_code == 404, (path, resp.status_code)
    # what the index page names is still served
    page = signed_in(app, demo_db, "analyst").get("/map", headers=HTML).get_data(as_text=True)
    suites = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert suites and all(anonymous.get(s).status_code == 200 for s in suites)


# --- geometry drill-downs and Redis ----------------------------------------------------------


def cache_keys(redis_client, settings: Settings) -> set[bytes]:
    pattern = f"{KEY_PREFIX}{namespace_for(settings.database_url)}:*"
    return set(redis_client.scan_iter(match=pattern, count=1000))


def test_unknown_within_adds_no_redis_key(app, demo_db, redis_client):
    with connect(demo_db) as conn:
        community, grid, micro = conn.execute(
            "SELECT g.community_code, g.code, m.code FROM grid g"
            " JOIN micro_grid m ON m.grid_code = g.code ORDER BY m.code LIMIT 1"
        ).fetchone()
        other = conn.execute(
            "SELECT code FROM region WHERE level = 'community' AND code <> %s ORDER BY code"
            " LIMIT 1",
            (community,),
        ).fetchone()[0]
    client = signed_in(app, demo_db, "analyst", community)
    before = cache_keys(redis_client, demo_db)
    refused = {
        f"/geo/units/micro.pbf?within={community}999": 404,  # no such unit
        f"/geo/units/micro.pbf?within={other}": 404,  # another community: same answer
        f"/geo/units/micro.pbf?within={micro}": 404,  # a micro-grid is not a drill-down unit
        "/geo/units/micro.pbf?within=33040200702400199999": 404,
        f"/geo/units/grid.pbf?within={community}": 400,  # within is for the micro level only
        "/geo/units/micro.pbf?within=x%20y": 400,
    }
    for url, status in refused.items():
        assert client.get(url).status_code == status, url
    for n in range(20):  # random codes in scope
        assert client.get(f"/geo/units/micro.pbf?within={community}{n:04d}").status_code == 404
    assert cache_keys(redis_client, demo_db) == before
    # a real drill-down is cached once, under a key built from the validated code
    for _ in range(2):
        assert client.get(f"/geo/units/micro.pbf?within={grid}").status_code == 200
    assert len(cache_keys(redis_client, demo_db) - before) == 1
