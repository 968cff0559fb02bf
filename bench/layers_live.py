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

Every fetch gets an explicit ``layers.base.Access`` (what a role may see, issue #9), so the
figures are those of a named path: ``Access.of_role("admin")`` for the point paths (overdue
tickets as points with sensitive categories counted per grid, workers as points) and
``Access.of_role("analyst")`` for the per-grid paths (every overdue ticket counted per grid,
workers counted per grid at the grids' anchors). The heat is the same for every role (cells of
at least ``heat_min_k`` tickets), so it is measured once, as admin.

For the worker layer, ``--workers`` fixes are first stored through
``queries.positions.record_positions`` (PostgreSQL + the Redis store), then the payload is
built from Redis (roster from PostgreSQL, positions from Redis) and, for comparison, from
PostgreSQL alone (the Redis-down fallback), as points and per grid. The seeded fixes are
removed afterwards unless ``--keep``.
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
from layers.base import Access
from queries.db import apply_session_settings, connect, custom_plans
from queries.positions import PositionStore, record_positions
from queries.scope import Scope
from queries.worker_layer import grid_anchors, latest_workers, workers_from_postgres

WHOLE = Scope("")
# The point paths (exact points, worker positions) and the per-grid paths.
POINTS = ("admin", Access.of_role("admin"))
PER_GRID = ("analyst", Access.of_role("analyst"))

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


def _call(layer, conn, options, now, settings, access: Access) -> int:
    # What dashboard.map.payload.layer_payload does on a cache miss: fetch under custom plans,
    # with the caller's access, then orjson.
    with custom_plans(conn):
        out = layer.fetch(conn, WHOLE, options, now, settings, access)
    return len(orjson.dumps(out, option=orjson.OPT_NON_STR_KEYS))


def _fresh_connection(settings):
    conn = connect(settings)
    conn.autocommit = True
    conn.execute("DISCARD ALL")
    apply_session_settings(conn, settings)  # what every gridscope connection sets
    conn.autocommit = False
    return conn


def _cold_warm(
    settings, pooled, layer, options, now, repeat, access: Access
) -> tuple[float, float, float, int]:
    """(new connection ms, cache-cold ms on the pooled connection, warm median ms, bytes)."""
    with _fresh_connection(settings) as conn:
        t = time.perf_counter()
        size = _call(layer, conn, options, now, settings, access)
        cold_new = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    _call(layer, pooled, options, now, settings, access)
    cold_pooled = (time.perf_counter() - t) * 1000
    warm = median_ms(timed(lambda: _call(layer, pooled, options, now, settings, access), repeat))
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
            f"{time.perf_counter() - t:.2f} s (batches of up to 500: {-(-len(fixes) // 500)};"
            " PostgreSQL + Redis)"
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
    heat_layer.LAYER.fetch(pooled, WHOLE, {"window": "1h"}, now, settings, POINTS[1])
    pooled.commit()
    for title, layer, cases, paths in (
        ("heat", heat_layer.LAYER, HEAT_CASES, (POINTS,)),  # the same for every role
        ("overdue", overdue_layer.LAYER, OVERDUE_CASES, (POINTS, PER_GRID)),
    ):
        for role, access in paths:
            for name, options in cases:
                cold, cache_cold, warm, size = _cold_warm(
                    settings, pooled, layer, options, now, args.repeat, access
                )
                with custom_plans(pooled):
                    fc = layer.fetch(pooled, WHOLE, options, now, settings, access)["data"]
                m = fc["meta"]
                extra = (
                    f", {m['suppressed']:,} under k"
                    if "suppressed" in m
                    else f", {m['counted']:,} counted per grid"
                )
                flag = "ok" if cold <= 200 else "OVER"
                print(
                    f"{title:8s} {role:8s} {name:24s} new conn {cold:6.1f} ms  cache-cold"
                    f" {cache_cold:6.1f} ms  warm {warm:6.1f} ms  {len(fc['features']):6,}"
                    f" features, total {m['total']:,}{extra}, {size / 1024:,.0f} KiB  [{flag}]"
                )
    pooled.close()

    ids, fresh = _seed_workers(settings, args.workers, now)
    try:
        store = PositionStore.from_url(settings.redis_url, settings.database_url)
        with connect(settings) as conn:

            def build(workers, hidden, per_grid: bool) -> int:
                # The two shapes of layers.workers.fetch: points (read_tracks) or per grid.
                if not per_grid:
                    fc = workers_layer.workers_geojson(workers, now, hidden_old=hidden)
                else:
                    codes = {g for w in workers for g in w.fix.grids}
                    anchors = grid_anchors(conn, WHOLE, codes)
                    fc = workers_layer.workers_per_grid(
                        workers, now, anchors, WHOLE, hidden_old=hidden
                    )
                return len(orjson.dumps(fc))

            def from_redis(per_grid: bool) -> int:
                with custom_plans(conn):
                    workers, hidden, source = latest_workers(conn, store, WHOLE, now)
                    assert source == "redis"
                    return build(workers, hidden, per_grid)

            def from_postgres(per_grid: bool) -> int:
                with custom_plans(conn):
                    workers, hidden = workers_from_postgres(conn, WHOLE, now)
                    return build(workers, hidden, per_grid)

            n = len(latest_workers(conn, store, WHOLE, now)[0])
            figures = []
            for (role, access), per_grid in ((POINTS, False), (PER_GRID, True)):
                r = timed(lambda g=per_grid: from_redis(g), args.repeat)
                v = timed(
                    lambda a=access: _call(workers_layer.LAYER, conn, {}, now, settings, a),
                    args.repeat,
                )
                p = timed(lambda g=per_grid: from_postgres(g), max(3, args.repeat // 3))
                figures.append((role, "per grid" if per_grid else "points", r, v, p))
        store.client.close()
        for role, shape, r, v, p in figures:
            print(
                f"workers  {role:8s} {n:,} workers as {shape} from Redis: median "
                f"{median_ms(r):.1f} ms, max {max(r) * 1000:.1f} ms (target 50 ms); layer "
                f"fetch incl. a new Redis client per call {median_ms(v):.1f} ms; PostgreSQL "
                f"fallback {statistics.median(p) * 1000:.1f} ms"
            )
    finally:
        if not args.keep and fresh:
            _cleanup(settings, ids, now - timedelta(hours=1))


if __name__ == "__main__":
    main()
