"""Ingest API: ticket creations/s and latency through POST /api/v1/tickets with concurrent
clients, against a real `gridscope serve` (gunicorn gthread) on a scratch database holding the
small demo. Clients are separate processes with keep-alive connections on the same machine, so
they compete with the server and PostgreSQL for the CPUs (measured honestly, not excluded).

    python -m bench api [--clients 8] [--requests 250] [--workers N] [--repeat 3]
                        [--mode plain|external_id|idempotency_key]

Prints each run and the medians over runs: creations/s, p50 and p95 latency.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.common import p95_ms, recreate_database

ROOT = Path(__file__).resolve().parent.parent


def _client(
    port: int, token: str, bodies: list[dict], mode: str, start: mp.Event, out: mp.Queue
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    lat, bad = [], 0
    start.wait()
    for body in bodies:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if mode == "idempotency_key":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        data = json.dumps(body).encode()
        t = time.perf_counter()
        conn.request("POST", "/api/v1/tickets", body=data, headers=headers)
        resp = conn.getresponse()
        resp.read()
        lat.append(time.perf_counter() - t)
        if resp.status != 201:
            bad += 1
    conn.close()
    out.put((lat, bad))


def _wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gridscope serve exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gridscope serve did not become healthy")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench api")
    ap.add_argument("--clients", type=int, default=8, help="concurrent client processes")
    ap.add_argument("--requests", type=int, default=250, help="requests per client per run")
    ap.add_argument(
        "--workers",
        type=int,
        default=None,
        help="gunicorn workers, 4 threads each (default: the product's, settings.workers)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--port", type=int, default=18050)
    ap.add_argument(
        "--mode",
        choices=["plain", "external_id", "idempotency_key"],
        default="external_id",
        help="external_id (default): every ticket carries a new external id",
    )
    ap.add_argument(
        "--database", default="gridscope_bench_api", help="scratch database (dropped and recreated)"
    )
    args = ap.parse_args(argv)

    from domain.clock.now import clock_for
    from gridscope.api.tokens import create_token
    from gridscope.demo.load import load_demo
    from queries.db import connect
    from queries.scope import Scope

    settings = recreate_database(args.database)
    if args.workers is None:
        args.workers = settings.workers
    # The demo ends at the clock the server runs on (setting fixed_now, else the system clock).
    now = clock_for(settings.fixed_now).now()
    load_demo(settings, "small", 42, now=now, echo=lambda _m: None, progress=False)
    with connect(settings) as conn:
        _, token = create_token(conn, "bench", Scope(""), True)
        points = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM micro_grid"
            " WHERE valid_to IS NULL ORDER BY code) m"
        ).fetchall()
        categories = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM category WHERE admitted AND length(code) = 4 ORDER BY code"
            )
        ]
        conn.commit()

    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gridscope.cli",
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    rates, p50s, p95s = [], [], []
    try:
        _wait_healthy(args.port, server)
        ctx = mp.get_context("fork")
        for run in range(args.repeat + 1):  # run 0 warms the workers up and is not counted
            n = args.requests if run else 20
            start, out = ctx.Event(), ctx.Queue()
            procs = []
            for c in range(args.clients):
                bodies = []
                for i in range(n):
                    lon, lat = points[(c * 7919 + i) % len(points)]
                    body = {
                        "service_code": categories[i % len(categories)],
                        "lat": lat,
                        "long": lon,
                        "source": "app",
                        "description": "bench",
                    }
                    if args.mode == "external_id":
                        body["external_id"] = f"bench-{uuid.uuid4().hex}"
                    bodies.append(body)
                p = ctx.Process(
                    target=_client, args=(args.port, token, bodies, args.mode, start, out)
                )
                p.start()
                procs.append(p)
            time.sleep(0.5)
            t0 = time.perf_counter()
            start.set()
            results = [out.get() for _ in procs]
            wall = time.perf_counter() - t0
            for p in procs:
                p.join()
            lat = [x for r in results for x in r[0]]
            bad = sum(r[1] for r in results)
            if not run:
                continue
            rate = len(lat) / wall
            rates.append(rate)
            p50s.append(statistics.median(lat) * 1000)
            p95s.append(p95_ms(lat))
            print(
                f"run {run}: {len(lat):,} creations by {args.clients} clients in {wall:.2f} s "
                f"= {rate:,.0f}/s; p50 {p50s[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms"
                + (f"; {bad} not 201" if bad else "")
            )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    load1, load5, _ = os.getloadavg()
    print(f"load average during the runs: {load1:.1f} (1 min), {load5:.1f} (5 min)")
    print(
        f"api[{args.mode}, {args.workers} workers x 4 threads, {args.clients} clients, "
        f"{os.cpu_count()} CPUs] median over {args.repeat} run(s): "
        f"{statistics.median(rates):,.0f} creations/s, p50 {statistics.median(p50s):.1f} ms, "
        f"p95 {statistics.median(p95s):.1f} ms (target >= 500/s, p95 <= 50 ms)"
    )


if __name__ == "__main__":
    main()
