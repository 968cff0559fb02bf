"""The hotspot panel of /analytics (issue #12 §1): grids whose ticket count this period rises
significantly above their own baseline, recurring problems (same category, same place, within
``recurring_days``), and what the map draws of both. Rules and caveats:
docs/analytics-hotspots.md; statistics: domain/analytics/hotspots.py; places:
domain/analytics/recurring.py and queries/analytics/recurring.py.

Counts come from ``stat_grid_daily`` (tickets created per grid and local day, kept from
stat_daily by triggers): one index-only scan over the days from the earliest baseline period to
this period's end, one FILTER sum per period. Geometry is WGS84 (EPSG:4326) in the database and
shifted to the display datum (settings.basemap_crs) here, so the panel draws what it gets.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from domain.analytics import hotspots as stats
from domain.analytics.periods import Period
from domain.geo.coverage import TOLERANCE_DEG
from domain.geo.display import geojson_to_display, lonlat_to_display

from . import hotspot_columns, recurring
from .query import Query

# What the panel lists and draws at most (the payload says how many there were in all).
MAX_HOTSPOTS = 100
MAX_RECURRING = 100
# Outlines drawn under the hotspots for orientation: regions one level below the scope.
OUTLINE_TOLERANCE = {"town": TOLERANCE_DEG["town"], "community": TOLERANCE_DEG["community"]}

_GRID_SQL = """
SELECT DISTINCT ON (g.code) g.code, g.name, r.code, r.name,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.geom, %(tol)s), 6)
  FROM grid g
  LEFT JOIN region c ON c.code = g.community_code AND c.valid_to IS NULL
  LEFT JOIN region r ON r.code = c.parent_code AND r.valid_to IS NULL
 WHERE g.code = ANY(%(codes)s)
 ORDER BY g.code, g.valid_to IS NULL DESC, g.valid_from DESC
"""

_LEVELS_SQL = """
SELECT level, count(*)::int FROM region
 WHERE valid_to IS NULL AND level IN ('town', 'community') AND code LIKE %(like)s
 GROUP BY level
"""

_REGION_OUTLINE_SQL = """
SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %(tol)s), 5)
  FROM region WHERE valid_to IS NULL AND level = %(level)s AND code LIKE %(like)s
   AND geom IS NOT NULL
 ORDER BY code
"""

_GRID_OUTLINE_SQL = """
SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %(tol)s), 6)
  FROM grid WHERE valid_to IS NULL AND code LIKE %(like)s ORDER BY code LIMIT 500
"""

_BOUNDS_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
  FROM (SELECT ST_Extent(geom) AS e FROM grid WHERE valid_to IS NULL AND code LIKE %(like)s) x
"""


def baseline_periods(period: Period, n: int) -> list[Period]:
    """The ``n`` periods before ``period``, newest first, each cut like-for-like (环比 chain)."""
    out: list[Period] = []
    p = period
    for _ in range(n):
        p = p.previous()
        out.append(p)
    return out


def _counts_sql(n: int) -> sql.Composed:
    sums = sql.SQL(", ").join(
        sql.SQL("coalesce(sum(created) FILTER (WHERE day BETWEEN {a} AND {b}), 0)::int").format(
            a=sql.Placeholder(f"a{i}"), b=sql.Placeholder(f"b{i}")
        )
        for i in range(n)
    )
    return sql.SQL(
        "SELECT grid_code, {sums} FROM stat_grid_daily"
        " WHERE day BETWEEN %(lo)s AND %(hi)s AND grid_code LIKE %(like)s AND created > 0"
        " GROUP BY grid_code"
    ).format(sums=sums)


def grid_counts(conn: psycopg.Connection, q: Query, periods: list[Period]) -> dict[str, list[int]]:
    """{grid code: [tickets created in each of ``periods``]} for the grids of the scope with
    any ticket in them (local days, stat_grid_daily; or the in-memory columns, when loaded
    and covering the days)."""
    ranges = [p.bounds(q.tz) for p in periods]
    if hotspot_columns.covers(q.columns, min(a for a, _ in ranges)):
        return hotspot_columns.grid_counts(q.columns, q.scope.prefix, ranges)
    params: dict[str, Any] = {"like": q.scope.like}
    for i, p in enumerate(periods):
        params[f"a{i}"], params[f"b{i}"] = p.start, p.end
    params["lo"] = min(p.start for p in periods)
    params["hi"] = max(p.end for p in periods)
    rows = conn.execute(_counts_sql(len(periods)), params).fetchall()
    return {row[0]: [int(v) for v in row[1:]] for row in rows}


def assess_grids(
    counts: dict[str, list[int]], periods: list[Period], alpha: float, grids_in_scope: int
) -> list[tuple[str, stats.Test, float]]:
    """(grid, test, BH q) for every grid in ``counts`` (first count: this period, the rest
    the baseline); q counts the scope's grids without tickets as tests with p = 1."""
    days = [p.days for p in periods]
    codes = sorted(counts)
    table = np.array([counts[g] for g in codes], np.int64).reshape(len(codes), len(periods))
    expected = stats.baseline_rates(table[:, 1:], days[1:], days[0]).tolist() if codes else []
    results = stats.assess_many(table[:, 0].tolist(), expected, alpha)
    tested = list(zip(codes, results, strict=True))
    ps = [t.p for _, t in tested] + [1.0] * max(0, grids_in_scope - len(tested))
    qs = stats.benjamini_hochberg(ps)
    return [(code, t, qs[i]) for i, (code, t) in enumerate(tested)]


def _feature(geojson: str | None, props: dict[str, Any], crs: str) -> dict[str, Any] | None:
    if not geojson:
        return None
    geom = geojson_to_display(json.loads(geojson), crs)
    return {"type": "Feature", "geometry": geom, "properties": props}


def _outlines(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """Regions one level below the scope (towns of a city or county, communities of a town,
    else the grids) as simplified outlines in the display datum."""
    like = q.scope.like
    levels: dict[str, int] = {
        lv: int(n) for lv, n in conn.execute(_LEVELS_SQL, {"like": like}).fetchall()
    }
    crs = q.settings.basemap_crs
    if levels.get("town", 0) >= 2 or levels.get("community", 0) >= 2:
        level = "town" if levels.get("town", 0) >= 2 else "community"
        rows = conn.execute(
            _REGION_OUTLINE_SQL, {"tol": OUTLINE_TOLERANCE[level], "level": level, "like": like}
        ).fetchall()
    else:
        level = "grid"
        rows = conn.execute(
            _GRID_OUTLINE_SQL, {"tol": TOLERANCE_DEG["grid"], "like": like}
        ).fetchall()
    feats = [_feature(g, {"code": c, "name": n}, crs) for c, n, g in rows]
    return {
        "level": level,
        "geojson": {"type": "FeatureCollection", "features": [f for f in feats if f]},
    }


def _bounds(conn: psycopg.Connection, q: Query) -> list[list[float]] | None:
    row = conn.execute(_BOUNDS_SQL, {"like": q.scope.like}).fetchone()
    if not row or row[0] is None:
        return None
    crs = q.settings.basemap_crs
    w, s = lonlat_to_display(row[0], row[1], crs)
    e, n = lonlat_to_display(row[2], row[3], crs)
    return [[s, w], [n, e]]


def _hotspots(
    conn: psycopg.Connection, q: Query, grids_in_scope: int, first_day: date | None
) -> dict[str, Any]:
    st = q.settings
    # A period before the first day of data is "no data", not "no tickets": it would make
    # every grid a hotspot against a baseline of zero (a year view on a one-year history).
    before = baseline_periods(q.period, st.hotspot_baseline_periods)
    before = [p for p in before if first_day is not None and p.start >= first_day]
    periods = [q.period, *before]
    counts = grid_counts(conn, q, periods) if before else {}
    tested = assess_grids(counts, periods, st.hotspot_alpha, grids_in_scope)
    flagged = sorted((x for x in tested if x[1].flagged), key=lambda x: (x[1].p, -x[1].ratio))
    shown = flagged[:MAX_HOTSPOTS]
    info = {
        r[0]: r[1:]
        for r in conn.execute(
            _GRID_SQL, {"codes": [c for c, _, _ in shown], "tol": TOLERANCE_DEG["grid"]}
        ).fetchall()
    }
    items, features = [], []
    for code, t, qv in shown:
        name, town_code, town, geom = info.get(code, (code, None, None, None))
        item = {
            "grid": code,
            "name": name,
            "town_code": town_code,
            "town": town or "",
            "count": t.observed,
            "expected": round(t.expected, 2),
            "ratio": round(t.ratio, 2),
            "p": t.p,
            "q": qv,
            "z": round(t.z, 2),
        }
        items.append(item)
        feat = _feature(geom, item, st.basemap_crs)
        if feat:
            features.append(feat)
    return {
        "baseline": [
            {"key": p.key, "start": p.start.isoformat(), "end": p.end.isoformat(), "days": p.days}
            for p in periods[1:]
        ],
        "tested": len(tested),
        "total": len(flagged),
        "items": items,
        "geojson": {"type": "FeatureCollection", "features": features},
    }


def _recurring_window(q: Query) -> tuple[datetime, datetime]:
    end = q.bounds[1]
    return end - timedelta(days=q.settings.recurring_days), end


def _recurring(
    q: Query, found: recurring.Found | None, details: list[dict[str, Any]]
) -> dict[str, Any]:
    st = q.settings
    start, end = _recurring_window(q)
    tz = q.tz
    window = {
        "start": start.astimezone(tz).date().isoformat(),
        "end": (end - timedelta(microseconds=1)).astimezone(tz).date().isoformat(),
    }
    if found is None:
        return {"window": window, "total": 0, "tickets": 0, "items": []}
    items = []
    for d in details:
        lon, lat = lonlat_to_display(d["lon"], d["lat"], st.basemap_crs)
        anchor = None
        if d["anchor"] is not None:
            anchor = lonlat_to_display(d["anchor"][0], d["anchor"][1], st.basemap_crs)
        items.append(
            {
                "category": d["category"],
                "category_name": d["category_name"],
                "count": d["count"],
                "first": d["first"].astimezone(tz).date().isoformat(),
                "last": d["last"].astimezone(tz).date().isoformat(),
                "grid": d["grid"],
                "grid_name": d["grid_name"],
                "address": d["address"],
                "lat": round(lat, 6),
                "lon": round(lon, 6),
                "anchor": None if not anchor else [round(anchor[1], 6), round(anchor[0], 6)],
            }
        )
    return {
        "window": window,
        "total": found.total,
        "tickets": found.tickets,
        "items": items,
    }


def _fmt_p(p: float) -> str:
    return "<1e-300" if p == 0 else f"{p:.2g}"


def tables(hot: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
    """The panel's exportable tables (the shell adds CSV/xlsx; ``address`` is personal, L3)."""
    return {
        "hotspots": {
            "title": "异常升高网格",
            "columns": [
                ["grid", "网格"],
                ["grid_code", "网格编码"],
                ["town", "镇街"],
                ["count", "本期事件数"],
                ["expected", "基线期望"],
                ["ratio", "倍数"],
                ["p", "p值"],
                ["q", "q值（BH）"],
            ],
            "rows": [
                [
                    h["name"],
                    h["grid"],
                    h["town"],
                    h["count"],
                    h["expected"],
                    h["ratio"],
                    _fmt_p(h["p"]),
                    _fmt_p(h["q"]),
                ]
                for h in hot["items"]
            ],
        },
        "recurring": {
            "title": "重复发生问题",
            "columns": [
                ["category", "类别"],
                ["grid", "网格"],
                ["address", "地点"],
                ["count", "件数"],
                ["first", "首次"],
                ["last", "最近"],
            ],
            "personal": ["address"],
            "rows": [
                [
                    r["category_name"],
                    r["grid_name"],
                    r["address"] or "",
                    r["count"],
                    r["first"],
                    r["last"],
                ]
                for r in rec["items"]
            ],
        },
    }


def compute(conn: psycopg.Connection, q: Query) -> dict[str, Any]:
    """The hotspot panel's data for ``q``: hotspot grids (count, baseline, ratio, p, q, z,
    simplified polygon), recurring places (category, count, first/last local day, centre and
    grid anchor as [lat, lon] in the display datum, most frequent address — L3, masked by the
    panel), outlines and bounds for the map, the rule's parameters and the exportable tables."""
    st = q.settings
    fr = recurring.frame(conn, q.scope, st.recurring_radius_m)
    grids_in_scope = fr.grids if fr else 0
    first = conn.execute("SELECT min(day) FROM stat_grid_daily").fetchone()
    start, end = _recurring_window(q)
    found = None
    if fr is not None:
        found = recurring.recurring_places(
            conn, q.scope, fr, start, end, st.recurring_min, q.columns, MAX_RECURRING
        )
    # The listed places' tickets are read while the hotspots are tested: in a pipeline the
    # statement leaves at once and its rows are read after, so PostgreSQL (~50 ms for a whole
    # large city) and Python (~50 ms, from the in-memory columns) work side by side.
    with conn.pipeline():
        details = (
            recurring.place_details(conn, q.scope, fr, found, start, end)
            if fr is not None and found is not None
            else list
        )
        hot = _hotspots(conn, q, grids_in_scope, first[0] if first else None)
        rec = _recurring(q, found, details())
    return {
        "period": q.period.key,
        "rule": {
            "alpha": st.hotspot_alpha,
            "baseline_periods": st.hotspot_baseline_periods,
            "min_count": stats.MIN_COUNT,
            "min_ratio": stats.MIN_RATIO,
            "radius_m": st.recurring_radius_m,
            "days": st.recurring_days,
            "min": st.recurring_min,
        },
        "hotspots": hot,
        "recurring": rec,
        "map": {
            "crs": st.basemap_crs,
            "basemap_url": st.basemap_url,
            "basemap_attribution": st.basemap_attribution,
            "bounds": _bounds(conn, q),
            "outline": _outlines(conn, q),
        },
        "tables": tables(hot, rec),
    }
