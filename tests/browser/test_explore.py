"""The analyst workbench (/explore) in Debian's chromium against the real server on the small
demo, its clock pinned at DEMO_NOW: every figure held against a direct SQL count written here
(not the product's WHERE builder), the view living in the URL (facet clicks, back button, a
copied link opened by another analyst, an area outside the viewer's jurisdiction refused by
name), an area click narrowing the table, a ticket's drawer showing its event log in order,
exports whose files hold the table's rows and land in the audit trail, and the wall refused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from queries.db import connect
from tests.access import PASSWORD, add_user
from tests.browser.conftest import DEMO_TOWN, PageWatch, sign_in
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.browser

WAIT_MS = 30_000
CLOSED = "('closed', 'surveyed', 'rejected')"
# The facet sections the sidebar always shows (原系统类型 only when tickets carry one).
FACET_DIMS = (
    "area",
    "period",
    "cat",
    "clock",
    "state",
    "stage",
    "source",
    "urgency",
    "sup",
    "flag",
    "dept",
)
ROWS = ".ag-center-cols-container .ag-row"


# --- the database, counted directly -----------------------------------------------------


def month_bounds(settings) -> tuple[datetime, datetime]:
    """本月 at the pinned clock: [the 1st, 00:00 local; tomorrow 00:00 local)."""
    today = DEMO_NOW.astimezone(settings.tz).date()
    start = datetime.combine(today.replace(day=1), time(0), tzinfo=settings.tz)
    end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=settings.tz)
    return start, end


def ticket_filter(
    settings, area: str = DEMO_TOWN, cat: str | None = None, closed_late: bool = False
) -> tuple[str, dict]:
    start, end = month_bounds(settings)
    clause = "grid_code LIKE %(area)s AND created_at >= %(start)s AND created_at < %(end)s"
    params: dict = {"area": area + "%", "start": start, "end": end}
    if cat:
        clause += " AND left(category_code, 2) = %(cat)s"
        params["cat"] = cat
    if closed_late:
        clause += f" AND state IN {CLOSED} AND closed_on_time IS FALSE"
    return clause, params


def sql_count(settings, **kw) -> int:
    clause, params = ticket_filter(settings, **kw)
    with connect(settings) as conn:
        return conn.execute(f"SELECT count(*) FROM ticket WHERE {clause}", params).fetchone()[0]


def sql_ticket_nos(settings, **kw) -> set[str]:
    clause, params = ticket_filter(settings, **kw)
    with connect(settings) as conn:
        return {r[0] for r in conn.execute(f"SELECT ticket_no FROM ticket WHERE {clause}", params)}


def sql_majors(settings, **kw) -> dict[str, int]:
    clause, params = ticket_filter(settings, **kw)
    with connect(settings) as conn:
        return dict(
            conn.execute(
                f"SELECT left(category_code, 2), count(*) FROM ticket WHERE {clause} GROUP BY 1",
                params,
            ).fetchall()
        )


def category_name(settings, code: str) -> str:
    with connect(settings) as conn:
        return conn.execute("SELECT name_zh FROM category WHERE code = %s", (code,)).fetchone()[0]


def busiest_late_major(settings) -> str:
    """The major category with the most tickets closed late this month (so the view is not
    empty and its tickets have long histories)."""
    clause, params = ticket_filter(settings, closed_late=True)
    with connect(settings) as conn:
        return conn.execute(
            f"SELECT left(category_code, 2) FROM ticket WHERE {clause}"
            " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
            params,
        ).fetchone()[0]


def communities(settings) -> list[str]:
    with connect(settings) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT code FROM region WHERE level = 'community' AND valid_to IS NULL"
                " AND code LIKE %s ORDER BY code",
                (DEMO_TOWN + "%",),
            )
        ]


# --- the page -----------------------------------------------------------------------------


def n_of(text: str) -> int:
    return int(text.strip().replace(",", ""))


def kpis(page) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#exp-kpis .exp-kpi",
        "els => Object.fromEntries(els.map(e => [e.querySelector('.exp-kpi-label').textContent,"
        " e.querySelector('.exp-kpi-value').textContent]))",
    )


def wait_total(page, expected: int) -> None:
    """Wait until the headline 事件数 shows ``expected`` (the view has been rendered), then
    hold it (a timeout fails with the figure shown)."""
    try:
        page.wait_for_function(
            "n => { const v = [...document.querySelectorAll('#exp-kpis .exp-kpi')]"
            ".find(e => e.querySelector('.exp-kpi-label').textContent === '事件数');"
            " return v && v.querySelector('.exp-kpi-value').textContent === n; }",
            arg=f"{expected:,}",
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        pass
    assert kpis(page).get("事件数") == f"{expected:,}", (kpis(page), page.url)


def wait_query(page, expected: dict[str, list[str]]) -> None:
    """Wait until the address bar's query string holds exactly ``expected``."""
    try:
        page.wait_for_function(
            "exp => { const q = new URLSearchParams(location.search); const got = {};"
            " for (const [k, v] of q) { got[k] = v.split(','); }"
            " return JSON.stringify(Object.keys(got).sort().map(k => [k, got[k].sort()]))"
            "  === JSON.stringify(Object.keys(exp).sort().map(k => [k, exp[k].sort()])); }",
            arg=expected,
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        pass
    assert query_of(page.url) == expected, page.url


def query_of(url: str) -> dict[str, list[str]]:
    return {k: sorted(",".join(v).split(",")) for k, v in parse_qs(urlsplit(url).query).items()}


def chips(page) -> list[str]:
    return [
        t.replace("×", "").strip() for t in page.locator("#exp-chips .exp-chip").all_inner_texts()
    ]


def table_note_count(page) -> int:
    text = page.inner_text("#exp-table-note")
    m = re.search(r"共 ([\d,]+) 件", text)
    assert m, text
    return n_of(m.group(1))


def wait_note(page, expected: int) -> None:
    try:
        page.wait_for_function(
            "s => (document.querySelector('#exp-table-note') || {}).textContent  ?.startsWith(s)",
            arg=f"共 {expected:,} 件",
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        pass
    assert table_note_count(page) == expected, page.inner_text("#exp-table-note")


def grid_cells(page) -> list[str]:
    return page.locator(f"{ROWS} .exp-col-grid").all_inner_texts()


def wait_rows(page, predicate_js: str, arg) -> list[str]:
    """Wait until the table shows rows and every row's 网格 cell satisfies ``predicate_js``
    (a JS function of (cell text, arg)); returns the cells."""
    try:
        page.wait_for_function(
            f"arg => {{ const p = {predicate_js};"
            f" const cells = [...document.querySelectorAll('{ROWS} .exp-col-grid')]"
            "  .map(e => e.textContent.trim());"
            " return cells.length > 0 && cells.every(c => c && p(c, arg)); }",
            arg=arg,
            timeout=WAIT_MS,
        )
    except PlaywrightTimeout:
        pass
    return grid_cells(page)


def table_rows(page, expected: int) -> int:
    """The number of rows the table holds, once it knows (AG Grid's aria-rowcount counts the
    header row too): scrolled to the end block by block until it is ``expected``."""
    shown = -1
    for _ in range(expected // 50 + 20):
        count = page.get_attribute(".ag-root", "aria-rowcount")
        shown = int(count) - 1 if count and int(count) > 0 else -1
        if shown == expected:
            break
        page.evaluate("document.querySelector('.ag-body-viewport').scrollTop = 1e9")
        page.wait_for_timeout(400)
    return shown


def sign_in_as(page, server, username: str) -> None:
    page.goto(server.url + "/login", wait_until="domcontentloaded")
    page.fill("#gs-username", username)
    page.fill("#gs-password", PASSWORD)
    with page.expect_navigation():
        page.click("#gs-login")


@pytest.fixture
def explore(browser, live_server):
    """open_explore(query="", role="analyst", username=None) -> (page, watch): a new browser
    context signed in, on /explore?query, once its first view is drawn."""
    contexts = []

    def open_explore(query: str = "", role: str = "analyst", username: str | None = None):
        ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        watch = PageWatch(page)
        if username:
            sign_in_as(page, live_server, username)
        else:
            sign_in(page, live_server, role)
        page.goto(f"{live_server.url}/explore{query}", wait_until="domcontentloaded")
        page.wait_for_selector("#exp-kpis .exp-kpi", timeout=WAIT_MS)
        return page, watch

    yield open_explore
    for c in contexts:
        c.close()


def assert_clean(watch) -> None:
    assert watch.external() == [], watch.external()
    assert watch.page_errors == [], watch.page_errors
    assert watch.console_errors == [], watch.console_errors


# --- the tests ------------------------------------------------------------------------------


def test_the_default_view_counts_this_month_of_the_jurisdiction(live_server, explore):
    settings = live_server.settings
    page, watch = explore()
    assert page.title() == "事件分析"
    total = sql_count(settings)
    assert total > 0
    wait_total(page, total)
    shown = kpis(page)
    assert n_of(shown["超期办结"]) == sql_count(settings, closed_late=True)
    start, end = month_bounds(settings)
    first, last = start.date(), (end - timedelta(days=1)).date()
    assert chips(page) == [f"时间：本月（{first} 至 {last}）"]
    for dim in FACET_DIMS:
        assert page.locator(f"#exp-side section.exp-facet[data-dim='{dim}']").is_visible(), dim
    # Each major category's facet count is the database's.
    cat_items = page.locator("section[data-dim='cat'] .exp-facet-item")
    facet = {
        cat_items.nth(i).get_attribute("title"): n_of(
            cat_items.nth(i).locator(".exp-facet-n").inner_text()
        )
        for i in range(cat_items.count())
    }
    expected = {category_name(settings, c): n for c, n in sql_majors(settings).items()}
    assert facet == expected
    late = page.locator("section[data-dim='clock'] .exp-facet-item[title='超期办结'] .exp-facet-n")
    assert n_of(late.inner_text()) == sql_count(settings, closed_late=True)
    wait_note(page, total)
    assert_clean(watch)


def test_facet_clicks_go_into_the_url_and_back_returns(live_server, explore):
    settings = live_server.settings
    page, watch = explore()
    total = sql_count(settings)
    wait_total(page, total)

    page.click("section[data-dim='clock'] .exp-facet-item[title='超期办结']")
    wait_query(page, {"clock": ["closed_late"]})
    late = sql_count(settings, closed_late=True)
    wait_total(page, late)

    major = busiest_late_major(settings)
    name = category_name(settings, major)
    page.click(f"section[data-dim='cat'] .exp-facet-item[title='{name}']")
    wait_query(page, {"clock": ["closed_late"], "cat": [major]})
    both = sql_count(settings, cat=major, closed_late=True)
    assert 0 < both < late
    wait_total(page, both)
    assert f"类别：{name}" in chips(page) and "时效：超期办结" in chips(page)
    assert page.locator(f"section[data-dim='cat'] .exp-facet-item.is-on[title='{name}']").count()
    wait_note(page, both)

    page.go_back()
    wait_query(page, {"clock": ["closed_late"]})
    wait_total(page, late)
    assert f"类别：{name}" not in chips(page)
    page.go_back()
    wait_query(page, {})
    wait_total(page, total)
    page.go_forward()
    wait_query(page, {"clock": ["closed_late"]})
    wait_total(page, late)
    assert_clean(watch)


def test_a_copied_link_reproduces_the_view_for_another_analyst(live_server, explore):
    settings = live_server.settings
    major = busiest_late_major(settings)
    page, watch = explore()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    wait_total(page, sql_count(settings))
    page.click("section[data-dim='clock'] .exp-facet-item[title='超期办结']")
    wait_query(page, {"clock": ["closed_late"]})
    wait_total(page, sql_count(settings, closed_late=True))
    page.click(f"section[data-dim='cat'] .exp-facet-item[title='{category_name(settings, major)}']")
    wait_query(page, {"clock": ["closed_late"], "cat": [major]})
    expected = sql_count(settings, cat=major, closed_late=True)
    wait_total(page, expected)
    first_chips, first_kpis = chips(page), kpis(page)

    page.click("#exp-share")
    page.wait_for_function(
        "() => document.querySelector('#exp-view-note').textContent.includes('链接已复制')",
        timeout=WAIT_MS,
    )
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.url

    other = add_user(settings, "analyst", DEMO_TOWN)
    page2, watch2 = explore(username=other)
    page2.goto(copied, wait_until="domcontentloaded")
    wait_query(page2, {"clock": ["closed_late"], "cat": [major]})
    wait_total(page2, expected)
    assert chips(page2) == first_chips
    assert kpis(page2) == first_kpis
    assert page2.locator("#exp-problems .exp-problems-box").count() == 0
    assert_clean(watch)
    assert_clean(watch2)


def test_an_area_outside_the_jurisdiction_is_named_and_not_shown(live_server, explore):
    settings = live_server.settings
    # The demo leader is bound to the town; its county is wider than that.
    county = DEMO_TOWN[:6]
    page, watch = explore(f"?area={county}", role="leader")
    wait_total(page, sql_count(settings))
    problems = page.inner_text("#exp-problems")
    assert "以下条件未能使用" in problems and county in problems
    assert not any(c.startswith("区域") for c in chips(page))

    # A leader bound to one community asks for its neighbour: the notice, and only their own.
    own, neighbour = communities(settings)[:2]
    assert sql_count(settings, area=own) != sql_count(settings, area=neighbour)
    leader = add_user(settings, "leader", own)
    page2, watch2 = explore(f"?area={neighbour}", username=leader)
    own_n = sql_count(settings, area=own)
    wait_total(page2, own_n)
    problems = page2.inner_text("#exp-problems")
    assert "以下条件未能使用" in problems and neighbour in problems
    assert not any(c.startswith("区域") for c in chips(page2))
    wait_note(page2, own_n)
    cells = wait_rows(page2, "(c, a) => c.split(' ').pop().startsWith(a)", own)
    assert cells and all(c.split()[-1].startswith(own) for c in cells), cells
    kids = page2.locator("#exp-children .exp-facet-item")
    titles = [kids.nth(i).get_attribute("title") for i in range(kids.count())]
    assert titles and all(t.startswith(own) for t in titles), titles
    assert_clean(watch)
    assert_clean(watch2)


def test_clicking_an_area_or_a_map_unit_filters_the_table(live_server, explore):
    settings = live_server.settings
    page, watch = explore()
    wait_total(page, sql_count(settings))
    area = communities(settings)[0]
    n = sql_count(settings, area=area)
    assert 0 < n < sql_count(settings)
    page.click(f"#exp-children .exp-facet-item[title='{area}']")
    wait_query(page, {"area": [area]})
    wait_total(page, n)
    wait_note(page, n)
    cells = wait_rows(page, "(c, a) => c.split(' ').pop().startsWith(a)", area)
    assert cells and all(c.split()[-1].startswith(area) for c in cells), cells
    assert any(c.startswith("区域：") for c in chips(page))
    assert table_rows(page, n) == n
    page.evaluate("document.querySelector('.ag-body-viewport').scrollTop = 0")

    # Now a grid of that community on the map: hover until its tooltip names one, click it.
    grid = None
    box = page.locator("#exp-map").bounding_box()
    assert box
    for fx, fy in ((0.5, 0.5), (0.4, 0.5), (0.6, 0.5), (0.5, 0.4), (0.5, 0.6), (0.35, 0.35)):
        x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
        page.mouse.move(x, y)
        page.mouse.move(x + 2, y + 2)
        try:
            page.wait_for_selector(".exp-tip", timeout=2_000)
        except PlaywrightTimeout:
            continue
        m = re.search(rf"\b({area}\d+)\b", page.inner_text(".exp-tip"))
        if m:
            grid = m.group(1)
            page.mouse.click(x + 2, y + 2)
            break
    assert grid, "no grid of the community under the map's middle"
    g = sql_count(settings, area=grid)
    wait_query(page, {"area": [grid]})
    wait_total(page, g)
    wait_note(page, g)
    if g:
        cells = wait_rows(page, "(c, a) => c.split(' ').pop() === a", grid)
        assert cells and all(c.split()[-1] == grid for c in cells), cells
    assert_clean(watch)


def test_a_ticket_drawer_shows_the_event_log_in_order(live_server, explore):
    settings = live_server.settings
    major = busiest_late_major(settings)
    page, watch = explore(f"?cat={major}&clock=closed_late")
    wait_total(page, sql_count(settings, cat=major, closed_late=True))
    row = page.locator(f"{ROWS}[row-index='0']")
    row.locator(".exp-col-ticket_no").wait_for(timeout=WAIT_MS)
    page.wait_for_function(
        f"() => document.querySelector(\"{ROWS}[row-index='0'] .exp-col-ticket_no\")"
        ".textContent.trim() !== ''",
        timeout=WAIT_MS,
    )
    ticket_no = row.locator(".exp-col-ticket_no").inner_text().strip()
    with connect(settings) as conn:
        ticket_id, events = conn.execute(
            "SELECT t.id::text, array(SELECT e.action FROM ticket_event e"
            "  WHERE e.ticket_id = t.id AND e.ticket_created_at = t.created_at"
            "  ORDER BY e.at, e.id) FROM ticket t WHERE t.ticket_no = %s",
            (ticket_no,),
        ).fetchone()
    # The table keys its rows by ticket id; a row click sends that id into the URL.
    assert row.get_attribute("row-id") == ticket_id, "the table's getRowId lost the ticket id"
    row.locator(".exp-col-ticket_no").click()
    wait_query(page, {"cat": [major], "clock": ["closed_late"], "ticket": [ticket_id]})
    page.wait_for_selector("#exp-drawer:not([hidden]) #exp-events", timeout=WAIT_MS)
    assert page.inner_text("#exp-drawer .exp-drawer-title") == ticket_no
    shown = page.eval_on_selector_all("#exp-events > li", "els => els.map(e => e.dataset.action)")
    assert len(events) > 2
    assert shown == events
    assert f"处置过程（{len(events)} 条日志）" in page.inner_text("#exp-drawer")
    assert "超期办结" in page.inner_text("#exp-drawer .exp-facts")

    # Closing the drawer takes the ticket out of the URL; the link with it reopens it.
    with_ticket = page.url
    page.click("#exp-drawer .exp-drawer-head button")
    wait_query(page, {"cat": [major], "clock": ["closed_late"]})
    page.wait_for_selector("#exp-drawer[hidden]", state="attached", timeout=WAIT_MS)
    page.goto(with_ticket, wait_until="domcontentloaded")
    page.wait_for_selector("#exp-drawer:not([hidden]) #exp-events", timeout=WAIT_MS)
    shown = page.eval_on_selector_all("#exp-events > li", "els => els.map(e => e.dataset.action)")
    assert shown == events
    assert_clean(watch)


def _export(page, button: str, suffix: str, tmp_path):
    """Click ``button``, wait for the finished job's link, download the file."""
    page.click(button)
    link = page.locator(f"#exp-export-link:has-text('{suffix}')")
    link.wait_for(timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(suffix), download.suggested_filename
    path = tmp_path / f"export{suffix}"
    download.save_as(path)
    return path, link.inner_text()


def _audited(settings, username: str, obj: str) -> tuple[int, str]:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT count, detail->>'format' FROM audit_event WHERE action = 'export'"
            " AND actor_name = %s AND object = %s AND outcome = 'ok' ORDER BY id DESC LIMIT 1",
            (username, obj),
        ).fetchone()
    assert row, f"no export of {obj} audited for {username}"
    return row


def test_exports_hold_the_tables_rows_and_are_audited(live_server, explore, tmp_path):
    settings = live_server.settings
    major = busiest_late_major(settings)
    page, watch = explore(f"?cat={major}")
    n = sql_count(settings, cat=major)
    wait_total(page, n)
    wait_note(page, n)
    username = live_server.users["analyst"]

    path, text = _export(page, "#exp-export-csv", ".csv", tmp_path)
    assert f"（{n:,} 行）" in text
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0] == "事件编号"
    assert len(rows) - 1 == table_note_count(page) == table_rows(page, n) == n
    assert {r[0] for r in rows[1:]} == sql_ticket_nos(settings, cat=major)
    assert all(r[2].startswith(major) for r in rows[1:])
    assert _audited(settings, username, "tickets.csv") == (n, "csv")

    path, text = _export(page, "#exp-export-xlsx", ".xlsx", tmp_path)
    assert f"（{n:,} 行）" in text
    wb = load_workbook(path, read_only=True)
    try:
        assert wb.sheetnames == ["事件", "筛选条件"]
        data = list(wb["事件"].iter_rows(values_only=True))
        meta = {r[0]: r[1] for r in wb["筛选条件"].iter_rows(values_only=True)}
    finally:
        wb.close()
    assert data[0][0] == "事件编号"
    assert len(data) - 1 == table_note_count(page) == n
    assert {r[0] for r in data[1:]} == sql_ticket_nos(settings, cat=major)
    assert meta["事件数"] == str(n) and meta["导出人"] and meta["导出时间"]
    assert major in meta.get("cat", "")
    assert _audited(settings, username, "tickets.xlsx") == (n, "xlsx")
    assert_clean(watch)


def test_the_wall_may_not_open_the_workbench(live_server, browser):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        sign_in(page, live_server, "wall")
        resp = page.goto(live_server.url + "/explore", wait_until="domcontentloaded")
        assert resp.status == 403
        assert "无权访问" in page.inner_text("body")
        assert page.locator("#exp-kpis").count() == 0
        # Nor its data: a callback of the page, posted with the wall's session, is refused.
        body = {
            "output": "exp-kpis.children",
            "outputs": {"id": "exp-kpis", "property": "children"},
            "inputs": [{"id": "exp-url", "property": "search", "value": ""}],
            "changedPropIds": ["exp-url.search"],
            "state": [],
        }
        resp = page.request.post(
            live_server.url + "/_dash-update-component",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status == 403
        assert "无权访问" in resp.text()
    finally:
        ctx.close()


def test_a_removed_map_ignores_late_animation_steps(explore):
    """Leaflet's timers and animation frames can fire on a map Dash has removed meanwhile
    (back/forward during a zoom): the guards in assets/20_layers.js make them no-ops instead of
    "reading '_leaflet_pos'" errors."""
    page, watch = explore()
    pos = page.evaluate(
        """() => {
            const div = document.createElement("div");
            div.style.width = "200px";
            div.style.height = "200px";
            document.body.appendChild(div);
            const m = window.L.map(div).setView([30.75, 120.75], 12);
            m.remove();
            m._animatingZoom = true;
            m._onZoomTransitionEnd();
            const p = m._getMapPanePos();
            div.remove();
            return [p.x, p.y];
        }"""
    )
    assert pos == [0, 0]
    assert_clean(watch)
