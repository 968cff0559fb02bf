"""Leadership analytics (/analytics) on an already loaded demo (default: the large one): every
panel for the whole city and one month, cold (nothing in the Redis cache) and warm (the panel's
payload cached), panel by panel, all panels one after another, and all panels at once as the
page asks for them (one callback per panel, served by concurrent request threads). Next to them,
in the same run, the same numbers computed naively from the ticket table and the event log
(measures of the 14 periods the cards need, the category structure and the hour × weekday
pattern), and the monthly PDF report.

python -m bench analytics [--database gs_large] [--period 2026-10] [--repeat 3] [--no-naive]
    [--no-report]

Targets (issue #12): all panels ≤ 1 s cold and ≤ 100 ms warm; the city's monthly PDF ≤ 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from bench.common import bench_services, bench_settings, database_exists
from dashboard.analytics import data
from domain.access import Role, Tier
from domain.analytics.periods import parse_period
from domain.clock.now import FixedClock
from queries.analytics.collect import PANELS
from queries.cache import data_version
from queries.explore.columns import ColumnStore
from queries.scope import Scope
from queries.viewer import Viewer

TARGET_COLD_MS = 1000.0
TARGET_WARM_MS = 100.0
TARGET_PDF_S = 30.0

# The naive path: every flow of every period straight from the event log and the tickets.
_NAIVE_FLOWS = """
SELECT p.i,
       count(*) FILTER (WHERE e.action = 'create'),
       count(*) FILTER (WHERE e.action = 'self_resolve'),
       count(*) FILTER (WHERE e.action = 'report' OR (e.action = 'create'
                                                      AND e.to_state = 'reported')),
       count(*) FILTER (WHERE e.action = 'dispatch'),
       count(*) FILTER (WHERE e.action = 'return'),
       count(*) FILTER (WHERE e.to_state = 'closed'),
       count(*) FILTER (WHERE e.to_state = 'closed' AND t.closed_on_time),
       count(*) FILTER (WHERE e.action = 'verify_fail'),
       count(*) FILTER (WHERE e.action = 'survey')
  FROM unnest(%(i)s::int[], %(a)s::timestamptz[], %(b)s::timestamptz[]) AS p(i, a, b)
  JOIN ticket_event e ON e.at >= p.a AND e.at < p.b
  JOIN ticket t ON t.id = e.ticket_id AND t.created_at = e.ticket_created_at
 WHERE t.grid_code LIKE '%%'
 GROUP BY p.i
"""
_NAIVE_CATEGORIES = """
SELECT category_code, count(*) FILTER (WHERE created_at >= %(a)s),
       count(*) FILTER (WHERE created_at < %(a)s)
  FROM ticket WHERE created_at >= %(pa)s AND created_at < %(b)s GROUP BY 1
"""
_NAIVE_HOURS = """
SELECT extract(isodow FROM created_at AT TIME ZONE %(tz)s)::int,
       extract(hour FROM created_at AT TIME ZONE %(tz)s)::int, count(*)
  FROM ticket WHERE created_at >= %(a)s AND created_at < %(b)s GROUP BY 1, 2
"""


def _svc(settings, now, store=None):
    """A leader of the whole city with an empty cache namespace of its own; ``store``: the
    process's column store (loaded once, as in a running server)."""
    viewer = Viewer("cli", 0, "bench", Role.LEADER, Scope(""))
    svc = bench_services(settings, f"bench-ana-{uuid.uuid4().hex[:8]}").for_viewer(viewer)
    return replace(svc, clock=FixedClock(now), explore_columns=store)


def _panel_ms(svc, view, name: str) -> float:
    t = time.perf_counter()
    data.panel(svc, name, view)
    return (time.perf_counter() - t) * 1000


def one_round(settings, now, period: str, store) -> dict[str, dict[str, float]]:
    """Cold then warm for each panel, then all panels sequentially and at once (cold)."""
    svc = _svc(settings, now, store)
    view = data.resolve(svc, "", period)
    out: dict[str, dict[str, float]] = {}
    for name in PANELS:
        cold = _panel_ms(svc, view, name)
        warm = _panel_ms(svc, view, name)
        out[name] = {"cold": cold, "warm": warm}
    svc2 = _svc(settings, now, store)
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(PANELS)) as pool:
        list(pool.map(lambda n: data.panel(svc2, n, view), PANELS))
    out["(all at once)"] = {"cold": (time.perf_counter() - t) * 1000}
    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(PANELS)) as pool:
        list(pool.map(lambda n: data.panel(svc2, n, view), PANELS))
    out["(all at once)"]["warm"] = (time.perf_counter() - t) * 1000
    # The grid and worker tabs of a whole city's rankings, ranked when a leader opens them.
    for unit in ("grid", "worker"):
        t = time.perf_counter()
        data.level_panel(svc2, unit, view)
        cold = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        data.level_panel(svc2, unit, view)
        out[f"(tab: {unit}s)"] = {"cold": cold, "warm": (time.perf_counter() - t) * 1000}
    out["(one after another)"] = {
        "cold": sum(out[k]["cold"] for k in PANELS),
        "warm": sum(out[k]["warm"] for k in PANELS),
    }
    return out


# The naive flows' columns in _NAIVE_FLOWS order, as domain.measures.COUNT_KEYS names them.
_NAIVE_KEYS = (
    "created",
    "self_resolved",
    "reported",
    "dispatched",
    "returned",
    "closed",
    "closed_on_time",
    "reworked",
    "surveyed",
)


def naive(settings, now, period: str) -> tuple[dict[str, float], list[dict[str, int]]]:
    """The cards' numbers (flows of 14 periods, the stock at 14 ends), the category structure
    and the hour pattern from the ticket table and event log: milliseconds each; and the
    cards' counts of each of the 14 periods so recounted (for ``agreement``)."""
    from queries.analytics.backlog import _AT_SQL
    from queries.analytics.measures import comparison_periods
    from queries.db import connect

    tz = settings.tz
    p = parse_period(period).cut(now, tz)
    series, prev, yoy = comparison_periods(p)
    periods = [*series, prev, yoy]
    bounds = [x.bounds(tz) for x in periods]
    out = {}
    with connect(settings) as conn:
        conn.execute("SET statement_timeout = 0")
        t = time.perf_counter()
        flows = conn.execute(
            _NAIVE_FLOWS,
            {
                "i": list(range(len(periods))),
                "a": [b[0] for b in bounds],
                "b": [min(b[1], now) for b in bounds],
            },
        ).fetchall()
        counts: list[dict[str, int]] = [dict.fromkeys(_NAIVE_KEYS, 0) for _ in periods]
        for i, *values in flows:
            counts[i] = dict(zip(_NAIVE_KEYS, values, strict=True))
        for i, (_a, b) in enumerate(bounds):
            rows = conn.execute(_AT_SQL, {"at": min(b, now), "like": "%"}).fetchall()
            counts[i]["open_past_due"] = sum(n for _g, n in rows)
        out["measures"] = (time.perf_counter() - t) * 1000
        a, b = p.bounds(tz)
        pa, _ = prev.bounds(tz)
        t = time.perf_counter()
        conn.execute(_NAIVE_CATEGORIES, {"a": a, "b": b, "pa": pa}).fetchall()
        out["categories"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        conn.execute(_NAIVE_HOURS, {"a": a, "b": b, "tz": str(tz)}).fetchall()
        out["rhythm"] = (time.perf_counter() - t) * 1000
    return out, counts


def agreement(settings, now, period: str, recounted: list[dict[str, int]]) -> list[str]:
    """The differences between the rollups' counts of the cards' 14 periods (what the page
    shows) and ``recounted`` from the ticket table and event log: empty when they agree."""
    from queries.analytics.measures import comparison_periods, period_counts
    from queries.analytics.query import Query
    from queries.db import connect

    p = parse_period(period).cut(now, settings.tz)
    series, prev, yoy = comparison_periods(p)
    periods = [*series, prev, yoy]
    with connect(settings) as conn:
        rolled = period_counts(conn, Query(Scope(""), p, now, settings.tz, settings), periods)
    return [
        f"{per.key} {key}: rollups {got[key]:,}, recount {want[key]:,}"
        for per, got, want in zip(periods, rolled, recounted, strict=True)
        for key in want
        if got[key] != want[key]
    ]


def report_seconds(settings, now, period: str) -> float:
    from gridscope.report import write_report
    from queries.analytics.query import Query
    from queries.db import connect

    tz = settings.tz
    p = parse_period(period).cut(now, tz)
    with tempfile.TemporaryDirectory() as tmp, connect(settings) as conn:
        t = time.perf_counter()
        from queries.analytics.collect import collect

        collected = collect(conn, Query(Scope(""), p, now, tz, settings))
        write_report(collected, ("pdf",), Path(tmp), org=settings.title, tier=Tier.L3, tz=tz)
        return time.perf_counter() - t


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench analytics")
    ap.add_argument("--database", default="gs_large")
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(f"database {args.database} does not exist: load a demo first")
    settings = bench_settings(args.database)
    from queries.db import connect

    with connect(settings) as conn:
        row = conn.execute("SELECT value ->> 'loaded_at' FROM gridscope_meta WHERE key = 'demo'")
        loaded = row.fetchone()
    from datetime import datetime

    if not loaded:
        raise SystemExit(f"{args.database} holds no demo load (gridscope_meta 'demo')")
    # The bench's "now": a minute before the demo's year ends, whatever the date it runs.
    now = datetime.fromisoformat(loaded[0]) - timedelta(minutes=1)
    print(f"/analytics on {args.database}, whole city, {args.period}, now {now:%Y-%m-%d %H:%M}")
    # A running server process has its ticket columns loaded (the workbench's store, which the
    # hotspot panel reads): load them once, as the server does on its first page view.
    store = ColumnStore(days=settings.explore_columns_days)
    t = time.perf_counter()
    with connect(settings) as conn:
        version = data_version(conn)
    store.current(_svc(settings, now).read_pool, now, version)
    print(f"column store loaded in {time.perf_counter() - t:.1f} s (once per server process)")
    rounds = [one_round(settings, now, args.period, store) for _ in range(args.repeat)]
    print(f"{'panel':<22}{'cold ms':>10}{'warm ms':>10}   (median of {args.repeat} rounds)")
    for name in rounds[0]:
        cold = statistics.median(r[name]["cold"] for r in rounds)
        warm = statistics.median(r[name]["warm"] for r in rounds)
        print(f"{name:<22}{cold:>10.1f}{warm:>10.1f}")
    worst_cold = max(statistics.median(r[n]["cold"] for r in rounds) for n in PANELS)
    worst_warm = max(statistics.median(r[n]["warm"] for r in rounds) for n in PANELS)
    page_cold = statistics.median(r["(all at once)"]["cold"] for r in rounds)
    page_warm = statistics.median(r["(all at once)"]["warm"] for r in rounds)
    print(
        f"slowest panel cold {worst_cold:.0f} ms, warm {worst_warm:.1f} ms; whole page at once "
        f"cold {page_cold:.0f} ms, warm {page_warm:.1f} ms (targets ≤ {TARGET_COLD_MS:.0f} ms, "
        f"≤ {TARGET_WARM_MS:.0f} ms)"
    )
    if not args.no_naive:
        # One naive run: the measures alone take minutes on the large demo.
        timing, recounted = naive(settings, now, args.period)
        print("naive, from the ticket table and event log (one run, ms) vs the rollups (cold):")
        for name, n in timing.items():
            c = statistics.median(r[name]["cold"] for r in rounds)
            print(f"  {name:<12}{n:>10.0f} ms naive{c:>10.0f} ms rollups   ×{n / c:.0f}")
        # The same numbers, not only the same work: every count of the cards' 14 periods.
        wrong = agreement(settings, now, args.period, recounted)
        total = sum(len(c) for c in recounted)
        if wrong:
            print(f"rollups and recount DISAGREE on {len(wrong)} of {total} counts:")
            for line in wrong:
                print(f"  {line}")
            raise SystemExit(1)
        print(
            f"rollups and recount agree on all {total} counts of the cards' 14 periods"
            f" ({len(_NAIVE_KEYS) + 1} counts each, whole city)"
        )
    if not args.no_report:
        secs = [report_seconds(settings, now, args.period) for _ in range(max(1, args.repeat // 2))]
        print(
            f"monthly PDF report, whole city: {statistics.median(secs):.1f} s "
            f"(target ≤ {TARGET_PDF_S:.0f} s)"
        )
