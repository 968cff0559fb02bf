"""Leadership analytics (/analytics) in Debian's chromium against the real server on the small
demo, its clock pinned at DEMO_NOW: every measure card holds the number the measures module
computes for the leader's town (formatted by the one shared formatter), the view lives in the
URL (period kind, period, area; back returns), an area outside the jurisdiction is named and not
shown, the panels link to the workbench with the same area and period, the tables export as CSV
and Excel (audited), the report downloads as a PDF, and the wall may not open the page."""

from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from domain.analytics.formatting import fmt_value
from domain.analytics.periods import parse_period
from queries.analytics import measures
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope
from tests.browser.conftest import DEMO_TOWN, PageWatch, sign_in
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.browser

WAIT_MS = 60_000
PANELS = ("measures", "rankings", "categories", "rhythm", "hotspots", "satisfaction", "patrol")


def expected_cards(settings, area: str, period: str) -> dict[str, str]:
    p = parse_period(period).cut(DEMO_NOW, settings.tz)
    with connect(settings) as conn:
        data = measures.compute(conn, Query(Scope(area), p, DEMO_NOW, settings.tz, settings))
    return {c["key"]: fmt_value(c["kind"], c["value"]) for c in data["cards"]}


@pytest.fixture
def leader(browser, live_server):
    contexts = []

    def open_page(query: str = "", role: str = "leader", width: int = 1920, height: int = 1080):
        ctx = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        contexts.append(ctx)
        page = ctx.new_page()
        watch = PageWatch(page)
        sign_in(page, live_server, role)
        page.goto(live_server.url + "/analytics" + query, wait_until="networkidle")
        return page, watch

    yield open_page
    for c in contexts:
        c.close()


def wait_panels(page) -> None:
    for name in PANELS:
        page.wait_for_selector(f"#sit-panel-{name} > *", timeout=WAIT_MS)


def card_values(page) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.sit-card')].map(c => [
            c.id.replace('sit-card-', ''), c.querySelector('.sit-card-value').textContent]))"""
    )


def url_args(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def assert_clean(watch: PageWatch) -> None:
    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.external() == []


def test_the_cards_show_the_measures_of_the_leaders_town(live_server, leader):
    page, watch = leader("?period=2026-10")
    wait_panels(page)
    want = expected_cards(live_server.settings, DEMO_TOWN, "2026-10")
    page.wait_for_function(
        "n => document.querySelectorAll('.sit-card').length === n", arg=len(want), timeout=WAIT_MS
    )
    assert card_values(page) == want
    assert want["on_time_rate"] != "—" and want["due_to_close"] != "0"
    # Each card says its formula, and 环比 names last month.
    info = page.get_attribute("#sit-card-on_time_rate .sit-card-info", "title")
    assert "按（原）时限办结数 ÷ 应结案数" in info and "÷" in info.split("\n")[1]
    assert "环比：2026年9月" in page.inner_text("#sit-panel-measures")
    assert page.locator(".sit-panel-error").count() == 0
    # The page fits the screen's width: nothing runs off to the right.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    assert_clean(watch)


def test_the_view_lives_in_the_url_and_back_returns(live_server, leader):
    page, watch = leader("?period=2026-10")
    wait_panels(page)
    page.click("#sit-kind label:has-text('周')")
    page.wait_for_function("() => location.search.includes('period=2026-W')", timeout=WAIT_MS)
    week = url_args(page)["period"]
    assert parse_period(week).kind == "week"
    page.go_back()
    page.wait_for_function("() => location.search.includes('period=2026-10')", timeout=WAIT_MS)
    wait_panels(page)
    with connect(live_server.settings) as conn:
        community = conn.execute(
            "SELECT code, name FROM region WHERE level = 'community' AND code LIKE %s"
            " ORDER BY code LIMIT 1",
            (DEMO_TOWN + "%",),
        ).fetchone()
    page.goto(
        f"{live_server.url}/analytics?period=2026-10&area={community[0]}", wait_until="networkidle"
    )
    wait_panels(page)
    page.wait_for_function(
        "n => document.querySelectorAll('.sit-card').length === n", arg=12, timeout=WAIT_MS
    )
    assert card_values(page) == expected_cards(live_server.settings, community[0], "2026-10")
    assert community[1] in page.inner_text("#sit-area")
    assert_clean(watch)


def test_an_area_outside_the_jurisdiction_is_named_and_not_shown(live_server, leader):
    page, _watch = leader("?period=2026-10&area=330411")
    wait_panels(page)
    assert "330411 不在您的辖区内" in page.inner_text("#sit-problems")
    page.wait_for_function(
        "n => document.querySelectorAll('.sit-card').length === n", arg=12, timeout=WAIT_MS
    )
    assert card_values(page) == expected_cards(live_server.settings, DEMO_TOWN, "2026-10")
    page.goto(live_server.url + "/analytics?period=2026-13", wait_until="networkidle")
    wait_panels(page)
    assert "时段 '2026-13' 无效" in page.inner_text("#sit-problems")


def test_panels_link_to_the_workbench_with_the_same_view(live_server, leader):
    page, _watch = leader("?period=2026-10")
    wait_panels(page)
    hrefs = page.eval_on_selector_all(
        ".sit-section a[href^='/explore']", "els => els.map(e => e.getAttribute('href'))"
    )
    assert len(hrefs) >= 10
    for href in hrefs:
        args = parse_qs(urlsplit(href).query)
        # The period's days; a recurring problem links to its 90-day window ending with them.
        assert args["to"] == ["2026-10-31"], href
        assert args["from"][0] in ("2026-10-01", "2026-08-03"), href
    page.click("#sit-card-on_time_rate .sit-card-link")
    page.wait_for_url("**/explore?**", timeout=WAIT_MS)
    assert "clock=closed_on_time" in page.url


def test_tables_export_and_are_audited_and_the_report_downloads(live_server, leader, tmp_path):
    page, watch = leader("?period=2026-10")
    wait_panels(page)
    csv_href = page.get_attribute("#sit-tools-measures a:has-text('CSV')", "href")
    resp = page.request.get(live_server.url + csv_href)
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO(resp.body().decode("utf-8-sig"))))
    assert rows[0][0] == "指标" and len(rows) == 1 + 12
    names = {r[0] for r in rows[1:]}
    assert {"结案率", "按期结案率", "满意率", "巡查覆盖率"} <= names
    xlsx_href = page.get_attribute("#sit-tools-rankings a:has-text('Excel')", "href")
    resp = page.request.get(live_server.url + xlsx_href)
    assert resp.status == 200
    path = tmp_path / "r.xlsx"
    path.write_bytes(resp.body())
    wb = load_workbook(path, read_only=True)
    assert wb.sheetnames[-1] == "说明" and len(list(wb.worksheets[0].iter_rows())) > 1
    wb.close()
    with connect(live_server.settings) as conn:
        audited = conn.execute(
            "SELECT count(*) FROM audit_event WHERE action = 'analytics_export'"
            " AND actor_name = %s AND outcome = 'ok'",
            (live_server.users["leader"],),
        ).fetchone()[0]
    assert audited >= 2
    pdf_href = page.get_attribute("#sit-report-pdf", "href")
    assert pdf_href == "/analytics/report.pdf?period=2026-10"
    resp = page.request.get(live_server.url + pdf_href, timeout=120_000)
    assert resp.status == 200 and resp.body()[:5] == b"%PDF-"
    assert_clean(watch)


def test_the_wall_may_not_open_analytics(live_server, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live_server, "wall")
    resp = page.goto(live_server.url + "/analytics", wait_until="domcontentloaded")
    assert resp.status == 403
    ctx.close()
