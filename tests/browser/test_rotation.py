"""A wall's rotation in Debian's chromium against the real server: the wall link's playlist
("overdue:10,towns:10", the shortest durations the grammar allows) shows the overdue board with
the counts SQL gives, then the town's first community, with the feeds asked for that unit; a
key press pauses the rotation. No console errors, no request to another host."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from dashboard.screen.board import ROWS
from gridscope.auth.walls import secret_hash
from queries import accounts
from queries import walls as wall_queries
from queries.db import connect
from tests.conftest import DEMO_NOW

TOWN = "330402007"

COUNTS_SQL = """
SELECT count(*) FILTER (WHERE stage_due_at < %(now)s),
       count(*) FILTER (WHERE stage_due_at > %(now)s)
  FROM ticket
 WHERE state NOT IN ('closed', 'surveyed', 'rejected', 'suspended')
   AND grid_code LIKE %(like)s AND stage_warn_at <= %(now)s
"""


def status_text(page) -> str:
    return page.eval_on_selector(".gs-rotation-status", "e => e.textContent")


def feed_units(watch, panel: str) -> list[str | None]:
    """The ``unit`` of every request the page made to /feed/<panel>, in order."""
    out = []
    for url in watch.requests:
        parts = urlsplit(url)
        if parts.path == f"/feed/{panel}":
            out.append(parse_qs(parts.query).get("unit", [None])[0])
    return out


def test_the_wall_rotates_through_its_playlist(page_at, live_server):
    settings = live_server.settings
    token = live_server.wall_path.removeprefix("/wall/")
    with connect(settings) as conn:
        wall = accounts.wall_by_hash(conn, secret_hash(token))
        assert wall is not None
        assert wall_queries.set_playlist(conn, wall.id, "overdue:10,towns:10")
        first, name = conn.execute(
            "SELECT code, name FROM region WHERE level = 'community' AND parent_code = %s"
            " AND valid_to IS NULL ORDER BY code LIMIT 1",
            (TOWN,),
        ).fetchone()
        n_views = (
            1
            + conn.execute(
                "SELECT count(*) FROM region WHERE level = 'community' AND parent_code = %s"
                " AND valid_to IS NULL",
                (TOWN,),
            ).fetchone()[0]
        )
        params = {"now": DEMO_NOW, "like": TOWN + "%"}
        overdue, warning = conn.execute(COUNTS_SQL, params).fetchone()
        conn.commit()

    page, watch = page_at(live_server.url + "/screen")

    # Step 1: the overdue board over the side columns, counts equal to SQL.
    page.wait_for_function(
        "() => { const e = document.querySelector('.gs-rotation-status');"
        " return e && e.textContent.includes('轮播 1/'); }",
        timeout=30_000,
    )
    assert status_text(page).startswith(f"轮播 1/{n_views} · 超期督办榜")
    page.wait_for_selector("#gs-board:not([hidden]) .gs-board-count", timeout=20_000)
    counts = page.eval_on_selector_all(".gs-board-count", "els => els.map(e => e.textContent)")
    assert counts == [f"{overdue} 件", f"{warning} 件"]
    rows = page.eval_on_selector_all(".gs-board-side--left .gs-board-row", "els => els.length")
    assert rows == min(ROWS, overdue) > 0
    assert feed_units(watch, "board") and set(feed_units(watch, "board")) == {None}

    # Step 2, ten seconds later: the town's first community; the feeds follow it.
    page.wait_for_function(
        "() => document.querySelector('.gs-rotation-status').textContent.includes('轮播 2/')",
        timeout=20_000,
    )
    assert status_text(page) == f"轮播 2/{n_views} · 建设街道 {name}"
    page.wait_for_function(
        "code => performance.getEntriesByType('resource').some(r =>"
        " r.name.includes('/feed/counters?') && r.name.includes('unit=' + code))",
        arg=first,
        timeout=10_000,
    )
    assert page.eval_on_selector("#gs-board", "e => e.hidden") is True
    assert first in feed_units(watch, "counters") and first in feed_units(watch, "ticker")
    assert page.text_content("#gs-jurisdiction") == f"建设街道 {name}"
    assert not any(u and not u.startswith(TOWN) for p in ("counters", "ticker", "board")
                   for u in feed_units(watch, p))  # fmt: skip

    # Someone at the wall: the rotation stops and says for how long.
    page.keyboard.press("Shift")
    assert "轮播暂停" in status_text(page) and "秒后继续" in status_text(page)
    assert page.evaluate("() => window.gridscope.rotation.state().paused") is True

    assert watch.console_errors == [] and watch.page_errors == []
    assert watch.external() == []
