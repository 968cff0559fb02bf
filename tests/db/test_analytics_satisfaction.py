"""The satisfaction panel (queries.analytics.satisfaction, dashboard.analytics.satisfaction) on
survey rows inserted directly, with known answers: 满意率 and its 环比, the split by channel
and by major category, the unsatisfied tickets newest first, the scope, the period's bounds,
and comments hidden below the personal-data tier."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from dashboard.analytics import satisfaction as panel
from domain.analytics.periods import parse_period
from queries.analytics import satisfaction
from queries.analytics.query import Query
from queries.db import connect
from queries.item_list import seed_defaults
from queries.scope import Scope
from tests.conftest import DEMO_NOW

SH = ZoneInfo("Asia/Shanghai")
SQUARE = "MULTIPOLYGON(((120.75 30.75, 120.76 30.75, 120.76 30.76, 120.75 30.76, 120.75 30.75)))"
GA, GB, GX = "330402001001001", "330402002001001", "330403001001001"
_ids = itertools.count(1)
COMMENT = "办事员张三态度差，电话13812341234一直没人接"


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


def survey(conn, grid, cat, when, channel, result, comment=None, ticket_no=None):
    """A survey row; with ``ticket_no`` also the ticket it surveys (for the number shown)."""
    created = when.replace(day=1, hour=0) if when.day > 1 else when
    tid = next(_ids)
    if ticket_no:
        tid = conn.execute(
            "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency, state,"
            " grid_code, geom, updated_at) VALUES (%s, %s, 'hotline', %s, 'normal', 'surveyed',"
            " %s, ST_SetSRID(ST_MakePoint(120.755, 30.755), 4326), %s) RETURNING id",
            (created, ticket_no, cat, grid, created),
        ).fetchone()[0]
    else:
        tid += 1_000_000
    conn.execute(
        "INSERT INTO survey (ticket_id, ticket_created_at, grid_code, category_code, at,"
        " channel, result, comment) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (tid, created, grid, cat, when, channel, result, comment),
    )


@pytest.fixture
def data(fresh_db):
    with connect(fresh_db) as conn:
        seed_defaults(conn)
        for g, name in ((GA, "东栅第1网格"), (GB, "新丰第1网格"), (GX, "外区网格")):
            conn.execute(
                "INSERT INTO grid (code, name, community_code, grid_type, geom) VALUES"
                " (%s, %s, %s, 'comprehensive', ST_GeomFromText(%s, 4326))",
                (g, name, g[:12], SQUARE),
            )
        # October in 330402: phone 6 + 2 basic + 2 unsatisfied (0901), sms 3 + 1 unsatisfied
        # (0601), app 1 basic (0402): 12 of 15 satisfied. September: 4 of 6.
        for i in range(6):
            survey(conn, GA, "0901", at(10, 3 + i), "phone", "satisfied")
        survey(conn, GA, "0901", at(10, 1, 0), "phone", "basic")  # the period's first instant
        survey(conn, GB, "0901", at(10, 12), "phone", "basic")
        survey(conn, GA, "0901", at(10, 20), "phone", "unsatisfied", COMMENT, "JX202610200001")
        survey(conn, GB, "0902", at(10, 28), "phone", "unsatisfied", None, "JX202610280001")
        for i in range(3):
            survey(conn, GB, "0601", at(10, 5 + i), "sms", "satisfied")
        survey(
            conn, GA, "0601", at(10, 31, 23, 59), "sms", "unsatisfied", "没解决", "JX202610310001"
        )
        survey(conn, GB, "0402", at(10, 9), "app", "basic")
        # Not October in 330402: the instant October ends, another district, September.
        survey(conn, GA, "0901", datetime(2026, 11, 1, tzinfo=SH), "phone", "unsatisfied")
        for i in range(5):
            survey(conn, GX, "0901", at(10, 10 + i), "phone", "unsatisfied", "外区")
        for i in range(4):
            survey(conn, GA, "0901", at(9, 3 + i), "phone", "satisfied")
        survey(conn, GA, "0901", at(9, 20), "phone", "unsatisfied")
        survey(conn, GB, "0901", at(9, 21), "phone", "unsatisfied")
        conn.commit()
    return fresh_db


def run(settings, prefix="330402", period="2026-10") -> dict:
    q = Query(Scope(prefix), parse_period(period).cut(DEMO_NOW, SH), DEMO_NOW, SH, settings)
    with connect(settings) as conn:
        out = satisfaction.compute(conn, q)
    orjson.dumps(out)  # the shell caches it as JSON
    return out


def test_rate_change_channels_and_categories(data):
    out = run(data)
    t = out["total"]
    assert (t["surveyed"], t["satisfied"], t["basic"], t["unsatisfied"]) == (15, 9, 3, 3)
    assert t["numerator"] == 12 and t["rate"] == pytest.approx(12 / 15)
    assert t["previous_surveyed"] == 6 and t["previous_rate"] == pytest.approx(4 / 6)
    assert t["change"] == pytest.approx(12 / 15 - 4 / 6)
    ch = {c["key"]: c for c in out["channels"]}
    assert [c["key"] for c in out["channels"]] == ["phone", "sms", "app"]
    assert ch["phone"]["name"] == "电话回访" and ch["phone"]["rate"] == pytest.approx(0.8)
    assert ch["phone"]["change"] == pytest.approx(0.8 - 4 / 6)
    assert ch["sms"]["rate"] == pytest.approx(0.75) and ch["sms"]["previous_rate"] is None
    assert ch["sms"]["change"] is None  # no September base
    assert ch["app"]["rate"] == 1.0
    cats = {c["key"]: c for c in out["categories"]}
    assert [c["key"] for c in out["categories"]] == ["04", "06", "09"]  # minor -> major
    assert (cats["09"]["name"], cats["09"]["surveyed"], cats["09"]["numerator"]) == (
        "城市管理",
        10,
        8,
    )
    assert cats["06"]["name"] == "安全隐患排查"
    tables = out["tables"]
    assert set(tables) == {"by_channel", "by_category", "unsatisfied"}
    assert tables["by_channel"]["rows"][0][:5] == ["电话回访", 10, 6, 2, 2]


def test_unsatisfied_tickets_newest_first_with_numbers_and_limit(data, monkeypatch):
    out = run(data)
    u = out["unsatisfied"]
    assert u["count"] == 3
    assert [r["ticket_no"] for r in u["rows"]] == [
        "JX202610310001",
        "JX202610280001",
        "JX202610200001",
    ]
    last = u["rows"][0]
    # Surveyed at 23:59 local on 31 October: the local date, not the UTC one.
    assert last["date"] == "2026-10-31" and last["channel_name"] == "短信回访"
    assert last["category"] == "消防隐患" and last["grid"] == "东栅第1网格"
    assert u["rows"][2]["comment"] == COMMENT  # compute() keeps it; the page decides
    t = out["tables"]["unsatisfied"]
    assert t["personal"] == ["comment"] and len(t["rows"]) == 3
    assert t["title"] == "不满意事件（2026年10月，共 3 件）"
    monkeypatch.setattr(satisfaction, "UNSATISFIED_MAX", 2)
    capped = run(data)
    assert len(capped["unsatisfied"]["rows"]) == 2 and capped["unsatisfied"]["count"] == 3
    assert capped["tables"]["unsatisfied"]["title"].endswith("共 3 件，列出最近 2 件）")


def test_scope_and_an_empty_period(data):
    town = run(data, prefix="330402001")
    assert town["total"]["surveyed"] == 6 + 1 + 1 + 1  # GA only
    assert town["total"]["unsatisfied"] == 2
    outside = run(data, prefix="330403")
    assert outside["total"]["unsatisfied"] == 5 and outside["total"]["rate"] == 0.0
    empty = run(data, period="2026-06")
    assert empty["total"]["rate"] is None and empty["total"]["change"] is None
    assert empty["channels"] == [] and empty["unsatisfied"]["rows"] == []


def _texts(component) -> list[str]:
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return []
    out = []
    for c in children if isinstance(children, list | tuple) else [children]:
        out.extend(_texts(c))
    return out


def _find(component, pred) -> list:
    found = [component] if pred(component) else []
    children = getattr(component, "children", None)
    if isinstance(children, list | tuple):
        for c in children:
            found.extend(_find(c, pred))
    elif children is not None and not isinstance(children, str):
        found.extend(_find(children, pred))
    return found


def test_render_hides_comments_below_l3_and_links_tickets(data):
    out = run(data)
    view = {"area": "330402", "period": "2026-10", "scale": 1.0, "tier": "L2", "may_export": True}
    page = panel.render(out, view)
    text = "".join(_texts(page))
    assert "80.0%" in text and "环比 ▲+13.3个百分点" in text
    assert "（已隐藏）" in text and "张三" not in text and "13812341234" not in text
    value = _find(page, lambda c: "sit-sat-value" in (getattr(c, "className", "") or ""))[0]
    assert "12 ÷ 15" in value.title
    links = [a.href for a in _find(page, lambda c: type(c).__name__ == "A")]
    assert any("ticket=" in h and f"area={GA}" in h for h in links)
    assert any("cat=09" in h for h in links)
    ids = [c.id for c in _find(page, lambda c: getattr(c, "id", None))]
    assert ids == ["sit-satisfaction-panel"]
    l3 = "".join(_texts(panel.render(out, view | {"tier": "L3"})))
    assert COMMENT in l3 and "（已隐藏）" not in l3
    empty = "".join(_texts(panel.render(run(data, period="2026-06"), view)))
    assert "本期无回访" in empty and "—" in empty
