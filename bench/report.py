"""The monthly situation report for a whole city and one month on an already loaded demo
(default: the large one, ≥ 5 M tickets): the time of each panel's compute() (collect), the
summary and HTML, the PDF (headless Chromium) and the xlsx, and the total, as
``gridscope report`` spends it. Read only: nothing is written to the database (the command's
audit row is left out), the files go to a temporary directory unless --out is given.

python -m bench report [--database gs_large] [--area 3304] [--period 2026-10] [--rounds 1]
                       [--out DIR]

Target (issue #12): a city's monthly PDF report ≤ 30 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import bench_settings, database_exists
from domain.access import Tier
from domain.analytics.periods import parse_period
from domain.clock.now import SystemClock
from gridscope.report.html import render
from gridscope.report.narrative import summary
from gridscope.report.pdf import html_to_pdf
from gridscope.report.tables import masked
from gridscope.report.xlsx import write_xlsx
from queries.analytics.collect import PANELS, meta
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope

TARGET_S = 30.0


def one_round(settings, area: str, period_key: str, out: Path) -> dict[str, float]:
    """One report, timed by phase (seconds); the PDF and xlsx land in ``out``."""
    tz = settings.tz
    now = SystemClock().now()
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    with connect(settings) as conn:
        q = Query(Scope(area), parse_period(period_key).cut(now, tz), now, tz, settings)
        t = time.perf_counter()
        data = {"meta": meta(conn, q)}
        times["collect.meta"] = time.perf_counter() - t
        for name, compute in PANELS.items():
            t = time.perf_counter()
            data[name] = compute(conn, q)
            times[f"collect.{name}"] = time.perf_counter() - t
        conn.rollback()
    times["collect"] = time.perf_counter() - t0
    t = time.perf_counter()
    safe = masked(data, Tier.L3)
    summary(safe)
    html = render(safe, org=settings.title, tz=tz)
    times["html"] = time.perf_counter() - t
    t = time.perf_counter()
    html_to_pdf(html, out / f"report_{area}_{period_key}.pdf")
    times["pdf"] = time.perf_counter() - t
    t = time.perf_counter()
    write_xlsx(safe, out / f"report_{area}_{period_key}.xlsx", org=settings.title, tz=tz)
    times["xlsx"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    times["html_kb"] = len(html.encode()) / 1024
    return times


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench report")
    ap.add_argument("--database", default="gs_large")
    ap.add_argument("--area", default="3304", help="region code (default: the demo's city)")
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = ap.parse_args(argv)
    if not database_exists(args.database):
        raise SystemExit(f"database {args.database!r} does not exist: load the demo first")
    settings = bench_settings(args.database)
    with tempfile.TemporaryDirectory(prefix="gs-bench-report-") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        rounds = [one_round(settings, args.area, args.period, out) for _ in range(args.rounds)]
        pdf = out / f"report_{args.area}_{args.period}.pdf"
        size_kb = pdf.stat().st_size / 1024
    print(
        f"report {args.area} {args.period} on {args.database}: {args.rounds} round(s), "
        f"PDF {size_kb:,.0f} KB, HTML {rounds[-1]['html_kb']:,.0f} KB"
    )
    for key in rounds[0]:
        if key == "html_kb":
            continue
        values = [r[key] for r in rounds]
        print(f"  {key:<24} median {statistics.median(values):7.2f} s   max {max(values):7.2f} s")
    total = statistics.median(r["total"] for r in rounds)
    verdict = "ok" if total <= TARGET_S else "OVER"
    print(f"  target: monthly city PDF ≤ {TARGET_S:.0f} s: {total:.1f} s {verdict}")
    if args.out:
        print(f"  files in {out}")
