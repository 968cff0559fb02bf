"""Live map layers at city scale: server time to build each layer's payload.

    python -m bench layerslive [--database gs_layers_large] [--repeat 15] [--workers 2000]

Runs against a database holding the large demo (>= 10k grids, 5M tickets). For the heat and
overdue layers no Redis cache is involved (the layers' fetch functions never read the query
cache; the OS page cache and shared buffers are whatever earlier runs left). Three figures per
case: "new conn", the first call on a brand-new connection after ``DISCARD ALL`` (the backend
also loads its catalogue caches for the partitioned ticket table: the strictest reading of
"cold", and the one flagged against the 200 ms target); "cache-cold", the first call of the
case on a connection that served other layer queries before, which is what a cache miss costs
the app's pooled connections; "warm", the median of ``--repeat`` further calls. Each figure is
the layer's ``fetch`` (SQL + payload) plus ``orjson.dumps`` of the result, i.e. what
``dashboard.map.payload.layer_payload`` does on a cache miss.

For the worker layer, ``--workers`` fixes are first stored through
``queries.positions.record_positions`` (PostgreSQL + the Redis store), then the payload is
built from Redis (roster from PostgreSQL, positions from Redis) and, for comparison, from
PostgreSQL alone (the Redis-down fallback). The seeded fixes are removed afterwards unless
``--keep``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta

import orjson

from bench.common import bench_settings, database_exists, median_ms, timed
from domain.clock.now import SystemClock
from layers import heat as heat_layer
from layers import overdue as overdue_layer
from layers import workers as workers_layer
from queries.db import apply_session_settings, connect, custom_plans
from queries.positions import PositionStore, record_positions
from queries.scope import Scope
from queries.worker_layer import latest_workers, workers_from_postgres

WHOLE = Scope("")

HEAT_CASES = (
    ("1h, city", {"window": "1h"}),
    ("24h, city", {"window": "24h"}),
    ("7d, city", {"window": "7d"}),
    ("30d, city", {"window": "30d"}),
    ("30d, city, 城市管理", {"window": "30d", "category": "09"}),
    ("30d, city, urgent", {"window": "30d", "urgency": "urgent"}),
    ("7d, zoom 14 viewport", {"window": "7d", "zoom": "14", "bbox": "120.70,30.70,120.80,30.80"}),
    ("30d, zoom 15 viewport", {"window": "30d", "zoom": "15", "bbox": "120.74,30.73,120.79,30.77"}),
)
OVERDUE_CASES = (
    ("all steps, city", {}),
    ("red only, city", {"min_step": "red"}),
    ("城市管理, city", {"category": "09"}),
)


def _call(layer, conn, options, now, settings) -> int:
    # What dashboard.map.payload.layer_payload does on a cache miss: fetch under custom plans,
    # then orjson.
    with custom_plans(conn):
        out = layer.fetch(conn, WHOLE, options, now, settings)
    return len(orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS))


def _fresh_connection(settings):
    conn = connect(settings)
    conn.autocommit = True
    conn.execute("DISCARD ALL")
    apply_session_settings(conn, settings)  # what every gridscope connection sets
    conn.autocommit = False
    return conn


def _cold_warm(settings, pooled, layer, options, now, repeat) -> tuple[float, float, float, int]:
    """(new connection ms, cache-cold ms on the pooled connection, warm median ms, bytes)."""
    with _fresh_connection(settings) as conn:
        t = time.perf_counter()
        size = _call(layer, conn, options, now, settings)
        cold_new = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    _call(layer, pooled, options, now, settings)
    cold_pooled = (time.perf_counter() - t) * 1000
    warm = median_ms(timed(lambda: _call(layer, pooled, options, now, settings), repeat))
    return cold_new, cold_pooled, warm, size


def _seed_workers(settings, n: int, now: datetime) -> tuple[list[int], bool]:
    """Fixes for n field workers near their grid, through the ingest path; (ids, fresh) where
    fresh says no worker had a latest position before (so cleanup may remove them all)."""
    store = PositionStore.from_url(settings.redis_url, settings.database_url)
    with connect(settings) as conn:
        had = conn.execute("SELECT count(*) FROM worker_last_position").fetchone()[0]
        rows = conn.execute(
            "SELECT DISTINCT ON (s.id) s.id, ST_X(ST_PointOnSurface(g.geom)),"
            "  ST_Y(ST_PointOnSurface(g.geom))"
            " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
            " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
            " WHERE s.active AND s.role IN ('fulltime_worker', 'parttime_worker')"
            " ORDER BY s.id, a.grid_code LIMIT %s",
            (n,),
        ).fetchall()
        fixes = [
            (sid, now - timedelta(seconds=(i * 7) % 900), lon + 0.0003 * (i % 5), lat)
            for i, (sid, lon, lat) in enumerate(rows)
        ]
        t = time.perf_counter()
        for i in range(0, len(fixes), 500):
            record_positions(conn, fixes[i : i + 500], store=store)
        print(
            f"seeded {len(fixes):,} worker fixes through record_positions in "
            f"{time.perf_counter() - t:.2f} s (4 batches of 500, PostgreSQL + Redis)"
        )
        store.resync(conn)  # primed, as after the first reader
    store.client.close()
    return [r[0] for r in rows], had == 0


def _cleanup(settings, ids: list[int], since: datetime) -> None:
    store = PositionStore.from_url(settings.redis_url, settings.database_url)
    with connect(settings) as conn:
        conn.execute(
            "DELETE FROM worker_position WHERE staff_id = ANY(%s) AND at >= %s", (ids, since)
        )
        conn.execute("DELETE FROM worker_last_position WHERE staff_id = ANY(%s)", (ids,))
        conn.commit()
    store.clear()
    store.client.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench layerslive")
    ap.add_argument("--database", default="gs_layers_large")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep the seeded worker fixes")
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(f"no database {args.database!r}: gridscope demo load --size large")
    settings = bench_settings(args.database)
    with connect(settings) as conn:
        grids, tickets = conn.execute(
            "SELECT (SELECT count(*) FROM grid WHERE valid_to IS NULL),"
            " (SELECT count(*) FROM ticket)"
        ).fetchone()
    print(f"database {args.database}: {grids:,} grids, {tickets:,} tickets; target 200 ms cold")
    now = SystemClock().now()  # a live system: the real clock

    # The app's pooled connections have served other queries before a cache miss: this one
    # first draws the grid layer's counts once (catalogue and plan caches of the ticket tables).
    pooled = _fresh_connection(settings)
    heat_layer.LAYER.fetch(pooled, WHOLE, {"window": "1h"}, now, settings)
    pooled.commit()
    for title, layer, cases in (
        ("heat", heat_layer.LAYER, HEAT_CASES),
        ("overdue", overdue_layer.LAYER, OVERDUE_CASES),
    ):
        for name, options in cases:
            cold, cache_cold, warm, size = _cold_warm(
                settings, pooled, layer, options, now, args.repeat
            )
            with custom_plans(pooled):
                fc = layer.fetch(pooled, WHOLE, options, now, settings)["data"]
            total = fc["meta"]["total"]
            flag = "ok" if cold <= 200 else "OVER"
            print(
                f"{title:8s} {name:24s} new conn {cold:6.1f} ms  cache-cold {cache_cold:6.1f} ms"
                f"  warm {warm:6.1f} ms  {len(fc['features']):6,} features, total {total:,},"
                f" {size / 1024:,.0f} KiB  [{flag}]"
            )
    pooled.close()

    ids, fresh = _seed_workers(settings, args.workers, now)
    try:
        store = PositionStore.from_url(settings.redis_url, settings.database_url)
        with connect(settings) as conn:

            def from_redis() -> int:
                with custom_plans(conn):
                    workers, hidden, source = latest_workers(conn, store, WHOLE, now)
                assert source == "redis"
                fc = workers_layer.workers_geojson(workers, now, hidden_old=hidden)
                return len(orjson.dumps(fc))

            def via_layer() -> int:
                return _call(workers_layer.LAYER, conn, {}, now, settings)

            def from_postgres() -> int:
                with custom_plans(conn):
                    workers, hidden = workers_from_postgres(conn, WHOLE, now)
                fc = workers_layer.workers_geojson(workers, now, hidden_old=hidden)
                return len(orjson.dumps(fc))

            n = len(latest_workers(conn, store, WHOLE, now)[0])
            r = timed(from_redis, args.repeat)
            v = timed(via_layer, args.repeat)
            p = timed(from_postgres, max(3, args.repeat // 3))
        store.client.close()
        print(
            f"workers  {n:,} workers from Redis: median {median_ms(r):.1f} ms, "
            f"max {max(r) * 1000:.1f} ms (target 50 ms); layer fetch incl. a new Redis "
            f"client per call {median_ms(v):.1f} ms; PostgreSQL fallback "
            f"{statistics.median(p) * 1000:.1f} ms"
        )
    finally:
        if not args.keep and fresh:
            _cleanup(settings, ids, now - timedelta(hours=1))


if __name__ == "__main__":
    main()
