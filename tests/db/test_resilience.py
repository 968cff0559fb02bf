"""The server and the live simulator while PostgreSQL is away or busy (issue #10, item 4).

Outage tests stop and start a private PostgreSQL cluster (``tests.faults.cluster``); the lock
and simulator tests lock tables of a private copy on the shared server."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import flask
import psycopg
import pytest

from app import create_app
from domain.clock.now import FixedClock
from domain.config import Settings
from gridscope.api.tokens import create_token
from gridscope.outage import unavailable_response
from queries.db import connect
from queries.migrate import ensure_database, upgrade
from queries.scope import Scope
from tests.access import add_user, login
from tests.conftest import DEMO_NOW, REDIS_URL, free_port
from tests.faults.cluster import PrivateCluster
from tests.serving import children, serve, stop

pytestmark = pytest.mark.db

FAULTS = "gridscope.faults"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    """A private cluster holding a migrated database ``gridscope``, running between tests."""
    c = PrivateCluster.create()
    try:
        c.start()
        upgrade(_settings(c))
        yield c
    finally:
        c.destroy()


def _settings(c: PrivateCluster, **kw) -> Settings:
    settings = Settings(database_url=c.url("gridscope"), redis_url=REDIS_URL, db_wait_s=1.0, **kw)
    if c.running():
        ensure_database(settings)
    return settings


def _timed(fn: Callable, *args, **kw):
    t = time.monotonic()
    out = fn(*args, **kw)
    return out, time.monotonic() - t


def _fault_lines(caplog, name: str, logger: str = FAULTS) -> tuple[list[str], list[str]]:
    """(start lines, end lines) a FaultLog wrote for ``name``."""
    lines = [r.getMessage() for r in caplog.records if r.name == logger]
    starts = [m for m in lines if m.startswith(f"{name} unavailable")]
    ends = [m for m in lines if m.startswith(f"{name} is back")]
    return starts, ends


def _wait_for(check: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def _token(settings: Settings) -> dict[str, str]:
    with connect(settings) as conn:
        token = create_token(conn, "resilience", Scope(""), True)[1]
        conn.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.faults
def test_boots_without_the_database_answers_503_and_recovers(caplog):
    caplog.set_level(logging.WARNING, logger=FAULTS)
    c = PrivateCluster.create()  # initialised, not started: nothing listens on its port
    try:
        settings = _settings(c)
        app, boot_s = _timed(create_app, settings)  # used to raise DatabaseUnavailable
        assert boot_s < 10
        client = app.server.test_client()
        health, took = _timed(client.get, "/healthz")
        assert health.status_code == 503 and took < 1.0
        assert health.get_json()["starting"] is True and health.headers["Retry-After"] == "5"
        page = client.get("/screen", headers={"Accept": "text/html"})
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "数据库暂不可用" in page.get_data(as_text=True)
        api = client.get("/api/v1/tickets", headers={"Authorization": "Bearer gs_x"})
        assert api.status_code == 503 and api.headers["Retry-After"] == "5"
        assert api.get_json()["error"]["status"] == 503
        feed = client.get("/feed/counters")
        assert feed.status_code == 503 and feed.get_json()["ok"] is False
        for path in ("/api/v1/docs", "/api/v1/openapi.json", "/assets/00_screen.css"):
            resp, took = _timed(client.get, path)  # needs no database: at once
            assert resp.status_code == 200 and took < 0.5, path
        assert client.get("/login").status_code == 503  # its session key is in the database
        c.start()
        upgrade(_settings(c))
        assert _wait_for(lambda: client.get("/healthz").status_code == 200, 15)
        assert client.get("/login").status_code == 200  # the session key is loaded
        starts, ends = _fault_lines(caplog, "postgres")
        assert len(starts) == 1 and len(ends) == 1, (starts, ends)
        assert not [r for r in caplog.records if r.exc_info]
        app.server.extensions["gridscope"].close()
    finally:
        c.destroy()


def test_the_sign_in_page_needs_no_database_when_the_session_key_is_configured():
    settings = Settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/gridscope",
        redis_url=REDIS_URL,
        db_wait_s=1.0,
        secret_key="k" * 48,
    )
    app = create_app(settings)  # nothing listens there
    client = app.server.test_client()
    page, took = _timed(client.get, "/login")
    assert page.status_code == 200 and took < 0.5 and 'name="csrf_token"' in page.get_data(True)
    assert client.post("/login", data={"username": "a"}).status_code == 503
    app.server.extensions["gridscope"].close()


@pytest.mark.faults
def test_an_outage_answers_fast_is_logged_twice_and_open_screens_ride_it_out(cluster, caplog):
    settings = _settings(cluster)
    app = create_app(settings)
    svc = app.server.extensions["gridscope"]
    assert svc.cache.faults is svc.faults  # one FaultLog per app, Redis's outages too
    auth = _token(settings)
    screen = app.server.test_client()
    assert login(screen, add_user(settings, "analyst")).status_code == 302
    assert screen.get("/_dash-layout").status_code == 200  # verified now
    other = app.server.test_client()
    assert login(other, add_user(settings, "analyst")).status_code == 302
    client = app.server.test_client()
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    caplog.set_level(logging.WARNING, logger=FAULTS)
    cluster.stop()
    try:
        for _ in range(3):
            health, took = _timed(client.get, "/healthz")
            assert health.status_code == 503 and took < 1.2, took
        api_times = []
        for _ in range(4):
            api, took = _timed(client.get, "/api/v1/tickets", headers=auth)
            assert api.status_code == 503 and api.headers["Retry-After"] == "5"
            assert api.get_json()["error"]["status"] == 503
            api_times.append(took)
        # At most db_wait_s (1 s) for the first; once the outage is known, a quick wait.
        assert api_times[0] < 1.5 and max(api_times[1:]) < 0.6, api_times
        # A screen already open keeps its plumbing on the principal verified before it.
        layout, took = _timed(screen.get, "/_dash-layout")
        assert layout.status_code == 200 and took < 0.3, took  # no pool wait on its way
        # Opening a page needs the database: the 503 page, fast.
        page, took = _timed(screen.get, "/map", headers={"Accept": "text/html"})
        assert page.status_code == 503 and took < 1.0 and page.headers["Retry-After"] == "5"
        # A session this process has not verified (as in another worker) is not let through.
        app.server.extensions.pop("gridscope_verified_sessions")
        layout, took = _timed(other.get, "/_dash-layout")
        assert layout.status_code == 503 and took < 1.0 and layout.get_json()["ok"] is False
    finally:
        cluster.start()
    assert _wait_for(lambda: client.get("/healthz").status_code == 200, 15)
    assert _wait_for(lambda: client.get("/api/v1/tickets", headers=auth).status_code == 200, 10)
    assert screen.get("/map", headers={"Accept": "text/html"}).status_code == 200
    starts, ends = _fault_lines(caplog, "postgres")
    assert len(starts) == 1 and len(ends) == 1, (starts, ends)
    assert "failures while it was away" in ends[0]
    assert not [r for r in caplog.records if r.exc_info]
    svc.close()


@pytest.mark.faults
def test_healthz_answers_within_a_second_while_postgres_is_frozen(cluster):
    app = create_app(_settings(cluster))
    client = app.server.test_client()
    assert client.get("/healthz").status_code == 200
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    frozen = [postmaster, *children(postmaster)]
    for pid in frozen:  # accepts connections, answers nothing
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(0.6)  # older than the shared result of the last probe
        for _ in range(3):
            health, took = _timed(client.get, "/healthz")
            assert health.status_code == 503 and took < 1.2, took
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert _wait_for(lambda: client.get("/healthz").status_code == 200, 15)
    app.server.extensions["gridscope"].close()


def test_a_lock_or_a_full_pool_gives_api_503_fast_and_docs_stay_fast(fresh_db, caplog):
    settings = fresh_db.model_copy(update={"statement_timeout_ms": 400, "db_wait_s": 0.5})
    app = create_app(settings)
    svc = app.server.extensions["gridscope"]
    auth = _token(settings)
    client = app.server.test_client()
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    caplog.set_level(logging.WARNING)
    with psycopg.connect(settings.database_url) as locker:
        locker.execute("LOCK TABLE ticket IN ACCESS EXCLUSIVE MODE")
        for _ in range(3):
            resp, took = _timed(client.get, "/api/v1/tickets", headers=auth)
            assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
            assert took < 1.5, took
        docs, took = _timed(client.get, "/api/v1/docs")
        assert docs.status_code == 200 and took < 0.5
        locker.rollback()
    busy_starts, _ = _fault_lines(caplog, "postgres-busy")
    assert len(busy_starts) == 1 and "QueryCanceled" in busy_starts[0], busy_starts
    # Every pooled connection taken: the pool wait (db_wait_s) gives up, 503 again.
    held = [svc.pool.getconn() for _ in range(settings.db_pool_max)]
    try:
        resp, took = _timed(client.get, "/api/v1/tickets", headers=auth)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5" and took < 1.5
    finally:
        for conn in held:
            svc.pool.putconn(conn)
    assert client.get("/api/v1/tickets", headers=auth).status_code == 200
    assert not [r for r in caplog.records if r.exc_info]  # no tracebacks for any of it
    svc.close()


def test_a_callback_meeting_an_outage_is_no_update():
    with flask.Flask("probe").test_request_context("/_dash-update-component", method="POST"):
        resp = unavailable_response()
    assert resp.status_code == 204 and resp.headers["Retry-After"] == "5"


def test_the_live_simulator_rides_out_a_statement_timeout_and_a_dropped_connection(demo_db, caplog):
    from gridscope.demo.live import run_live

    # The statement timeout fires before the lock timeout (db_wait_s): QueryCanceled, the
    # error that used to kill `gridscope demo live`.
    settings = demo_db.model_copy(update={"statement_timeout_ms": 300, "db_wait_s": 2.0})
    caplog.set_level(logging.WARNING, logger="gridscope.demo.live")
    failed: list[BaseException] = []

    def run() -> None:
        try:
            run_live(
                settings,
                clock=FixedClock(DEMO_NOW),
                rate_per_min=30,
                # Few enough steps that many ticks write nothing: such a tick must not
                # close the outage while the lock still holds (CI saw one lock logged twice).
                steps_per_min=120,
                tick_s=0.2,
                duration_s=16,
                echo=lambda _m: None,
            )
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            failed.append(exc)

    def version(conn: psycopg.Connection) -> int:
        return conn.execute("SELECT last_value FROM data_version").fetchone()[0]

    sim = threading.Thread(target=run)
    with psycopg.connect(settings.database_url, autocommit=True) as watch:
        sim.start()
        v0 = version(watch)
        assert _wait_for(lambda: version(watch) > v0, 5)  # it writes
        with psycopg.connect(settings.database_url) as locker:
            locker.execute("LOCK TABLE ticket IN ACCESS EXCLUSIVE MODE")
            time.sleep(1.5)
            locker.rollback()
        v1 = version(watch)
        assert _wait_for(lambda: version(watch) > v1, 8)  # goes on after the lock
        killed = watch.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            "   AND backend_type = 'client backend'"
        ).fetchall()
        assert killed
        v2 = version(watch)
        assert _wait_for(lambda: version(watch) > v2, 8)  # reconnects and goes on
    sim.join(30)
    assert not sim.is_alive() and not failed, failed
    starts, ends = _fault_lines(caplog, "postgres-busy", "gridscope.demo.live")
    assert len(starts) == 1 and "QueryCanceled" in starts[0] and len(ends) == 1, (starts, ends)
    starts, ends = _fault_lines(caplog, "postgres", "gridscope.demo.live")
    assert len(starts) == 1 and len(ends) == 1, (starts, ends)


# ---- gunicorn ------------------------------------------------------------------------------


def _status(port: int, path: str = "/healthz") -> int | str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError as exc:
        return type(exc).__name__


def test_control_socket_paths_are_per_bind_address_and_fit_a_socket(tmp_path):
    from gridscope.wsgi import MAX_SOCKET_PATH, control_socket_path, gunicorn_options

    a = control_socket_path("127.0.0.1", 8050, tmp_path)
    assert a == str(tmp_path / "gridscope-127.0.0.1-8050.ctl")
    assert a != control_socket_path("127.0.0.1", 8051, tmp_path)
    assert a != control_socket_path("0.0.0.0", 8050, tmp_path)
    assert "/" not in Path(control_socket_path("[::1]", 8050, tmp_path)).name
    deep = Path("/r") / ("x" * 80)  # the readable name would not fit in sun_path
    long = control_socket_path("127.0.0.1", 8050, deep)
    assert len(long) <= MAX_SOCKET_PATH and long != control_socket_path("127.0.0.1", 8051, deep)
    assert gunicorn_options("127.0.0.1", 8050, 2)["control_socket"].endswith("-8050.ctl")


def _runs_system_malloc(pid: int) -> bool:
    return b"PYTHONMALLOC=malloc" in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


@pytest.mark.faults
def test_gunicorn_survives_a_worker_killed_while_postgres_is_down(cluster, tmp_path):
    port = free_port()
    server = serve(_settings(cluster), port, 2, tmp_path)
    try:
        assert _wait_for(lambda: _status(port) == 200, 60), _status(port)
        # gridscope serve exec'd itself under glibc's allocator (gridscope/memory.py): the
        # master and the workers it forks all run so.
        assert all(_runs_system_malloc(p) for p in [server.pid, *children(server.pid)])
        cluster.stop()
        try:
            assert _wait_for(lambda: _status(port) == 503, 5)
            workers = children(server.pid)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)
            # The replacement boots without the database: the port keeps answering 503.
            time.sleep(3)
            seen = set()
            for _ in range(10):
                status, took = _timed(_status, port)
                seen.add(status)
                assert took < 1.5, took
                time.sleep(0.3)
            assert seen == {503} and server.poll() is None, seen
            assert len(children(server.pid)) == 2
        finally:
            cluster.start()
        assert _wait_for(lambda: all(_status(port) == 200 for _ in range(6)), 20)
    finally:
        stop(server)
    assert server.returncode == 0 or server.returncode == -signal.SIGTERM


@pytest.mark.faults
def test_gunicorn_started_while_postgres_is_down_serves_503_then_recovers(cluster, tmp_path):
    port = free_port()
    cluster.stop()
    server = None
    try:
        server = serve(_settings(cluster), port, 1, tmp_path)
        assert _wait_for(lambda: _status(port) == 503, 60), _status(port)
        assert server.poll() is None
        cluster.start()
        assert _wait_for(lambda: _status(port) == 200, 20)
        log = (tmp_path / f"serve-{port}.log").read_text()
        assert "serving 503 until the database answers" in log
    finally:
        if not cluster.running():
            cluster.start()
        if server is not None:
            stop(server)


@pytest.mark.faults
def test_two_servers_keep_their_own_control_sockets(cluster, tmp_path):
    from gunicorn.ctl.client import ControlClient

    settings = _settings(cluster)
    ports = [free_port(), free_port()]
    servers = [serve(settings, p, 1, tmp_path) for p in ports]
    try:
        for port in ports:
            assert _wait_for(lambda p=port: _status(p) == 200, 60)
        paths = [tmp_path / ".gunicorn" / f"gridscope-127.0.0.1-{p}.ctl" for p in ports]
        assert _wait_for(lambda: all(p.exists() for p in paths), 10), list(tmp_path.rglob("*"))
        assert not (tmp_path / ".gunicorn" / "gunicorn.ctl").exists()
        for path, server in zip(paths, servers, strict=True):
            with ControlClient(str(path), timeout=5) as ctl:
                assert ctl.send_command("show all")["arbiter"]["pid"] == server.pid
        stop(servers[0])
        assert not paths[0].exists()  # the first removed its own socket, and only that
        with ControlClient(str(paths[1]), timeout=5) as ctl:
            assert ctl.send_command("show all")["arbiter"]["pid"] == servers[1].pid
    finally:
        for server in servers:
            stop(server)
