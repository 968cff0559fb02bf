"""Access costs (issue #9 targets): sign-in latency and what the session and permission check
adds to a warm callback.

    python -m bench access [--database gridscope_bench_access] [--reuse] [--logins 50]
                           [--repeat 300]

On a scratch database holding the small demo (dropped, recreated and loaded unless ``--reuse``
finds it), with the app built by ``create_app`` in this process (real PostgreSQL, Redis and
argon2; Flask's test client, so no network or gunicorn in the figures):

- sign-in: ``--logins`` sequential POST /login (CSRF token, lockout check, argon2 verify, the
  login row, the session, the audit row), each from a new client. Each sign-in comes from its
  own client address so that the per-address rate limit (setting ``login_rate``) is checked as
  in production but never reached.
- the gate: the access gate (``gridscope.auth.gate.gate``) run as Flask runs it before each
  request, in a fresh request context carrying a signed-in user's (or a wall's) session
  cookie: Flask-Login's user loader (one indexed read of the account), binding the viewer, the
  callback's page lookup and the permission check. This is the whole cost the access layer
  adds to a callback.
- for scale: the screen's counters callback with a warm cache through the full stack
  (POST /_dash-update-component, gate included) and the same refresh called directly inside
  a request context already bound to the viewer (no Flask dispatch, no Dash, no gate).

The app runs on a clock stopped at the start (``FixedClock``), so the counters stay in one
refresh bucket and every timed callback is warm. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import time

from bench.common import (
    bench_settings,
    database_exists,
    median_ms,
    p95_ms,
    recreate_database,
    timed,
)

FEED = "/feed/counters"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _client(server, i: int):
    """A new test client calling from its own address 10.x.y.z."""
    client = server.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    return client


def _sign_in(server, username: str, password: str, i: int) -> tuple[object, float]:
    """A new client signed in as ``username``; (client, seconds the POST /login took)."""
    client = _client(server, i)
    page = client.get("/login").get_data(as_text=True)
    m = _CSRF.search(page)
    if not m:
        raise SystemExit("the sign-in page carries no CSRF token")
    form = {"username": username, "password": password, "csrf_token": m.group(1)}
    t = time.perf_counter()
    resp = client.post("/login", data=form)
    took = time.perf_counter() - t
    if resp.status_code != 302:
        raise SystemExit(f"sign-in failed: {resp.status_code} {resp.get_data(as_text=True)[:200]}")
    return client, took


def _wall_client(server, settings, i: int):
    from gridscope.auth import walls
    from queries.db import connect

    with connect(settings) as conn:
        town = conn.execute(
            "SELECT code FROM region WHERE level = 'town' AND valid_to IS NULL ORDER BY code"
        ).fetchone()[0]
        _, token = walls.create(conn, "bench wall", town, "standard", "bench")
        conn.commit()
    client = _client(server, i)
    if client.get(f"/wall/{token}").status_code != 302:
        raise SystemExit("the wall link did not open a session")
    return client


def gate_samples(server, cookie: str, repeat: int) -> list[float]:
    """Seconds of the access gate alone, each in a fresh request context (so Flask-Login loads
    the principal again, as on every real request)."""
    from gridscope.auth.gate import gate

    out = []
    for _ in range(repeat):
        with server.test_request_context(
            FEED, method="GET", headers={"Cookie": f"gridscope_session={cookie}"}
        ):
            t = time.perf_counter()
            refused = gate()
            out.append(time.perf_counter() - t)
            if refused is not None:
                raise SystemExit(f"the gate refused the bench session: {refused.status}")
    return out


def _line(label: str, samples: list[float]) -> str:
    return (
        f"  {label}: median {median_ms(samples):.2f} ms, p95 {p95_ms(samples):.2f} ms"
        f" (n={len(samples)})"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench access")
    ap.add_argument("--database", default="gridscope_bench_access")
    ap.add_argument("--reuse", action="store_true", help="keep the database when it exists")
    ap.add_argument("--logins", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=300)
    args = ap.parse_args(argv)

    from app import create_app
    from domain.clock.now import FixedClock, SystemClock
    from gridscope.auth.passwords import hash_password, verify
    from gridscope.demo.load import load_demo
    from queries import accounts
    from queries.db import connect

    start = SystemClock().now()
    if args.reuse and database_exists(args.database):
        settings = bench_settings(args.database)
    else:
        settings = recreate_database(args.database)
        print(f"loading the small demo into {args.database} …")
        load_demo(settings, "small", 42, now=start, echo=lambda _m: None, progress=False)
    username, password = f"bench-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    with connect(settings) as conn:
        accounts.insert_user(conn, username, username, "leader", "", hash_password(password))
        conn.commit()
    app = create_app(settings, clock=FixedClock(start))
    server = app.server

    logins = [_sign_in(server, username, password, i)[1] for i in range(args.logins)]
    stored = hash_password(password)
    argon = timed(lambda: verify(stored, password), args.logins)
    client, _ = _sign_in(server, username, password, args.logins)
    wall = _wall_client(server, settings, args.logins + 1)

    for c in (client, wall):  # warm: the feed entry is computed once and then shared
        resp = c.get(FEED)
        if resp.status_code != 200:
            raise SystemExit(f"counters feed: {resp.status_code}")
    full = timed(lambda: client.get(FEED), args.repeat)
    etag = client.get(FEED).headers.get("ETag", "")
    not_modified = timed(lambda: client.get(FEED, headers={"If-None-Match": etag}), args.repeat)
    user_cookie = client.get_cookie("gridscope_session").value
    wall_cookie = wall.get_cookie("gridscope_session").value
    gate_user = gate_samples(server, user_cookie, args.repeat)
    gate_wall = gate_samples(server, wall_cookie, args.repeat)

    print(f"access[{args.database}, small demo; Flask test client, one process]")
    print(_line(f"sign-in POST /login x{args.logins} (target p95 <= 300 ms)", logins))
    print(_line("  of which argon2 verify alone", argon))
    print(_line("gate alone, user session (target p95 <= 2 ms)", gate_user))
    print(_line("gate alone, wall session", gate_wall))
    print(_line("warm GET /feed/counters, full request with session", full))
    print(_line("warm GET /feed/counters answered 304 (If-None-Match)", not_modified))
    load1, load5, _ = os.getloadavg()
    print(f"  load average: {load1:.1f} (1 min), {load5:.1f} (5 min) on {os.cpu_count()} CPUs")
    app.server.extensions["gridscope"].close()


if __name__ == "__main__":
    main()
