"""The worker layer as the wall feed's compact delta (issue #10 item 2) against the full GeoJSON
payload it replaces, in one run.

    python -m bench.workers_delta [--workers 5000] [--rounds 40] [--ping-share 0.85]
                                  [--source gs_city | --database NAME] [--keep]

By default the run takes a scratch copy of the ``--source`` demo (``CREATE DATABASE ... TEMPLATE``,
dropped afterwards unless ``--keep``) so that nothing it writes reaches a shared database;
``--database`` runs in an existing one instead (e.g. gs_large) and removes the fixes it seeded
if that database held none before. ``--workers`` field workers get a first fix through the
ingest path (``record_positions``, PostgreSQL + Redis), with ages spread over 15 minutes so
that some turn stale during the run. Then every round is 15 s of simulated time (the wall's
``refresh_workers_s``): ``--ping-share`` of the workers send a new fix (a walk of ~20 m, as
``gridscope demo live`` does; fix times spread over the 15 s), then each screen asks for what
changed since its cursor.

Figures, for the two shapes a role gets (points: read_tracks, e.g. admin/dispatcher; per grid:
wall, leader, analyst):

- server time of a delta refresh (``layers.workers.delta_payload``: bring the Redis view up to
  date, read what changed, build the columns) — median and p95 over the rounds, target 5 ms.
  It is computed once per jurisdiction and cursor by the feed and shared by every screen on
  it. The rounds where the view reads the roster again (every 5 min: every worker evaluated
  afresh, clients sent the difference) are reported apart;
- bytes, raw and gzipped (level 6, as the feed sends), of the full answer (``since=0``) and of
  the median delta, target 30 KB gzipped for 5,000 workers;
- the old path in the same run: the layer's full GeoJSON payload (``layers.workers.fetch``, what
  the wall's Dash callback built and sent every 15 s before the feeds), its time and bytes.

Timings are wall-clock on a shared machine: read medians, and compare within one run.
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import time
from datetime import datetime, timedelta

import orjson
import psycopg
import redis
from psycopg import sql

from bench.common import BASE_URL, bench_settings, database_exists
from domain.clock.now import SystemClock
from domain.config import Settings
from layers import workers as workers_layer
from layers.base import Access
from queries.cache import namespace_for
from queries.db import connect
from queries.positions import PositionStore, record_positions
from queries.scope import Scope
from queries.worker_layer import FIELD_ROLES
from queries.worker_view import WorkerView

WHOLE = Scope("")
SHAPES = (("points", "admin"), ("per grid", "wall"))
SCRATCH = "gs_bench_workers_delta"
STEP = timedelta(seconds=15)


def _admin_conn() -> psycopg.Connection:
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(BASE_URL)._replace(path="/postgres"))
    return psycopg.connect(url, autocommit=True)


def _scratch(source: str) -> Settings:
    with _admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(SCRATCH))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(SCRATCH), sql.Identifier(source)
            )
        )
    return bench_settings(SCRATCH)


def _drop_scratch() -> None:
    with _admin_conn() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(SCRATCH))
        )


def _roster(conn: psycopg.Connection, n: int) -> list[tuple[int, float, float]]:
    """n field workers spread over the city (a fixed pseudo-random pick), each with a point
    inside one of its grids (the walk's home)."""
    return conn.execute(
        "SELECT id, lon, lat FROM ("
        " SELECT DISTINCT ON (s.id) s.id, ST_X(ST_PointOnSurface(g.geom)) AS lon,"
        "  ST_Y(ST_PointOnSurface(g.geom)) AS lat"
        " FROM staff s JOIN staff_assignment a ON a.staff_id = s.id AND a.valid_to IS NULL"
        " JOIN grid g ON g.code = a.grid_code AND g.valid_to IS NULL"
        " WHERE s.active AND s.role = ANY(%s) ORDER BY s.id, a.grid_code) w"
        " ORDER BY md5(id::text) LIMIT %s",
        (list(FIELD_ROLES), n),
    ).fetchall()


def _record(conn, store, fixes) -> None:
    for i in range(0, len(fixes), 500):
        record_positions(conn, fixes[i : i + 500], store=store)


def _size(data: object) -> tuple[int, int]:
    raw = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return len(raw), len(gzip.compress(raw, 6, mtime=0))


def _ms(seconds: list[float], q: float) -> float:
    xs = sorted(seconds)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000


def run(settings: Settings, n: int, rounds: int, share: float, start: datetime) -> None:
    rng = random.Random(7)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
    ns = namespace_for(settings.database_url)
    store = PositionStore(client, ns)
    store.clear()
    try:
        with connect(settings) as conn:
            home = _roster(conn, n)
            pos = {sid: [lon, lat, lon, lat] for sid, lon, lat in home}
            first = [
                (sid, start - timedelta(seconds=rng.uniform(0, 900)), p[0], p[1])
                for sid, p in pos.items()
            ]
            t = time.perf_counter()
            _record(conn, store, first)
            print(
                f"{len(first):,} workers seeded through record_positions in"
                f" {time.perf_counter() - t:.1f} s; {rounds} rounds of 15 s, {share:.0%} of"
                " the workers send a fix each round"
            )
            access = {shape: Access.of_role(role) for shape, role in SHAPES}
            old: dict[str, tuple[list[float], tuple[int, int]]] = {}
            for shape, _ in SHAPES:
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    payload = workers_layer.fetch(conn, WHOLE, {}, start, settings, access[shape])
                    times.append(time.perf_counter() - t)
                    conn.commit()
                old[shape] = (times, _size(payload))

            views = {
                shape: WorkerView(
                    store, WHOLE, FIELD_ROLES, shape == "per grid", settings.basemap_crs
                )
                for shape, _ in SHAPES
            }

            def delta(shape: str, since: int, at: datetime) -> tuple[dict, float, bool]:
                """(data, seconds, whether the view read the roster again)."""
                built = client.hget(views[shape].k_meta, "built")
                t = time.perf_counter()
                data = workers_layer.delta_payload(
                    conn, WHOLE, {}, at, settings, access[shape], client, ns, since
                )
                conn.commit()
                secs = time.perf_counter() - t
                return data, secs, client.hget(views[shape].k_meta, "built") != built

            cursor, full = {}, {}
            for shape, _ in SHAPES:
                data, secs, _ = delta(shape, 0, start)
                cursor[shape], full[shape] = data["seq"], (secs, _size(data), len(data["ids"]))
            times: dict[str, list[float]] = {s: [] for s, _ in SHAPES}
            sizes: dict[str, list[tuple[int, int, int]]] = {s: [] for s, _ in SHAPES}
            rebuilds: dict[str, list[tuple[float, int, bool]]] = {s: [] for s, _ in SHAPES}
            ingest = []
            for r in range(1, rounds + 1):
                at = start + r * STEP
                fixes = []
                for sid, p in pos.items():
                    if rng.random() >= share:
                        continue
                    p[0] += rng.gauss(0, 0.0002) + 0.05 * (p[2] - p[0])
                    p[1] += rng.gauss(0, 0.0002) + 0.05 * (p[3] - p[1])
                    fixes.append((sid, at - timedelta(seconds=rng.uniform(0, 14)), p[0], p[1]))
                t = time.perf_counter()
                _record(conn, store, fixes)
                ingest.append((time.perf_counter() - t, len(fixes)))
                for shape, _ in SHAPES:
                    data, secs, reread = delta(shape, cursor[shape], at)
                    cursor[shape] = data["seq"]
                    if reread:  # the roster read again (REFRESH_AFTER): reported apart
                        rebuilds[shape].append((secs, _size(data)[1], data["full"]))
                        continue
                    times[shape].append(secs)
                    sizes[shape].append((*_size(data), len(data["ids"]) + len(data["removed"])))
            secs = sum(s for s, _ in ingest)
            print(
                f"ingest: {sum(k for _, k in ingest) / secs:,.0f} fixes/s through record_positions"
                " (PostgreSQL + Redis, batches of 500)"
            )
        for shape, role in SHAPES:
            o_times, (o_raw, o_gz) = old[shape]
            f_secs, (f_raw, f_gz), f_n = full[shape]
            d = sorted(sizes[shape], key=lambda x: x[1])[len(sizes[shape]) // 2]
            med = statistics.median(times[shape]) * 1000
            p95 = _ms(times[shape], 0.95)
            print(
                f"{shape:8s} ({role}): delta refresh median {med:.1f} ms, p95 {p95:.1f} ms"
                f" [{'ok' if med <= 5 else 'OVER'} 5 ms]; typical delta {d[2]:,} points"
                f" {d[0] / 1024:.1f} KiB raw, {d[1] / 1024:.1f} KiB gz"
                f" [{'ok' if d[1] <= 30 * 1024 else 'OVER'} 30 KB]"
            )
            again = ", ".join(
                f"{secs * 1000:.0f} ms {gz / 1024:.1f} KiB gz{' (full)' if whole else ''}"
                for secs, gz, whole in rebuilds[shape]
            )
            print(f"{'':8s}   rounds that re-read the roster (every 5 min): {again or 'none'}")
            print(
                f"{'':8s}   full answer (since=0) {f_n:,} points {f_raw / 1024:.1f} KiB raw,"
                f" {f_gz / 1024:.1f} KiB gz, {f_secs * 1000:.0f} ms (builds the view);"
                f" old full GeoJSON {o_raw / 1024:.1f} KiB raw, {o_gz / 1024:.1f} KiB gz,"
                f" median {statistics.median(o_times) * 1000:.1f} ms every refresh"
            )
    finally:
        store.clear()
        client.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.workers_delta")
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--ping-share", type=float, default=0.85)
    ap.add_argument("--source", default="gs_city", help="demo copied into a scratch database")
    ap.add_argument("--database", help="run in this database instead of a scratch copy")
    ap.add_argument("--keep", action="store_true", help="keep the scratch database / fixes")
    args = ap.parse_args(argv)
    start = SystemClock().now().replace(microsecond=0)
    if args.database:
        if not database_exists(args.database):
            raise SystemExit(f"no database {args.database!r}")
        settings = bench_settings(args.database)
        with connect(settings) as conn:
            had, newest = conn.execute(
                "SELECT count(*), max(at) FROM worker_last_position"
            ).fetchone()
        if newest is not None and newest >= start:  # our fixes must be the newest
            start = (newest + timedelta(minutes=1)).replace(microsecond=0)
        print(f"database {args.database} (in place; {had:,} latest positions before)")
        try:
            run(settings, args.workers, args.rounds, args.ping_share, start)
        finally:
            if not args.keep and had == 0:
                with connect(settings) as conn:
                    conn.execute(
                        "DELETE FROM worker_position WHERE at >= %s", (start - timedelta(hours=1),)
                    )
                    conn.execute("DELETE FROM worker_last_position")
                    conn.commit()
        return
    if not database_exists(args.source):
        raise SystemExit(f"no database {args.source!r}: gridscope demo load --size city")
    print(f"database {SCRATCH}: a scratch copy of {args.source}")
    settings = _scratch(args.source)
    with connect(settings) as conn:  # a scratch copy: start without positions
        conn.execute("TRUNCATE worker_position, worker_last_position")
        conn.commit()
    try:
        run(settings, args.workers, args.rounds, args.ping_share, start)
    finally:
        if not args.keep:
            _drop_scratch()


if __name__ == "__main__":
    main()
