"""The grid layer on /map in Debian's chromium: every unit of each level drawn (count and codes
equal SQL), hover and click show what the database holds (the card with phone numbers, whole
for an administrator and audited), recolouring never fetches geometry again, a period and a
category picked recolour to SQL's counts, a rate with nothing due is drawn hatched as "no
data" with its legend entry, no external host, no console error. The layer is public
aggregates (L1): the same polygons and values for every role that opens /map;
tests/browser/test_access.py shows the analyst's masked card."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, time, timedelta

from domain.categories import CATEGORY_BY_CODE
from queries.db import connect
from tests.conftest import DEMO_NOW

OPEN_SQL = """
SELECT grid_code, count(*) FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended') GROUP BY grid_code
"""
LEVEL_SQL = {
    "town": "SELECT code FROM region WHERE level = 'town' AND valid_to IS NULL",
    "community": "SELECT code FROM region WHERE level = 'community' AND valid_to IS NULL",
    "grid": "SELECT code FROM grid WHERE valid_to IS NULL",
    "micro": "SELECT code FROM micro_grid WHERE valid_to IS NULL",
}
GEO = "/geo/units/"


def sql_codes(settings, level: str) -> set[str]:
    with connect(settings) as conn:
        return {r[0] for r in conn.execute(LEVEL_SQL[level])}


def painted(page) -> dict:
    return page.evaluate("Object.assign({}, window.gridscope.painted)")


def wait_painted(page, codes: set[str]) -> None:
    page.wait_for_function(
        "codes => { const p = window.gridscope.painted; const k = Object.keys(p);"
        " return k.length === codes.length && codes.every(c => c in p); }",
        arg=sorted(codes),
        timeout=30_000,
    )


def pick(page, option: str, value: str) -> None:
    """Click the choice ``value`` of a selector (as a user clicks its label)."""
    page.click(f"#ana-layer-grids-opt-{option} label:has(input[value='{value}'])")


def assert_clean(watch) -> None:
    assert watch.external() == [], watch.external()
    assert watch.console_errors == [] and watch.page_errors == [], (
        watch.console_errors,
        watch.page_errors,
    )


def screen_point(page, lon: float, lat: float) -> tuple[float, float]:
    return page.evaluate(
        "([lon, lat]) => { const m = window.gridscope.maps['ana-map'];"
        " const r = m.getContainer().getBoundingClientRect();"
        " const q = m.latLngToContainerPoint([lat, lon]); return [r.left + q.x, r.top + q.y]; }",
        [lon, lat],
    )


def test_levels_follow_the_selector_and_equal_sql(live_server, page_at):
    settings = live_server.settings
    page, watch = page_at(live_server.url + "/map", role="analyst")
    pick(page, "level", "grid")
    wait_painted(page, sql_codes(settings, "grid"))
    for level in ("community", "town", "micro", "grid"):
        pick(page, "level", level)
        wait_painted(page, sql_codes(settings, level))
    # Each level's geometry was fetched once: coming back to grids reused the browser cache or
    # the layer's data, never a second download of the same version.
    grid_urls = [u for u in watch.requests if GEO + "grid.pbf" in u]
    assert len(set(grid_urls)) == 1
    assert_clean(watch)


def test_recolouring_sends_values_not_geometry(live_server, page_at):
    settings = live_server.settings
    page, watch = page_at(live_server.url + "/map", role="leader")
    pick(page, "level", "grid")
    grids = sql_codes(settings, "grid")
    wait_painted(page, grids)
    before = [u for u in watch.requests if GEO in u]

    pick(page, "measure", "open")
    with connect(settings) as conn:
        expected = {g: 0 for g in grids} | dict(conn.execute(OPEN_SQL).fetchall())
    page.wait_for_function(
        "exp => Object.entries(exp).every(([c, v]) => window.gridscope.painted[c] === v)",
        arg=expected,
        timeout=30_000,
    )
    assert painted(page) == expected
    pick(page, "palette", "blues")  # a style option: restyled in the browser
    pick(page, "window", "30d")
    page.wait_for_timeout(1500)
    assert [u for u in watch.requests if GEO in u] == before, "recolouring refetched geometry"
    legend = page.inner_text("#ana-layer-grids-legend")
    assert "在办" in legend
    assert_clean(watch)


def test_hover_and_click_show_the_database(live_server, page_at):
    settings = live_server.settings
    now = DEMO_NOW  # the server's pinned clock
    with connect(settings) as conn:
        code, name, lon, lat, comm, households = conn.execute(
            "SELECT g.code, g.name, ST_X(ST_PointOnSurface(g.geom)),"
            " ST_Y(ST_PointOnSurface(g.geom)), c.name, g.households"
            " FROM grid g JOIN region c ON c.code = g.community_code"
            " WHERE g.valid_to IS NULL ORDER BY g.code LIMIT 1 OFFSET 17"
        ).fetchone()
        staff = conn.execute(
            "SELECT s.name, s.phone FROM staff_assignment a JOIN staff s ON s.id = a.staff_id"
            " WHERE a.grid_code = %s AND a.valid_to IS NULL AND s.active AND a.role IN"
            " ('grid_chief', 'fulltime_worker', 'parttime_worker', 'grid_instructor')",
            (code,),
        ).fetchall()
        open_now = conn.execute(
            "SELECT count(*) FROM ticket WHERE grid_code = %s"
            " AND state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')",
            (code,),
        ).fetchone()[0]
        month_created = conn.execute(
            "SELECT count(*) FROM ticket WHERE grid_code = %s"
            " AND (created_at AT TIME ZONE %s)::date BETWEEN date_trunc('month', %s::date)"
            " AND %s::date",
            (
                code,
                settings.timezone,
                now.astimezone(settings.tz).date(),
                now.astimezone(settings.tz).date(),
            ),
        ).fetchone()[0]
        micro = {
            r[0]
            for r in conn.execute(
                "SELECT code FROM micro_grid WHERE grid_code = %s AND valid_to IS NULL", (code,)
            )
        }
    assert staff and all(phone for _, phone in staff)

    page, watch = page_at(live_server.url + "/map", role="admin")
    pick(page, "level", "grid")
    wait_painted(page, sql_codes(settings, "grid"))
    x, y = screen_point(page, lon, lat)
    page.mouse.move(x, y)
    page.wait_for_selector(".gs-tooltip", timeout=10_000)
    tip = page.inner_text(".gs-tooltip")
    assert name in tip and code in tip

    page.mouse.click(x, y)
    page.wait_for_selector("#ana-card:not([hidden]) .gs-card-title", timeout=15_000)
    card = page.inner_text("#ana-card")
    assert page.inner_text("#ana-card .gs-card-title") == name
    assert code in card and comm in card
    assert page.inner_text(".gs-card-households .gs-card-v") == f"{households:,}"
    shown = page.eval_on_selector_all(
        ".gs-card-staff",
        "els => els.map(e => [e.querySelector('.gs-staff-name').textContent,"
        " e.querySelector('.gs-staff-phone').textContent])",
    )
    assert sorted(map(tuple, shown)) == sorted(staff)
    assert page.inner_text(".gs-card-hotline .gs-card-v") == settings.hotline
    assert page.inner_text(".gs-card-open .gs-card-v") == str(open_now)
    assert page.inner_text(".gs-card-month-created .gs-card-v") == f"{month_created:,}"
    # Names and phones shown whole (an L3 read by an L4 role) are audited in the same request.
    with connect(settings) as conn:
        audited = conn.execute(
            "SELECT actor_name, role, count FROM audit_event"
            " WHERE action = 'card_read' AND object = 'grid' AND object_ids = %s",
            ([code],),
        ).fetchall()
    assert (live_server.users["admin"], "admin", len(staff)) in audited

    # The click drilled down: the grid's micro-grids, and only those, are drawn.
    wait_painted(page, micro)
    assert any(f"within={code}" in u for u in watch.requests if GEO + "micro.pbf" in u)
    page.click("#ana-card-close")
    page.wait_for_selector("#ana-card", state="hidden")
    page.click("#ana-reset")
    assert_clean(watch)


def test_geometry_is_compact_and_cached(live_server):
    from tests.browser.conftest import session_opener

    url = live_server.url
    analyst = session_opener(live_server, "analyst")
    with analyst.open(url + "/map") as r:
        assert r.status == 200
    req = urllib.request.Request(url + GEO + "grid.pbf", headers={"Accept-Encoding": "gzip"})
    with analyst.open(req) as r:
        etag, body = r.headers["ETag"], r.read()
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.headers["Content-Type"] == "application/x-protobuf"
        assert "no-cache" in r.headers["Cache-Control"]  # no v: not pinned
    assert len(body) <= 8_000, len(body)  # 64 grids of the small demo
    version = json.loads(json.dumps(etag)).strip('"')
    pinned = urllib.request.Request(
        f"{url}{GEO}grid.pbf?v={version}", headers={"If-None-Match": etag}
    )
    try:
        analyst.open(pinned)
        raise AssertionError("expected 304 Not Modified")
    except urllib.error.HTTPError as exc:
        assert exc.code == 304
    with analyst.open(f"{url}{GEO}grid.pbf?v={version}") as r:
        assert "immutable" in r.headers["Cache-Control"]


# --------------------------------------------------------------------- periods and no data

CREATED_SQL = """
SELECT grid_code, count(*) FROM ticket
 WHERE (created_at AT TIME ZONE %(tz)s)::date BETWEEN %(first)s AND %(last)s
   AND created_at <= %(now)s AND category_code LIKE %(cat)s
 GROUP BY grid_code
"""
# Closed in the period, and open past the handling due time at its end (a period before today).
DUE_SQL = """
SELECT grid_code,
       count(*) FILTER (WHERE (closed_at AT TIME ZONE %(tz)s)::date BETWEEN %(first)s AND %(last)s),
       count(*) FILTER (WHERE state NOT IN ('rejected', 'suspended') AND created_at < %(end)s
                          AND due_at < %(end)s AND (closed_at IS NULL OR closed_at >= %(end)s))
  FROM ticket WHERE category_code LIKE %(cat)s GROUP BY grid_code
"""


def local_today(settings):
    return DEMO_NOW.astimezone(settings.tz).date()


def set_period(page, first, last) -> None:
    """Type both ends of the date range, as a user does (Tab commits each)."""
    page.fill("#ana-layer-grids-period", first.isoformat())
    page.keyboard.press("Tab")
    page.fill("#ana-layer-grids-period-end-date", last.isoformat())
    page.keyboard.press("Tab")


def pick_category(page, code: str) -> None:
    """Search the category drop-down for ``code`` and pick it."""
    page.click("#ana-layer-grids-opt-category")
    page.fill(".dash-dropdown-search", code)
    page.click(f".dash-dropdown-option:has-text('{code} ')")


def wait_values(page, expected: dict) -> None:
    page.wait_for_function(
        "exp => { const p = window.gridscope.painted;"
        " return Object.keys(p).length === Object.keys(exp).length"
        " && Object.entries(exp).every(([c, v]) => p[c] === v); }",
        arg=expected,
        timeout=30_000,
    )


def selected(page, option: str) -> str:
    return page.inner_text(f"#ana-layer-grids-opt-{option} .selected")


def test_a_period_and_a_category_recolour(live_server, page_at):
    settings = live_server.settings
    page, watch = page_at(live_server.url + "/map", role="analyst")
    pick(page, "level", "grid")
    grids = sql_codes(settings, "grid")
    wait_painted(page, grids)
    before = [u for u in watch.requests if GEO in u]
    today = local_today(settings)
    first, last = today - timedelta(days=60), today - timedelta(days=31)
    p = {"tz": settings.timezone, "first": first, "last": last, "now": DEMO_NOW}
    with connect(settings) as conn:
        created = dict(conn.execute(CREATED_SQL, p | {"cat": "%"}).fetchall())
        minor = conn.execute(
            "SELECT category_code FROM ticket WHERE length(category_code) = 4"
            " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]
        of_minor = dict(conn.execute(CREATED_SQL, p | {"cat": minor}).fetchall())
    assert sum(created.values()) > sum(of_minor.values()) > 0

    set_period(page, first, last)
    wait_values(page, {g: created.get(g, 0) for g in grids})
    assert selected(page, "window") == "自选"  # picking both dates selects the period
    legend = page.inner_text("#ana-layer-grids-legend")
    assert f"{first.isoformat()} 至 {last.isoformat()}" in legend

    pick_category(page, minor)
    wait_values(page, {g: of_minor.get(g, 0) for g in grids})
    legend = page.inner_text("#ana-layer-grids-legend")
    assert CATEGORY_BY_CODE[minor].name_zh in legend and first.isoformat() in legend

    # a quick window clears the range; the category stays
    pick(page, "window", "30d")
    page.wait_for_function(
        "() => document.querySelector('#ana-layer-grids-period').value === ''", timeout=10_000
    )
    page.wait_for_function(
        "() => document.querySelector('#ana-layer-grids-legend').innerText.includes('近30日')",
        timeout=30_000,
    )
    assert [u for u in watch.requests if GEO in u] == before, "recolouring refetched geometry"
    assert_clean(watch)


def fill_of(page, code: str) -> str:
    """'pattern' when the unit ``code`` is drawn with a canvas pattern (the hatch), else its
    fill colour."""
    return page.evaluate(
        "code => { let out = null; window.gridscope.maps['ana-map'].eachLayer(l => {"
        " if (l.feature && l.feature.properties && l.feature.properties.code === code) {"
        "   const f = l.options.fillColor;"
        "   out = f instanceof CanvasPattern ? 'pattern' : String(f); } }); return out; }",
        code,
    )


def test_no_data_is_hatched_with_a_legend_entry(live_server, page_at):
    settings = live_server.settings
    today = local_today(settings)
    first, last = today - timedelta(days=12), today - timedelta(days=10)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=settings.tz)
    p = {"tz": settings.timezone, "first": first, "last": last, "end": end, "cat": "09%"}
    with connect(settings) as conn:
        due = {g: (k, d) for g, k, d in conn.execute(DUE_SQL, p).fetchall()}
        lon_lat = dict(
            (code, (x, y))
            for code, x, y in conn.execute(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                " FROM grid WHERE valid_to IS NULL"
            )
        )
    grids = sql_codes(settings, "grid")
    expected = {}
    for g in grids:
        closed, past_due = due.get(g, (0, 0))
        expected[g] = None if closed + past_due == 0 else round(closed / (closed + past_due), 4)
    nodata = sorted(g for g, v in expected.items() if v is None)
    shaded = sorted(g for g, v in expected.items() if v is not None)
    assert nodata and shaded, "the case needs grids with and without closures"

    page, watch = page_at(live_server.url + "/map", role="analyst")
    pick(page, "level", "grid")
    wait_painted(page, grids)
    pick(page, "measure", "closure_rate")
    pick_category(page, "09")
    set_period(page, first, last)
    wait_values(page, expected)  # null: no data, never 0
    assert {fill_of(page, g) for g in nodata} == {"pattern"}
    assert "pattern" not in {fill_of(page, g) for g in shaded}
    legend = page.inner_text("#ana-layer-grids-legend")
    assert "无数据" in legend and "结案率 · 城市管理" in legend
    assert page.locator("#ana-layer-grids-legend .gs-swatch--nodata").count() == 1
    # the tooltip says so too
    x, y = screen_point(page, *lon_lat[nodata[0]])
    page.mouse.move(x, y)
    page.wait_for_selector(".gs-tooltip", timeout=10_000)
    assert "无数据" in page.inner_text(".gs-tooltip")

    # an end before the start: a message under the selectors, the map unchanged, no error
    page.fill("#ana-layer-grids-period-end-date", (first - timedelta(days=1)).isoformat())
    page.keyboard.press("Tab")
    page.wait_for_selector("#ana-layer-grids-error:has-text('早于')", timeout=15_000)
    assert painted(page) == expected
    set_period(page, first, last)
    page.wait_for_function(
        "() => document.querySelector('#ana-layer-grids-error').innerText === ''",
        timeout=15_000,
    )
    assert_clean(watch)


def test_the_wall_keeps_its_map(live_server, page_at):
    """The wall's map (profile "screen", fed by the feeds) has no date range or category
    drop-down and loads neither's scripts; its grid layer still draws today's counts."""
    page, watch = page_at(live_server.url + "/screen", 1920, 1080)
    page.wait_for_function(
        "() => Object.keys(window.gridscope.painted || {}).length > 0", timeout=30_000
    )
    assert page.locator("#scr-layer-grids-period").count() == 0
    assert page.locator("#scr-layer-grids-opt-category").count() == 0
    assert page.locator("#scr-layer-grids-opt-level").count() == 1
    assert not [u for u in watch.requests if "async-datepicker" in u or "async-dropdown" in u]
    assert_clean(watch)
