"""/screen refresh server time: warm cache against the uncached path, measured in one run.

    python -m bench screen [--database gridscope] [--repeat 200]

Runs against a database that holds a demo (default: the `gridscope` database that `make demo`
loads with the city). "warm" is the counters refresh as the server runs it (version read +
Redis GET + building every output of the callback); "uncached" is the same refresh computing the
payload from PostgreSQL (what happens on the first request after a write).
"""

from __future__ import annotations

import argparse
import json

from bench.common import (
    bench_services,
    bench_settings,
    database_exists,
    median_ms,
    p95_ms,
    timed,
)
from dashboard.screen.callbacks import render_counters
from queries.cache import encode
from queries.screen import build_screen, floor_time, screen_payload


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench screen")
    ap.add_argument("--database", default="gridscope")
    ap.add_argument("--repeat", type=int, default=200)
    ap.add_argument("--uncached-repeat", type=int, default=15)
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(f"no database {args.database!r}: run `make demo` (or gridscope demo load)")
    settings = bench_settings(args.database)
    svc = bench_services(settings, ttl_s=600)
    pool = svc.pool
    with pool.connection() as conn:
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
    now = svc.clock.now()  # a live system: the real clock
    interval_ms = settings.refresh_counters_s * 1000

    def warm() -> None:
        render_counters(json.loads(screen_payload(svc, now)), 1.0, interval_ms, now)

    def uncached() -> None:
        bucket = floor_time(now, settings.refresh_counters_s)
        with pool.connection() as conn:
            payload = encode(build_screen(conn, svc.scope, bucket, settings.tz))
        render_counters(json.loads(payload), 1.0, interval_ms, now)

    warm()  # fills the cache for this bucket
    warm_s = timed(warm, args.repeat)
    cold_s = timed(uncached, args.uncached_repeat)
    payload_only = timed(lambda: screen_payload(svc, now), args.repeat)
    print(f"screen[{args.database}: {grids:,} grids, {tickets:,} tickets]")
    print(
        f"  warm refresh (cached payload + all callback outputs): median "
        f"{median_ms(warm_s):.2f} ms, p95 {p95_ms(warm_s):.2f} ms over {args.repeat}"
    )
    print(
        f"  warm payload alone (version read + Redis GET): median {median_ms(payload_only):.2f} ms"
    )
    print(
        f"  uncached refresh (computed from PostgreSQL): median {median_ms(cold_s):.1f} ms, "
        f"p95 {p95_ms(cold_s):.1f} ms over {args.uncached_repeat}"
    )
    print(f"  ratio uncached / warm: {median_ms(cold_s) / median_ms(warm_s):.0f}x")
    pool.close()


if __name__ == "__main__":
    main()
