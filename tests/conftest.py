"""Shared fixtures. Every tier runs against the real servers: a missing PostgreSQL/PostGIS,
Redis or Chromium makes the tests fail, never skip."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
import redis
from psycopg import sql

from domain.config import Settings

# The instant every demo-based test runs at: the small demo ends here and apps built for such
# tests run on a FixedClock stopped here, so no result depends on when the suite runs. A
# Wednesday afternoon in Jiaxing (a working day, inside working hours); the pinned-hour tests in
# tests/db/test_demo_invariants.py cover nights, evenings and a public holiday.
DEMO_NOW = datetime(2026, 11, 25, 15, 30, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)

BASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gridscope")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def url_for(dbname: str) -> str:
    parts = urlsplit(BASE_URL)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def admin_conn() -> psycopg.Connection:
    try:
        return psycopg.connect(url_for("postgres"), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:  # a failure, not a skip: the tier must run
        pytest.fail(f"PostgreSQL is required for this test tier and does not answer: {exc}")


def create_database(name: str, template: str | None = None) -> None:
    with admin_conn() as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        conn.execute(query)


def drop_database(name: str) -> None:
    with admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def settings_for(dbname: str, **overrides) -> Settings:
    """Settings for a test database; the clock is pinned at DEMO_NOW unless overridden."""
    overrides.setdefault("fixed_now", DEMO_NOW)
    return Settings(database_url=url_for(dbname), redis_url=REDIS_URL, **overrides)


@pytest.fixture(scope="session")
def redis_client() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required for this test tier and does not answer: {exc}")
    return client


@pytest.fixture(scope="session")
def migrated_template() -> Iterator[str]:
    """An empty database migrated once per session by the real migrations, used as a template."""
    from queries.migrate import upgrade

    name = f"gs_tpl_{uuid.uuid4().hex[:10]}"
    create_database(name)
    try:
        upgrade(settings_for(name))
        yield name
    finally:
        drop_database(name)


@contextmanager
def database_copy(template: str) -> Iterator[Settings]:
    """A private copy of ``template`` (CREATE DATABASE … TEMPLATE), dropped afterwards."""
    name = f"gs_test_{uuid.uuid4().hex[:10]}"
    create_database(name, template=template)
    try:
        yield settings_for(name)
    finally:
        drop_database(name)


@pytest.fixture
def fresh_db(migrated_template: str) -> Iterator[Settings]:
    """A new, migrated, empty database for one test."""
    with database_copy(migrated_template) as settings:
        yield settings


@pytest.fixture(scope="session")
def small_demo_template(migrated_template: str) -> Iterator[str]:
    """A database holding the small demo (seed 7, ending at DEMO_NOW), used as a template."""
    from gridscope.demo.load import load_demo

    name = f"gs_tpl_{uuid.uuid4().hex[:10]}"
    create_database(name, template=migrated_template)
    try:
        settings = settings_for(name)
        load_demo(settings, "small", 7, now=DEMO_NOW, echo=lambda _m: None, progress=False)
        yield name
    finally:
        drop_database(name)


@pytest.fixture
def demo_db(small_demo_template: str) -> Iterator[Settings]:
    """A private copy of the small demo for one test."""
    with database_copy(small_demo_template) as settings:
        yield settings


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_redis():
    """A redis-server of our own on a free port, so a test can stop and restart it.

    Yields (url, procs, start): ``procs[-1]`` is the running server, ``start()`` starts a new
    one on the same port (append it to ``procs`` so it is stopped at the end).
    """
    binary = shutil.which("redis-server")
    assert binary, "redis-server is required for this test tier"
    port = free_port()

    # The server runs on the real clock like the shared PostgreSQL and Redis: a suite run under
    # libfaketime (to show results do not depend on the hour) must not preload it into
    # redis-server, whose jemalloc it crashes at start.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKE")}

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no"]
            + ["--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    procs = [start()]
    yield f"redis://127.0.0.1:{port}/0", procs, start
    for p in procs:
        p.terminate()
        p.wait(5)
