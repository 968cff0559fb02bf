"""Fixtures of the fault tier: a private PostgreSQL 15 cluster holding the small demo with a
streaming replica (``pg_stack``, once per session), a private redis-server per test
(``private_redis`` of tests/conftest.py) and gridscope itself under gunicorn (``serve``), so
that tests may stop, lock and restart every piece without touching the shared servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from domain.config import Settings
from tests.conftest import DEMO_NOW, REDIS_URL, free_port
from tests.faults.cluster import PrivateCluster

TOWN = "330402007"  # the small demo's town
# Short periods, so that "within one period" is measured in seconds (see the tests).
PERIODS = {"counters": 5, "alerts": 3, "workers": 5}
DB_WAIT_S = 1.0
STATEMENT_TIMEOUT_MS = 2000
VERSION_POLL_MS = 500
# The replica lags this much behind the primary (recovery_min_apply_delay): shorter than the
# periods, so a write must still reach the screens within one period.
REPLICA_LAG_S = 2


@dataclass
class Stack:
    primary: PrivateCluster
    replica: PrivateCluster
    settings: Settings  # the primary's database (for direct SQL in the tests)
    wall_path: str  # /wall/gw_... of a wall link for TOWN
    api_token: str  # read-write dispatcher token for TOWN

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with self.primary.connect("gridscope") as conn:
            return conn.execute(query, params).fetchall()


def _cli(settings: Settings, *args: str) -> str:
    from gridscope.cli import main as cli

    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
        "USER": "faults",
    }
    res = CliRunner().invoke(cli, list(args), env=env)
    assert res.exit_code == 0, res.output
    return res.stdout


@pytest.fixture(scope="session")
def pg_stack() -> Iterator[Stack]:
    from gridscope.demo.load import load_demo
    from queries.migrate import upgrade

    primary = PrivateCluster.create()
    try:
        primary.start()
        with primary.connect() as conn:
            conn.execute("CREATE DATABASE gridscope")
        settings = Settings(
            database_url=primary.url("gridscope"), redis_url=REDIS_URL, fixed_now=DEMO_NOW
        )
        upgrade(settings)
        load_demo(settings, "small", 7, now=DEMO_NOW, echo=lambda _m: None, progress=False)
        out = _cli(settings, "wall", "create", "--jurisdiction", TOWN, "--name", "faults")
        wall_path = next(x for x in out.splitlines() if x.startswith("/wall/gw_"))
        token = _cli(settings, "token", "create", "--name", "faults", "--jurisdiction", TOWN)
        replica = primary.replica({"recovery_min_apply_delay": f"'{REPLICA_LAG_S}s'"})
        yield Stack(primary, replica, settings, wall_path, token.strip().splitlines()[-1])
    finally:
        primary.destroy()


@pytest.fixture
def stack(pg_stack: Stack) -> Iterator[Stack]:
    """The session's stack, both servers running again after the test whatever it did."""
    yield pg_stack
    for cluster in (pg_stack.primary, pg_stack.replica):
        if not cluster.running():
            cluster.start()


class Server:
    """``gridscope serve`` (gunicorn, 2 workers) in its own process group."""

    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        gridscope = Path(sys.executable).parent / "gridscope"
        self._out = open(log, "wb")
        self.proc = subprocess.Popen(
            [str(gridscope), "serve", "--port", str(self.port), "--workers", "2"],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited {self.proc.returncode}: {self.tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"server not ready in {timeout} s: {self.tail()}")

    def tail(self, n: int = 40) -> str:
        self._out.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def log_lines(self) -> list[str]:
        self._out.flush()
        return self.log.read_text(errors="replace").splitlines()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._out.close()


@pytest.fixture
def serve(stack: Stack, private_redis, tmp_path: Path):
    """A factory: ``serve(read_url="")`` starts gridscope on the stack and the test's private
    Redis and waits until /healthz answers; every server is stopped after the test."""
    redis_url = private_redis[0]
    servers: list[Server] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSCOPE_")}
    base = {k: v for k, v in base.items() if k != "LD_PRELOAD" and not k.startswith("FAKE")}

    def start(read_url: str = "") -> Server:
        env = {
            **base,
            "DATABASE_URL": stack.settings.database_url,
            "DATABASE_READ_URL": read_url,
            "REDIS_URL": redis_url,
            "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
            "GRIDSCOPE_REFRESH_COUNTERS_S": str(PERIODS["counters"]),
            "GRIDSCOPE_REFRESH_ALERTS_S": str(PERIODS["alerts"]),
            "GRIDSCOPE_REFRESH_WORKERS_S": str(PERIODS["workers"]),
            "GRIDSCOPE_DB_WAIT_S": str(DB_WAIT_S),
            "GRIDSCOPE_STATEMENT_TIMEOUT_MS": str(STATEMENT_TIMEOUT_MS),
            "GRIDSCOPE_VERSION_POLL_MS": str(VERSION_POLL_MS),
            # gunicorn's control socket (and anything else per-user) stays in the test's dir.
            "XDG_RUNTIME_DIR": str(tmp_path),
        }
        server = Server(env, tmp_path / f"server{len(servers)}.log")
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for s in servers:
        s.stop()


def post_ticket(
    base_url: str, token: str, body: dict, key: str | None, timeout: float = 5.0
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(base_url + "/api/v1/tickets", json=body, headers=headers, timeout=timeout)


def ticket_point(stack: Stack) -> tuple[float, float]:
    """(lon, lat) of a point inside a current grid of TOWN."""
    (row,) = stack.sql(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid"
        " WHERE valid_to IS NULL AND code LIKE %s ORDER BY code LIMIT 1) g",
        (TOWN + "%",),
    )
    return float(row[0]), float(row[1])
