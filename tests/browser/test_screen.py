"""/screen in Debian's chromium: polygons, KPIs equal to direct SQL, live refresh from the feeds
(no Dash callback polls), each panel's own "as of", a stale mark and a banner when the feeds
fail that clear by themselves, no external requests, no console errors, no scrollbars at
1920×1080, 3840×2160 and 32:9."""

import pytest

from domain.clock.work_calendar import WorkCalendar
from queries.db import connect
from queries.item_list import load_limits
from queries.positions import record_positions
from queries.scope import Scope
from queries.tickets import Clocks, NewTicket, create_ticket
from tests.conftest import DEMO_NOW

KPI_SQL = """
SELECT
  (SELECT count(*) FROM ticket WHERE (created_at AT TIME ZONE %(tz)s)::date = %(today)s),
  (SELECT count(*) FROM ticket WHERE (closed_at AT TIME ZONE %(tz)s)::date = %(today)s),
  (SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')),
  (SELECT count(*) FROM ticket WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
      AND stage_due_at < %(now)s),
  (SELECT count(*) FROM worker_last_position WHERE on_duty AND at > %(now)s - interval '10 min')
"""
LABELS = ("今日上报", "今日结案", "处置中", "超期", "在线网格员")


def sql_kpis(settings, now=None) -> tuple[int, ...]:
    now = now or DEMO_NOW  # the server's pinned clock
    with connect(settings) as conn:
        return conn.execute(
            KPI_SQL,
            {"tz": settings.timezone, "now": now, "today": now.astimezone(settings.tz).date()},
        ).fetchone()


def dom_kpis(page) -> dict[str, int]:
    cards = page.eval_on_selector_all(
        ".gs-kpi",
        "els => els.map(e => [e.querySelector('.gs-kpi-label').textContent,"
        " e.querySelector('.gs-kpi-value').textContent])",
    )
    out = {}
    for label, value in cards:
        if label in LABELS:
            assert value.replace(",", "").isdigit(), (label, value)
            out[label] = int(value.replace(",", ""))
    return out


def wait_loaded(page, n_grids: int) -> None:
    page.wait_for_function(
        "n => window.gridscope && Object.keys(window.gridscope.painted).length === n",
        arg=n_grids,
        timeout=30_000,
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gs-kpi-value')].every(e => e.textContent !== '—')"
        " && document.getElementById('gs-updated').textContent.includes(':')",
        timeout=30_000,
    )


def grid_count(settings) -> int:
    with connect(settings) as conn:
        return conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]


def test_screen_shows_sql_numbers_and_refreshes_after_a_new_ticket(live_server, page_at, tmp_path):
    settings = live_server.settings
    n_grids = grid_count(settings)
    assert n_grids >= 40
    with connect(settings) as conn:  # two workers report in, so "online" is not trivially 0
        staff = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM staff WHERE role = 'fulltime_worker' ORDER BY id LIMIT 2"
            )
        ]
        now = DEMO_NOW
        record_positions(conn, [(staff[0], now, 120.75, 30.76), (staff[1], now, 120.76, 30.75)])

    page, watch = page_at(live_server.url + "/screen")
    wait_loaded(page, n_grids)

    before = sql_kpis(settings)
    shown = dom_kpis(page)
    after = sql_kpis(settings)
    for i, label in enumerate(LABELS):
        assert shown[label] in (before[i], after[i]), (label, shown[label], before[i], after[i])
    assert shown["在线网格员"] == 2

    # A new ticket through the data layer appears at the next refresh (interval 5 s here).
    with connect(settings) as conn:
        clocks = Clocks(WorkCalendar(tz=settings.timezone), load_limits(conn), settings.tz)
        grid, lon, lat = conn.execute(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM grid ORDER BY code LIMIT 1"
        ).fetchone()
        painted_before = page.evaluate(f"window.gridscope.painted['{grid}']")
        create_ticket(conn, clocks, Scope(""), NewTicket("0901", lon, lat, "patrol"), now=DEMO_NOW)
    page.wait_for_function(
        "([n]) => [...document.querySelectorAll('.gs-kpi')].some(e =>"
        " e.querySelector('.gs-kpi-label').textContent === '今日上报' &&"
        " parseInt(e.querySelector('.gs-kpi-value').textContent.replace(/,/g, '')) === n)",
        arg=[shown["今日上报"] + 1],
        timeout=20_000,
    )
    page.wait_for_function(
        f"v => window.gridscope.painted['{grid}'] === v", arg=painted_before + 1, timeout=20_000
    )

    geo_requests = [u for u in watch.requests if "/geo/units/grid.pbf" in u]
    assert len(geo_requests) == 1, "recolouring must not fetch the polygons again"
    # The wall is fed by GET /feed/*: after the page is drawn no Dash callback polls.
    callbacks = [u for u in watch.requests if "/_dash-update-component" in u]
    feeds = [u for u in watch.requests if "/feed/" in u]
    page.wait_for_timeout(6_000)  # more than one refresh period (5 s here)
    assert [u for u in watch.requests if "/_dash-update-component" in u] == callbacks
    assert len([u for u in watch.requests if "/feed/" in u]) > len(feeds)
    assert {u.split("?")[0].rsplit("/", 1)[1] for u in feeds} >= {
        "counters",
        "ticker",
        "layer-grids",
        "layer-heat",
        "layer-overdue",
    }
    assert watch.external() == [], watch.external()
    assert watch.console_errors == [] and watch.page_errors == [], (
        watch.console_errors,
        watch.page_errors,
    )
    page.screenshot(path=str(tmp_path / "screen_1920.png"))


@pytest.mark.parametrize("width, height", [(1920, 1080), (3840, 2160), (7680, 2160)])
def test_screen_fills_the_wall_without_scrollbars(live_server, page_at, width, height):
    page, watch = page_at(live_server.url + "/screen", width, height)
    wait_loaded(page, grid_count(live_server.settings))
    dims = page.evaluate(
        "() => ({sw: document.documentElement.scrollWidth, sh: document.documentElement"
        ".scrollHeight, root: parseFloat(getComputedStyle(document.documentElement).fontSize),"
        " minFont: Math.min(...[...document.querySelectorAll('#gs-screen *')].filter(e =>"
        " [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))})"
    )
    assert dims["sw"] <= width and dims["sh"] <= height, dims
    # Text at least 16 px at 1080p and scaled with the wall's height.
    assert dims["minFont"] >= 16 * height / 1080 - 0.5, dims
    assert watch.external() == [] and watch.console_errors == [] and watch.page_errors == []


def test_healthz_and_grid_geometry_are_local_and_cached(live_server):
    import json
    import urllib.error
    import urllib.request

    from tests.browser.conftest import session_opener

    with urllib.request.urlopen(live_server.url + "/healthz") as r:
        assert json.load(r)["database"] is True
    try:  # geometry is data: no session, no polygons
        urllib.request.urlopen(live_server.url + "/geo/units/grid.pbf")
        raise AssertionError("an anonymous geometry request must be refused")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    wall = session_opener(live_server)
    with wall.open(live_server.url + "/geo/units/grid.pbf") as r:
        etag = r.headers["ETag"]
        assert int(r.headers["X-Features"]) == grid_count(live_server.settings)
        assert r.headers["Cache-Control"] == "no-cache"  # no version pinned in the URL
    version = etag.strip('"')
    with wall.open(f"{live_server.url}/geo/units/grid.pbf?v={version}") as r:
        assert "immutable" in r.headers["Cache-Control"]
    request = urllib.request.Request(
        live_server.url + "/geo/units/grid.pbf", headers={"If-None-Match": etag}
    )
    try:
        wall.open(request)
        raise AssertionError("an unchanged geometry must answer 304")
    except urllib.error.HTTPError as exc:
        assert exc.code == 304


def asof_texts(page) -> dict[str, str]:
    """{feed: text} of every panel's "as of" (the first element of each feed)."""
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('.gs-asof')].reverse()"
        ".map(e => [e.dataset.feed, e.textContent]))"
    )


def test_each_panel_shows_its_as_of_and_a_failing_feed_is_marked_stale(live_server, page_at):
    page, watch = page_at(live_server.url + "/screen")
    wait_loaded(page, grid_count(live_server.settings))
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gs-asof')].every(e => e.textContent.length)",
        timeout=30_000,
    )
    shown = asof_texts(page)
    # The server runs on the pinned clock: every panel's data is as of 15:30:00 local.
    assert {"counters", "ticker", "layer-grids", "layer-overdue"} <= set(shown), shown
    assert all(text == "更新 15:30:00" for text in shown.values()), shown
    assert page.evaluate("document.getElementById('gs-banner').hidden") is True
    assert page.locator(".gs-asof--stale").count() == 0
    state = page.evaluate("window.gridscope.wall.state()")
    assert state["counters"]["status"] in (200, 304) and state["counters"]["etag"]

    # The feeds fail (a load balancer answering 503): after twice their period (5 s here) the
    # panels are marked stale with their age, keep their data, and the banner shows.
    kpis = dom_kpis(page)
    page.route(
        "**/feed/**",
        lambda route: route.fulfill(status=503, body='{"ok": false}', headers={"Retry-After": "1"}),
    )
    page.wait_for_function(
        "() => document.querySelector('.gs-asof[data-feed=counters]')"
        ".classList.contains('gs-asof--stale')",
        timeout=30_000,
    )
    stale = asof_texts(page)
    assert stale["counters"].startswith("数据延迟 ") and stale["counters"].endswith("秒"), stale
    assert "gs-stale-panel" in page.get_attribute(".gs-panel--basic", "class")
    assert page.evaluate("document.getElementById('gs-banner').hidden") is False
    assert "数据库" in page.text_content("#gs-banner")
    assert dom_kpis(page) == kpis, "a stale panel keeps its last data"

    # The server answers again: the marks and the banner clear by themselves within a period.
    page.unroute("**/feed/**")
    page.wait_for_function(
        "() => !document.querySelector('.gs-asof--stale') &&"
        " document.getElementById('gs-banner').hidden",
        timeout=15_000,
    )
    assert asof_texts(page)["counters"] == "更新 15:30:00"
    assert watch.page_errors == []
    # Only the refused feed requests may have been reported (Chrome logs a failed load).
    assert all("503" in e for e in watch.console_errors), watch.console_errors


def test_set_view_narrows_the_panels_to_a_unit_and_back(live_server, page_at):
    from queries.db import connect

    with connect(live_server.settings) as conn:
        code, name = conn.execute(
            "SELECT code, name FROM region WHERE level = 'community' AND valid_to IS NULL"
            " ORDER BY code LIMIT 1"
        ).fetchone()
    page, watch = page_at(live_server.url + "/screen")
    wait_loaded(page, grid_count(live_server.settings))
    town = dom_kpis(page)
    page.evaluate(f"window.gridscope.wall.setView({{unit: '{code}', label: '{name}'}})")
    page.wait_for_function(
        f"() => (window.gridscope.wall.state().counters.url || '').endsWith('unit={code}')"
        " && window.gridscope.wall.state().counters.status === 200",
        timeout=15_000,
    )
    page.wait_for_function(
        f"() => document.getElementById('gs-jurisdiction').textContent === '{name}'"
    )
    unit = dom_kpis(page)
    assert unit["今日上报"] <= town["今日上报"]
    page.evaluate("window.gridscope.wall.setView({unit: null})")
    page.wait_for_function(
        "() => window.gridscope.wall.state().counters.url === '/feed/counters'", timeout=15_000
    )
    page.wait_for_function(
        "n => [...document.querySelectorAll('.gs-kpi')].some(e =>"
        " e.querySelector('.gs-kpi-label').textContent === '今日上报' &&"
        " e.querySelector('.gs-kpi-value').textContent.replace(/,/g, '') === String(n))",
        arg=town["今日上报"],
        timeout=15_000,
    )
    assert watch.console_errors == [] and watch.page_errors == []
