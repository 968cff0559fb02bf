"""gridscope serve replaces a gunicorn worker after ``worker_max_requests`` requests, and no
client sees it (the 2-hour soak of issue #10: what fragmentation a worker gathers goes with it).
"""

from __future__ import annotations

import http.client
import time

import pytest

from gridscope.wsgi import gunicorn_options
from tests.conftest import free_port
from tests.serving import children, serve, stop

pytestmark = pytest.mark.db


def test_the_options_carry_the_limit_and_a_tenth_of_jitter():
    options = gunicorn_options("127.0.0.1", 8050, 2, 100_000)
    assert (options["max_requests"], options["max_requests_jitter"]) == (100_000, 10_000)
    assert gunicorn_options("127.0.0.1", 8050, 2)["max_requests"] == 0  # never


def _worker(master: int) -> int | None:
    pids = children(master)
    return pids[0] if len(pids) == 1 else None


def test_a_worker_is_replaced_after_its_requests_and_every_request_is_answered(fresh_db, tmp_path):
    port = free_port()
    server = serve(fresh_db, port, 1, tmp_path, GRIDSCOPE_WORKER_MAX_REQUESTS="25")
    log = tmp_path / f"serve-{port}.log"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        deadline = time.monotonic() + 60
        while True:  # the server is up when the health check answers 200
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    break
            except OSError:
                conn.close()
            if time.monotonic() > deadline:
                pytest.fail(log.read_text())
            time.sleep(0.3)
        workers, statuses = set(), []
        # One kept-alive client, as a wall's browser is: the answer that ends a worker says
        # "Connection: close" and the client opens a new connection to the next one.
        for _ in range(120):
            pid = _worker(server.pid)
            if pid is not None:
                workers.add(pid)
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
        conn.close()
        assert statuses == [200] * 120
        # 25-27 requests each (a tenth of jitter): at least four workers served the 120.
        assert len(workers) >= 4, workers
        assert server.poll() is None  # the master stays
        assert "Autorestarting worker" in log.read_text()
    finally:
        stop(server)
