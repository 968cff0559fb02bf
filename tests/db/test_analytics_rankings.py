"""The rankings panel (queries.analytics.rankings, dashboard.analytics.rankings) on a constructed
dataset with known answers: rollup rows and tickets and tasks inserted directly, so every rank,
rate, change and reason below is worked out by hand.

Territory: county 330402 with towns T1 (communities C11: grids G111, G112; C12: G121), T2 (C21:
G211), T3 (C31: G311), and county 330403 with one town, community and grid (outside the scope
330402). Period October 2026 (its end E = 1 November 00:00 local), previous September.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from dashboard.analytics import rankings as panel
from domain.analytics.periods import parse_period
from queries.analytics import backlog, rankings, task_backlog
from queries.analytics.query import Query
from queries.db import connect
from queries.scope import Scope
from tests.conftest import DEMO_NOW

TZ = ZoneInfo("Asia/Shanghai")

SH = ZoneInfo("Asia/Shanghai")
SQUARE = "MULTIPOLYGON(((120.75 30.75, 120.76 30.75, 120.76 30.76, 120.75 30.76, 120.75 30.75)))"
T1, T2, T3, TX = "330402001", "330402002", "330402003", "330403001"
C11, C12, C21, C31, CX = T1 + "001", T1 + "002", T2 + "001", T3 + "001", TX + "001"
G111, G112, G121, G211, G311, GX = (
    C11 + "001",
    C11 + "002",
    C12 + "001",
    C21 + "001",
    C31 + "001",
    CX + "001",
)
E_OCT = datetime(2026, 11, 1, tzinfo=SH)
_no = itertools.count(1)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def ticket(conn, grid, created, due=None, closed=None, state="in_progress") -> tuple[int, datetime]:
    return conn.execute(
        "INSERT INTO ticket (created_at, ticket_no, source, category_code, urgency, state,"
        " grid_code, geom, due_at, closed_at, updated_at) VALUES (%s, %s, 'patrol', '0901',"
        " 'normal', %s, %s, ST_SetSRID(ST_MakePoint(120.755, 30.755), 4326), %s, %s, %s)"
        " RETURNING id, created_at",
        (created, f"T{next(_no):08d}", state, grid, due, closed, created),
    ).fetchone()


def task(conn, t, dept, due, finished=None, state="signed"):
    conn.execute(
        "INSERT INTO ticket_task (ticket_id, ticket_created_at, department_id, role, state,"
        " dispatched_at, due_at, original_due_at, finished_at) VALUES (%s, %s, %s, 'lead', %s,"
        " %s, %s, %s, %s)",
        (t[0], t[1], dept, state, t[1], due, due, finished),
    )


def stat(conn, day, grid, cat="0901", **counts):
    cols = ", ".join(counts)
    conn.execute(
        f"INSERT INTO stat_daily (day, grid_code, category_code, {cols})"  # noqa: S608
        f" VALUES (%s, %s, %s, {', '.join(['%s'] * len(counts))})",
        (day, grid, cat, *counts.values()),
    )


@pytest.fixture
def data(fresh_db):
    with connect(fresh_db) as conn:
        regions = [
            ("330402", "南湖区", "county", "3304"),
            ("330403", "秀洲区", "county", "3304"),
            (T1, "一镇", "town", "330402"),
            (T2, "二镇", "town", "330402"),
            (T3, "三街道", "town", "330402"),
            (TX, "外镇", "town", "330403"),
            (C11, "一一社区", "community", T1),
            (C12, "一二社区", "community", T1),
            (C21, "二一社区", "community", T2),
            (C31, "三一社区", "community", T3),
            (CX, "外社区", "community", TX),
        ]
        for code, name, level, parent in regions:
            conn.execute(
                "INSERT INTO region (code, name, level, parent_code) VALUES (%s, %s, %s, %s)",
                (code, name, level, parent),
            )
        for g in (G111, G112, G121, G211, G311, GX):
            conn.execute(
                "INSERT INTO grid (code, name, community_code, grid_type, geom) VALUES"
                " (%s, %s, %s, 'comprehensive', ST_GeomFromText(%s, 4326))",
                (g, "网格" + g[-6:], g[:12], SQUARE),
            )
        # October: closings per grid (split over days and categories), and September.
        stat(conn, date(2026, 10, 3), G111, closed=6, closed_on_time=5, reworked=1)
        stat(conn, date(2026, 10, 31), G111, "0402", closed=4, closed_on_time=3)
        stat(conn, date(2026, 10, 9), G112, closed=10, closed_on_time=9)
        stat(conn, date(2026, 10, 1), G211, closed=20, closed_on_time=20)
        stat(conn, date(2026, 10, 15), G311, closed=5, closed_on_time=2, reworked=2)
        stat(conn, date(2026, 10, 15), GX, closed=100, closed_on_time=100)
        stat(conn, date(2026, 10, 20), G121, created=7)  # nothing to rank
        stat(conn, date(2026, 9, 30), G111, closed=10, closed_on_time=5)
        stat(conn, date(2026, 9, 12), G211, closed=10, closed_on_time=9)
        stat(conn, date(2026, 9, 2), G311, closed=10, closed_on_time=10)
        stat(conn, date(2026, 11, 1), G311, closed=50, closed_on_time=0)  # after October
        # Open past their due time at E: G111 three (one closed exactly at E: not an October
        # closing, so still open then), G121 one (also at the end of September), G311 five.
        ticket(conn, G111, at(10, 20), due=at(10, 25))
        ticket(conn, G111, at(10, 1, 5), due=at(10, 10), closed=at(11, 3))
        ticket(conn, G111, at(10, 1), due=at(10, 15), closed=E_OCT, state="closed")
        ticket(conn, G121, at(9, 20), due=at(9, 25))
        for _ in range(5):
            ticket(conn, G311, at(10, 2), due=at(10, 5))
        ticket(conn, GX, at(10, 2), due=at(10, 5))
        # Not open past due at E: rejected, closed before E, due after E, created after E.
        ticket(conn, G111, at(10, 2), due=at(10, 10), state="rejected")
        ticket(conn, G111, at(10, 2), due=at(10, 10), closed=at(10, 20), state="closed")
        ticket(conn, G111, at(10, 30), due=at(11, 5))
        ticket(conn, G111, at(11, 2), due=at(11, 3))
        # Departments: task rollups, and tasks open past due at E.
        depts = {}
        for code, name in (("D1", "城管局"), ("D2", "市场监管局"), ("D3", "外区部门")):
            depts[code] = conn.execute(
                "INSERT INTO department (code, name, kind, region_code) VALUES"
                " (%s, %s, 'linked', '330402') RETURNING id",
                (code, name),
            ).fetchone()[0]
        d1, d2, d3 = depts["D1"], depts["D2"], depts["D3"]
        for day, dept, grid, counts in (
            (date(2026, 10, 5), d1, G111, (10, 1, 8, 6, 1)),
            (date(2026, 10, 6), d1, G211, (5, 0, 5, 5, 0)),
            (date(2026, 10, 7), d2, G112, (4, 2, 4, 4, 0)),
            (date(2026, 10, 7), d3, GX, (9, 0, 9, 9, 0)),
            (date(2026, 9, 7), d1, G111, (5, 0, 5, 5, 0)),
            (date(2026, 9, 8), d2, G112, (4, 0, 4, 2, 0)),
        ):
            conn.execute(
                "INSERT INTO stat_task_daily (day, department_id, grid_code, dispatched,"
                " returned, finished, finished_on_time, reworked) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s)",
                (day, dept, grid, *counts),
            )
        quiet = ticket(conn, G111, at(10, 3))  # no due time of its own
        outside = ticket(conn, GX, at(10, 3))
        task(conn, quiet, d1, due=at(10, 8))  # open past due at E
        task(
            conn, quiet, d1, due=at(10, 8), finished=at(11, 2), state="feedback"
        )  # finished after E
        task(conn, quiet, d2, due=at(10, 8), state="cancelled")
        task(conn, quiet, d2, due=at(11, 8))
        task(conn, quiet, d2, due=at(10, 8), finished=at(10, 20), state="feedback")
        task(conn, outside, d3, due=at(10, 8))
        # Workers.
        staff = {}
        for no, name in (("S1", "张三丰"), ("S2", "李四"), ("S3", "王五")):
            staff[no] = conn.execute(
                "INSERT INTO staff (staff_no, name, role, region_code) VALUES"
                " (%s, %s, 'fulltime_worker', %s) RETURNING id",
                (no, name, C11),
            ).fetchone()[0]
        # S1 is the worker of G111 and also chief of G112 (its own role's grid is shown).
        for who, grid, role in (
            ("S1", G112, "grid_chief"),
            ("S1", G111, "fulltime_worker"),
            ("S2", G211, "fulltime_worker"),
        ):
            conn.execute(
                "INSERT INTO staff_assignment (staff_id, grid_code, role) VALUES (%s, %s, %s)",
                (staff[who], grid, role),
            )
        for day, who, grid, counts in (
            (date(2026, 10, 4), "S1", G111, (10, 5, 5, 5, 4, 4)),
            (date(2026, 10, 5), "S1", G112, (1, 0, 0, 0, 0, 0)),
            (date(2026, 10, 4), "S2", G211, (4, 0, 4, 2, 0, 0)),
            (date(2026, 10, 4), "S3", GX, (9, 9, 0, 0, 0, 0)),
            (date(2026, 9, 4), "S1", G111, (2, 0, 2, 0, 0, 0)),
            (date(2026, 9, 4), "S2", G211, (2, 2, 0, 0, 0, 0)),
        ):
            conn.execute(
                "INSERT INTO stat_worker_daily (day, staff_id, grid_code, discovered,"
                " self_resolved, reported, reported_on_time, verify_due, verified_on_time)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (day, staff[who], grid, *counts),
            )
        conn.commit()
    return fresh_db, depts, staff


def run(settings, prefix: str, period: str = "2026-10", **overrides) -> dict:
    if overrides:
        settings = settings.model_copy(update=overrides)
    q = Query(Scope(prefix), parse_period(period).cut(DEMO_NOW, SH), DEMO_NOW, SH, settings)
    with connect(settings) as conn:
        out = rankings.compute(conn, q)
    orjson.dumps(out)  # the shell caches it as JSON
    return out


def level(out: dict, key: str) -> dict:
    return next(lv for lv in out["levels"] if lv["key"] == key)


def by_code(lv: dict) -> dict:
    return {r["code"]: r for r in lv["rows"]}


def test_towns_rank_by_composite_with_known_counts_changes_and_reasons(data):
    settings, _, _ = data
    out = run(settings, "330402")
    assert [lv["key"] for lv in out["levels"]] == [
        "towns",
        "communities",
        "grids",
        "departments",
        "workers",
    ]
    assert out["previous"] == "2026-09" and out["at"] == E_OCT.isoformat()
    towns = level(out, "towns")
    assert [r["code"] for r in towns["rows"]] == [T2, T1, T3]  # 330403001 is outside
    t1, t2, t3 = (by_code(towns)[c] for c in (T1, T2, T3))
    # T1: closed 20 (on time 17, reworked 1), open past due at E 3 + 1.
    assert (t1["closed"], t1["closed_on_time"], t1["reworked"], t1["open_past_due"]) == (
        20,
        17,
        1,
        4,
    )
    assert t1["due_to_close"] == 24
    assert t1["closure_rate"] == pytest.approx(20 / 24)
    assert t1["on_time_rate"] == pytest.approx(17 / 24)
    assert t1["rework_rate"] == pytest.approx(1 / 20)
    assert t1["score"] == pytest.approx(100 * (0.4 * 20 / 24 + 0.5 * 17 / 24 + 0.1 * 0.95))
    assert t2["score"] == pytest.approx(100.0)
    assert t3["score"] == pytest.approx(100 * (0.4 * 0.5 + 0.5 * 0.2 + 0.1 * 0.6))
    # September: T3 100, T2 95, T1 (10 closed, 5 on time, G121 open past due since 25 Sep)
    # 100 × (0.4 × 10/11 + 0.5 × 5/11 + 0.1): every town moved.
    assert (t2["prev_rank"], t2["rank_move"]) == (2, 1)
    assert (t1["prev_rank"], t1["rank_move"]) == (3, 1)
    assert (t3["prev_rank"], t3["rank_move"]) == (1, -2)
    prev_t1 = 100 * (0.4 * 10 / 11 + 0.5 * 5 / 11 + 0.1)
    assert t1["score_change"] == pytest.approx(t1["score"] - prev_t1)
    # Biggest riser (one in three): T1 and T2 both rose one place, T1 by more points.
    assert (t1["move"], t2["move"], t3["move"]) == ("up", None, "down")
    # Behind: the last two (never all three); the reason is the largest weighted shortfall
    # against the pooled October values (closed 45, on time 39, open past due 9).
    assert towns["behind"] == [T1, T3]
    assert t3["why"] == "按期结案率 20.0%，低于平均 52.2个百分点"
    assert t1["why"] == "按期结案率 70.8%，低于平均 1.4个百分点"
    assert towns["average"]["on_time_rate"] == pytest.approx(39 / 54)


def test_communities_grids_and_the_export_tables(data):
    settings, _, _ = data
    out = run(settings, "330402")
    assert [r["code"] for r in level(out, "communities")["rows"]] == [C21, C11, C31, C12]
    grids = level(out, "grids")
    assert [r["code"] for r in grids["rows"]] == [G211, G112, G111, G311, G121]
    g121 = by_code(grids)[G121]
    # Nothing closed, one open past due: closure and on-time 0, rework undefined (not 0 %).
    assert (g121["closure_rate"], g121["on_time_rate"], g121["rework_rate"]) == (0.0, 0.0, None)
    t = out["tables"]["grids"]
    keys = [c[0] for c in t["columns"]]
    assert keys[:3] == ["rank", "code", "name"] and "composite" in keys and "why" in keys
    assert [r[keys.index("code")] for r in t["rows"]] == [G211, G112, G111, G311, G121]
    assert t["rows"][0][keys.index("composite")] == pytest.approx(100.0)
    assert set(out["tables"]) == {"towns", "communities", "grids", "departments", "workers"}


def test_levels_below_a_town_and_a_grid_and_the_whole_database(data):
    settings, _, _ = data
    town = run(settings, T1)
    assert [lv["key"] for lv in town["levels"]] == [
        "communities",
        "grids",
        "departments",
        "workers",
    ]
    assert [r["code"] for r in level(town, "grids")["rows"]] == [G112, G111, G121]
    grid = run(settings, G111)
    assert [lv["key"] for lv in grid["levels"]] == ["departments", "workers"]
    everything = run(settings, "")
    # 330403001: 100 closed on time, one open past due: 99.5, second after T2.
    assert [r["code"] for r in level(everything, "towns")["rows"]] == [T2, TX, T1, T3]
    assert everything["notes"] == []


def test_departments_rank_over_tasks_in_the_scope(data):
    settings, depts, _ = data
    out = run(settings, "330402")
    lv = level(out, "departments")
    rows = by_code(lv)
    d1, d2 = rows[str(depts["D1"])], rows[str(depts["D2"])]
    assert str(depts["D3"]) not in rows  # its tasks are outside the scope
    # D1: finished 13 (11 on time, 1 reworked), two tasks open past due at E (one finished
    # after E); cancelled, not yet due and finished-before-E tasks do not count.
    assert (d1["finished"], d1["finished_on_time"], d1["open_past_due"]) == (13, 11, 2)
    assert d1["closure_rate"] == pytest.approx(13 / 15)
    assert d1["on_time_rate"] == pytest.approx(11 / 15)
    assert d1["rework_rate"] == pytest.approx(1 / 13)
    assert d1["return_rate"] == pytest.approx(1 / 15)
    assert d2["open_past_due"] == 0 and d2["return_rate"] == pytest.approx(0.5)
    assert [r["code"] for r in lv["rows"]] == [str(depts["D2"]), str(depts["D1"])]
    assert (d2["rank_move"], d1["rank_move"]) == (1, -1)
    assert d1["name"] == "城管局" and lv["behind"] == [str(depts["D1"])]
    t = out["tables"]["departments"]
    assert [c[0] for c in t["columns"]][:2] == ["rank", "name"]


def test_workers_rank_by_the_worker_score_and_names_are_personal(data):
    settings, _, staff = data
    out = run(settings, "330402")
    lv = level(out, "workers")
    rows = by_code(lv)
    s1, s2 = rows[str(staff["S1"])], rows[str(staff["S2"])]
    assert str(staff["S3"]) not in rows
    assert s1["grid_code"] == G111 and s1["role"] == "专职网格员"
    assert s1["score"] == pytest.approx(100 * (0.4 * 1.0 + 0.3 * 1.0 + 0.3 * 0.5))
    # Nothing due for verification: the other weights scaled up.
    assert s2["verify_on_time_rate"] is None
    assert s2["score"] == pytest.approx(100 * 0.4 * 0.5 / 0.7)
    assert [r["code"] for r in lv["rows"]] == [str(staff["S1"]), str(staff["S2"])]
    t = out["tables"]["workers"]
    assert t["personal"] == ["name"]
    names = [r[[c[0] for c in t["columns"]].index("name")] for r in t["rows"]]
    assert names == ["张三丰", "李四"]
    # The weights come from the settings.
    only_self = run(settings, "330402", worker_ranking_weights=(0.0, 0.0, 1.0))
    assert by_code(level(only_self, "workers"))[str(staff["S1"])]["score"] == pytest.approx(50.0)


def test_ties_break_by_on_time_rate_and_weights_come_from_settings(data):
    settings, _, _ = data
    with connect(settings) as conn:
        # G112 and G211 in November: the same closure (1) and rework (0); on-time differs.
        stat(conn, date(2026, 11, 2), G112, closed=10, closed_on_time=5)
        stat(conn, date(2026, 11, 2), G211, closed=10, closed_on_time=9)
        conn.commit()
    out = run(settings, T1[:6], period="2026-11-01..2026-11-10", ranking_weights=(0.9, 0.0, 0.1))
    grids = by_code(level(out, "grids"))
    assert grids[G112]["score"] == grids[G211]["score"] == pytest.approx(100.0)
    assert grids[G211]["rank"] < grids[G112]["rank"]
    assert out["formula"] == "100 ×（0.9 结案率 + 0 按期结案率 + 0.1（1 − 返工率））"


def _texts(component) -> list[str]:
    out = []
    if isinstance(component, str):
        return [component]
    children = getattr(component, "children", None)
    if children is None:
        return out
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


def test_render_tabs_links_marks_and_masking(data):
    settings, depts, _ = data
    out = run(settings, "330402")
    view = {"area": "330402", "period": "2026-10", "scale": 1.0, "tier": "L2", "may_export": True}
    page = panel.render(out, view)
    tabs = _find(page, lambda c: type(c).__name__ == "Tab")
    assert [t.value for t in tabs] == ["towns", "communities", "grids", "departments", "workers"]
    assert tabs[0].label == "镇街（3）"
    text = "".join(_texts(page))
    assert "张**" in text and "张三丰" not in text  # L2: names masked
    assert "按期结案率 20.0%，低于平均 52.2个百分点" in text
    rows = _find(page, lambda c: "sit-rank-row" in (getattr(c, "className", "") or ""))
    behind = [r for r in rows if "is-behind" in r.className]
    assert len(behind) == 2 + 3 + 4 + 1 + 1  # towns, communities, grids, departments, workers
    links = [a.href for a in _find(page, lambda c: type(c).__name__ == "A")]
    assert any(
        h.startswith("/explore?") and f"area={T3}" in h and "basis=closed" in h for h in links
    )
    assert any(f"dept={depts['D1']}" in h for h in links)
    ids = [c.id for c in _find(page, lambda c: getattr(c, "id", None))]
    assert ids and all(i.startswith("sit-rankings-") for i in ids)
    l3 = "".join(_texts(panel.render(out, view | {"tier": "L3"})))
    assert "张三丰" in l3
    assert "↑1" in text and "↓2" in text


def test_tasks_open_past_due_now_agree_with_the_span_count(data):
    settings, depts, _ = data
    # November, cut at DEMO_NOW: the stock is counted from the open tasks (the live path).
    out = run(settings, "330402", period="2026-11")
    rows = by_code(level(out, "departments"))
    # D1's task due 8 October is still open; D2's task due 8 November is open and now late.
    assert rows[str(depts["D1"])]["open_past_due"] == 1
    assert rows[str(depts["D2"])]["open_past_due"] == 1
    p = {"like": Scope("330402").like, "at": DEMO_NOW}
    with connect(settings) as conn:
        span = dict(conn.execute(task_backlog._AT_SQL, p).fetchall())
        live = dict(conn.execute(task_backlog._LIVE_SQL, p).fetchall())
        # The daily snapshot of a day that ended agrees with the count at its end instant.
        day = date(2026, 11, 20)
        backlog.take_snapshots(conn, day, day, TZ, DEMO_NOW)
        snap = task_backlog.open_past_due_by_department(conn, Scope("330402"), day, DEMO_NOW, TZ)
        at = dict(conn.execute(task_backlog._AT_SQL, {**p, "at": backlog.day_end(day, TZ)}))
    assert live == span == {depts["D1"]: 1, depts["D2"]: 1}
    assert snap == at and sum(snap.values()) >= 1
