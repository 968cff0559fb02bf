"""Browser tier: the real server (gunicorn) on a copy of the small demo, driven by Debian's
chromium through Playwright. A missing chromium is a failure, never a skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO_NOW, database_copy, free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-features=Translate,OptimizationHints",
]
GS = str(Path(sys.executable).with_name("gridscope"))


DEMO_TOWN = "330402007"  # the small demo's one town


class LiveServer:
    """The running server with one account per role (password tests.access.PASSWORD, all
    bound to the demo town) and a wall link for the town (``wall_path``)."""

    def __init__(self, settings, port: int, proc: subprocess.Popen):
        self.settings, self.port, self.proc = settings, port, proc
        self.url = f"http://127.0.0.1:{port}"
        self.users: dict[str, str] = {}
        self.wall_path = ""


def _accounts(settings) -> tuple[dict[str, str], str]:
    """One account per role and a wall link in the demo town: ({role: username}, wall path)."""
    from domain.access import Role
    from gridscope.auth.walls import create
    from queries.db import connect
    from tests.access import add_user

    users = {r.value: add_user(settings, r.value, DEMO_TOWN, f"b-{r.value}") for r in Role}
    with connect(settings) as conn:
        _id, token = create(conn, "测试大屏", DEMO_TOWN, "standard", "tests")
        conn.commit()
    return users, f"/wall/{token}"


@pytest.fixture(scope="module")
def screen_db(small_demo_template: str) -> Iterator:
    """One copy of the small demo for the server of a test module."""
    with database_copy(small_demo_template) as settings:
        yield settings


@pytest.fixture(scope="module")
def live_server(screen_db) -> Iterator[LiveServer]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": screen_db.database_url,
        "REDIS_URL": screen_db.redis_url,
        "GRIDSCOPE_REFRESH_COUNTERS_S": "5",
        "GRIDSCOPE_REFRESH_ALERTS_S": "5",
        "GRIDSCOPE_WORKERS": "2",
        # The server runs on the pinned clock, at the instant the small demo ends.
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
    }
    proc = subprocess.Popen(
        [GS, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = LiveServer(screen_db, port, proc)
    server.users, server.wall_path = _accounts(screen_db)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            out = proc.stdout.read() if proc.poll() is not None else ""
            proc.kill()
            pytest.fail(f"the server did not start: {out[-2000:]}")
        time.sleep(0.3)
    yield server
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(
            f"Debian chromium is required for the browser tier ({CHROMIUM} not found):"
            " apt-get install chromium chromium-driver"
        )
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class PageWatch:
    """Every request URL and every console error of a page."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def external(self) -> list[str]:
        from urllib.parse import urlsplit

        return [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in ("127.0.0.1", "localhost", "::1")
        ]


def sign_in(page, server: LiveServer, role: str) -> None:
    """Open a session in ``page``'s context: the wall through its link, others by the form."""
    from tests.access import PASSWORD

    if role == "wall":
        page.goto(server.url + server.wall_path, wait_until="domcontentloaded")
        return
    page.goto(server.url + "/login", wait_until="domcontentloaded")
    page.fill("#gs-username", server.users[role])
    page.fill("#gs-password", PASSWORD)
    with page.expect_navigation():
        page.click("#gs-login")


@pytest.fixture
def page_at(browser, live_server):
    """open_page(url, width, height, role=None): a new browser context signed in as ``role``
    (default: the wall for /screen, the administrator elsewhere), then ``url``."""
    contexts = []

    def open_page(url: str, width: int = 1920, height: int = 1080, role: str | None = None):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        watch = PageWatch(page)
        if role is None:
            role = "wall" if url.rstrip("/").endswith("/screen") else "admin"
        sign_in(page, live_server, role)
        page.goto(url, wait_until="networkidle")
        return page, watch

    yield open_page
    for c in contexts:
        c.close()


def session_opener(server: LiveServer, role: str = "wall") -> urllib.request.OpenerDirector:
    """A urllib opener holding a session of ``role`` (cookies kept), for plain HTTP checks."""
    import http.cookiejar
    import re
    from urllib.parse import urlencode

    from tests.access import PASSWORD

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    if role == "wall":
        opener.open(server.url + server.wall_path).read()
        return opener
    page = opener.open(server.url + "/login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": server.users[role], "password": PASSWORD, "csrf_token": token}
    opener.open(server.url + "/login", data=urlencode(form).encode()).read()
    return opener
