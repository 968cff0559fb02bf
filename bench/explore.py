"""The analyst workbench (/explore) on an already loaded demo (default: the large one, ≥ 5 M
tickets in its year): for a set of filter states over the whole city and one year, the time
from a filter change to count + facets + chart series + the first table page, cold (nothing
cached; the column store loaded) and warm (the summary in Redis), next to the same states
answered by a plain GROUP BY over the ticket table (queries.explore.summary, one GROUPING SETS
statement, and the table page without the store's candidates), in one run. Then a box and a
polygon over a town, and an export of 100,000 filtered tickets to xlsx with its peak memory.

python -m bench explore [--database gs_large] [--repeat 3] [--no-naive] [--no-export]

Targets (issue #11): any filter change p95 ≤ 300 ms cold, ≤ 50 ms warm; box or polygon over a
town ≤ 300 ms; 100,000 tickets to xlsx ≤ 15 s with memory bounded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from bench.common import bench_services, bench_settings, database_exists, p95_ms
from dashboard.explore import data
from dashboard.explore.export import filter_lines, write_file
from domain.access import Role
from domain.explore.filters import Filters, parse
from queries.cache import data_version
from queries.explore import table as table_q
from queries.explore.columns import ColumnStore
from queries.explore.summary import summary
from queries.explore.where import resolve
from queries.scope import Scope
from queries.viewer import Viewer

# Filter changes an analyst makes on a city's year (the URL's query strings).
STATES = (
    "period=365d",
    "period=365d&cat=09",
    "period=365d&cat=09&clock=closed_late",
    "period=365d&clock=overdue,warning",
    "period=365d&state=closed,surveyed&source=hotline",
    "period=365d&flag=reworked&sup=2,3",
    "period=365d&dept=3",
    "period=last_quarter&basis=closed&clock=closed_late&cat=09",
    "period=365d&urgency=urgent&stage=T5",
    "period=365d&sort=-closed_at&cat=0902",
    "period=month",
    "period=year&area={town}",
)
TARGET_COLD_MS = 300.0
TARGET_WARM_MS = 50.0
TARGET_EXPORT_S = 15.0


def services(settings, namespace: str):
    """The app's Services bound to an analyst of the whole territory (a cache namespace of
    its own)."""
    viewer = Viewer("cli", 0, "bench", Role.ANALYST, Scope(""))
    return bench_services(settings, namespace).for_viewer(viewer)


def one_view(svc, query: str, now: datetime):
    f, problems = parse(query)
    with svc.read_pool.connection() as conn:
        view = data.build_view(svc, conn, f, problems)
    return view


def change(svc, query: str, now: datetime) -> tuple[float, int]:
    """One filter change as the page makes it: summary (store or cache) + first table page."""
    t = time.perf_counter()
    view = one_view(svc, query, now)
    s = data.summarize(svc, view)
    data.rows_block(svc, view, 0, 100)
    return time.perf_counter() - t, s.total


def naive(svc, query: str, now: datetime) -> float:
    t = time.perf_counter()
    view = one_view(svc, query, now)
    with svc.read_pool.connection() as conn:
        conn.execute("SET statement_timeout = 0")  # the app's pool stops at its timeout
        summary(conn, view)
        table_q.page(conn, view, 0, 100)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench explore")
    ap.add_argument("--database", default=os.environ.get("GS_BENCH_DB", "gs_large"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-export", action="store_true")
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(
            f"database {args.database} does not exist: load it with\n"
            f"  DATABASE_URL=…/{args.database} gridscope demo load --size large"
        )
    settings = bench_settings(args.database)
    base = services(settings, f"bench-explore-{uuid.uuid4().hex[:8]}")
    with base.pool.connection() as conn:
        town = conn.execute(
            "SELECT code FROM region WHERE level = 'town' AND valid_to IS NULL ORDER BY code"
            " LIMIT 1"
        ).fetchone()[0]
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
        version = data_version(conn)
        ext = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT"
            " ST_Extent(geom)::geometry e FROM region WHERE code = %s) x",
            (town,),
        ).fetchone()
    now = base.clock.now().replace(second=0, microsecond=0)
    states = [q.format(town=town) for q in STATES]
    print(f"database {args.database}: {grids:,} grids, {tickets:,} tickets; town {town}")

    store = ColumnStore(days=settings.explore_columns_days)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    snap = store.current(base.read_pool, now, version)
    load_s = time.perf_counter() - t
    nbytes = sum(a.nbytes for a in snap.cols.values())
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    print(
        f"column store: {snap.rows:,} tickets loaded in {load_s:.1f} s, {nbytes / 2**20:,.0f}"
        f" MB of columns (peak RSS grew {grew:,.0f} MB while loading)"
    )

    cold: dict[str, list[float]] = {q: [] for q in states}
    warm: dict[str, list[float]] = {q: [] for q in states}
    totals: dict[str, int] = {}
    for r in range(args.repeat):
        # A fresh cache namespace per round: every first call is a cache miss (cold).
        svc = services(settings, f"bench-explore-{uuid.uuid4().hex[:8]}-{r}")
        svc = replace(svc, explore_columns=store)
        for q in states:
            secs, total = change(svc, q, now)
            cold[q].append(secs)
            totals[q] = total
            secs, _ = change(svc, q, now)
            warm[q].append(secs)
    naive_s: dict[str, float] = {}
    if not args.no_naive:
        for q in states:
            naive_s[q] = naive(base, q, now)

    print(f"\nfilter change → count, facets, series, first table page ({args.repeat} rounds;")
    print("median per state; 'naive' = one GROUP BY over the ticket table, same state):")
    print(f"{'state':<58} {'tickets':>10} {'cold ms':>8} {'warm ms':>8} {'naive ms':>9} {'×':>6}")
    for q in states:
        c, w = statistics.median(cold[q]) * 1000, statistics.median(warm[q]) * 1000
        n = naive_s.get(q)
        ratio = f"{n * 1000 / c:,.0f}" if n else "—"
        naive_text = f"{n * 1000:,.0f}" if n else "—"
        print(f"{q[:58]:<58} {totals[q]:>10,} {c:>8,.0f} {w:>8,.1f} {naive_text:>9} {ratio:>6}")
    all_cold = [x for v in cold.values() for x in v]
    all_warm = [x for v in warm.values() for x in v]
    print(
        f"p95 over states and rounds: cold {p95_ms(all_cold):,.0f} ms (target ≤"
        f" {TARGET_COLD_MS:.0f}), warm {p95_ms(all_warm):,.1f} ms (target ≤ {TARGET_WARM_MS:.0f})"
    )
    if naive_s:
        print(f"naive p95: {p95_ms(list(naive_s.values())):,.0f} ms")

    w, s, e, n = ext
    mid = ((w + e) / 2, (s + n) / 2)
    shapes = {
        "box over the town": f"period=365d&bbox={w},{s},{e},{n}",
        "polygon over the town": (
            f"period=365d&poly={w},{s},{e},{s},{e},{n},{mid[0]},{mid[1]},{w},{n}"
        ),
    }
    print("\ndrawn area over a town, one year (cold, median of rounds; naive = PostGIS):")
    for name, q in shapes.items():
        times = []
        for r in range(args.repeat):
            svc = services(settings, f"bench-explore-geo-{uuid.uuid4().hex[:8]}-{r}")
            svc = replace(svc, explore_columns=store)
            secs, total = change(svc, q, now)
            times.append(secs)
        nv = naive(base, q, now) if not args.no_naive else None
        print(
            f"  {name:<24} {total:>9,} tickets  {statistics.median(times) * 1000:>6,.0f} ms"
            + (f"   naive {nv * 1000:,.0f} ms" if nv else "")
            + "   (target ≤ 300 ms)"
        )

    if not args.no_export:
        export_bench(base, now)


def export_bench(svc, now: datetime) -> None:
    """100,000 tickets of a filtered view to xlsx through the export's own writer: timed
    without tracing, then traced (tracemalloc slows Python several times) at 20,000 and
    100,000 rows to show the peak does not grow with the rows."""
    with svc.read_pool.connection() as conn:
        f = Filters(period="365d", cat=("09",))
        view = resolve(conn, f, Scope(""), now, svc.settings.tz)
        total = table_q.count(conn, view)
    limit = 100_000
    print(f"\nexport: the first {limit:,} of {total:,} tickets of 'period=365d&cat=09' to xlsx")

    def run(n_rows: int) -> tuple[int, float, int]:
        path = Path(tempfile.mkdtemp()) / "bench.xlsx"
        t = time.perf_counter()
        with svc.read_pool.connection() as conn:
            rows = table_q.stream(conn, view)

            def first(it):
                for i, r in enumerate(it):
                    if i >= n_rows:
                        break
                    yield r

            lines = filter_lines(
                view, "period=365d&cat=09", svc.viewer, now, svc.settings.tz, n_rows
            )
            n = write_file(
                first(rows),
                path,
                "xlsx",
                svc.viewer.masker,
                svc.settings.tz,
                lines,
                lambda _n: None,
            )
            conn.rollback()
        secs = time.perf_counter() - t
        size = path.stat().st_size
        path.unlink()
        return n, secs, size

    n, secs, size = run(limit)
    print(
        f"  {n:,} rows in {secs:.1f} s ({n / secs:,.0f} rows/s), file {size / 2**20:.1f} MB"
        f" (target ≤ {TARGET_EXPORT_S:.0f} s)"
    )
    for n_rows in (20_000, limit):
        tracemalloc.start()
        run(n_rows)
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  peak Python memory while writing {n_rows:,} rows: {peak / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
