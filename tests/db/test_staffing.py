"""The staffing report against a copy of the small demo with planted violations: the report
finds exactly what was planted, in the caller's scope only; `gridscope check staffing` prints
it and exits by its flag; the wall's basic data carries the count and the calendar notice."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from dashboard.feeds import counters_data
from domain.staffing import area_of
from gridscope.cli import main as cli
from queries.db import connect
from queries.scope import WHOLE, Scope
from queries.screen import build_screen
from queries.screen.basic import basic_data
from queries.staffing import grid_rows, staffing_counts, staffing_report
from tests.conftest import DEMO_NOW

pytestmark = pytest.mark.db

TOWN = "330402007"  # 建设街道, the small demo's one town


def today(settings):
    return DEMO_NOW.astimezone(settings.tz).date()


def keys(report) -> set[tuple[str, str]]:
    """(rule, grid code or staff number) of every finding."""
    return {(f.rule, f.grid_code or f.staff_no or "*") for f in report.findings}


def report(settings, scope=WHOLE, hotline="12345"):
    with connect(settings) as conn:
        return staffing_report(conn, scope, DEMO_NOW, today(settings), hotline)


def one(conn, sql: str, *params):
    row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


def plant(settings) -> dict[str, str]:
    """Plant one finding of each kind; returns the codes and numbers they are about."""
    with connect(settings) as conn:
        # 1. A grid loses its chief: one who heads two grids, so the person keeps a grid.
        (chief_grid, chief_id) = one(
            conn,
            "SELECT a.grid_code, a.staff_id FROM staff_assignment a"
            " WHERE a.valid_to IS NULL AND a.role = 'grid_chief' AND a.staff_id IN ("
            "   SELECT staff_id FROM staff_assignment WHERE valid_to IS NULL"
            "    AND role = 'grid_chief' GROUP BY staff_id HAVING count(*) > 1)"
            " AND a.grid_code NOT IN (SELECT grid_code FROM staff_assignment"
            "   WHERE valid_to IS NULL AND role = 'grid_chief' GROUP BY grid_code"
            "   HAVING count(*) > 1)"
            " ORDER BY a.grid_code LIMIT 1",
        )
        conn.execute(
            "UPDATE staff_assignment SET valid_to = %s WHERE grid_code = %s AND staff_id = %s"
            " AND valid_to IS NULL",
            (DEMO_NOW - timedelta(days=3), chief_grid, chief_id),
        )
        # 2. The only full-time worker of an urban comprehensive grid (one with part-time
        # workers too) left yesterday: the sweep has not closed the assignment yet.
        (ft_grid, ft_no, ft_id) = one(
            conn,
            "SELECT a.grid_code, s.staff_no, s.id FROM staff_assignment a"
            " JOIN staff s ON s.id = a.staff_id JOIN grid g ON g.code = a.grid_code"
            " JOIN region c ON c.code = g.community_code AND c.kind = 'urban'"
            " WHERE a.valid_to IS NULL AND a.role = 'fulltime_worker'"
            "   AND g.grid_type = 'comprehensive' AND g.code <> %s AND a.grid_code IN ("
            "   SELECT grid_code FROM staff_assignment WHERE valid_to IS NULL GROUP BY grid_code"
            "    HAVING count(*) FILTER (WHERE role = 'fulltime_worker') = 1"
            "       AND count(*) FILTER (WHERE role = 'parttime_worker') >= 1)"
            " ORDER BY a.grid_code LIMIT 1",
            chief_grid,
        )
        conn.execute(
            "UPDATE staff_assignment SET ends_on = %s WHERE staff_id = %s AND grid_code = %s"
            " AND valid_to IS NULL",
            (today(settings) - timedelta(days=1), ft_id, ft_grid),
        )
        # 3. A part-time worker with no grid.
        conn.execute(
            "INSERT INTO staff (staff_no, name, phone, role, region_code)"
            " VALUES ('T-NOGRID', '赵无格', '13900000001', 'parttime_worker', %s)",
            (chief_grid[:12],),
        )
        # 4. Blank phones: every chief and worker of a grid whose people serve it alone.
        (phone_grid,) = one(
            conn,
            "SELECT a.grid_code FROM staff_assignment a WHERE a.valid_to IS NULL"
            " AND a.grid_code NOT IN (%s, %s)"
            " GROUP BY a.grid_code HAVING bool_and(a.staff_id IN ("
            "   SELECT staff_id FROM staff_assignment WHERE valid_to IS NULL"
            "    GROUP BY staff_id HAVING count(*) = 1))"
            " ORDER BY a.grid_code LIMIT 1",
            chief_grid,
            ft_grid,
        )
        conn.execute(
            "UPDATE staff SET phone = ' ' WHERE id IN (SELECT staff_id FROM staff_assignment"
            " WHERE valid_to IS NULL AND grid_code = %s)",
            (phone_grid,),
        )
        conn.commit()
    return {"chief": chief_grid, "fulltime": ft_grid, "ft_no": ft_no, "phone": phone_grid}


def test_the_demo_is_staffed_and_its_urban_rural_split_matches_the_rule(demo_db):
    base = report(demo_db)
    assert base.grids > 50
    assert base.summary.violations == 0, [f.row() for f in base.findings if f.severity != "notice"]
    assert {f.rule for f in base.findings} <= {"micro_chief_missing"}
    with connect(demo_db) as conn:
        rows = grid_rows(conn, WHOLE, DEMO_NOW, today(demo_db))
        regions = dict(
            (code, (kind, name))
            for code, kind, name in conn.execute(
                "SELECT code, kind, name FROM region WHERE level = 'community'"
            ).fetchall()
        )
    assert {r["area"] for r in rows} == {"urban"}  # 建设街道's five 社区
    for r in rows:  # the SQL classifies as domain.staffing.area_of does
        assert r["area"] == area_of(*regions[r["community_code"]])
        assert set(r["staff"]) >= {"grid_chief", "fulltime_worker", "household_leader"}


def test_the_report_finds_exactly_the_planted_violations(demo_db):
    before = report(demo_db)
    p = plant(demo_db)
    after = report(demo_db)
    assert keys(after) - keys(before) == {
        ("chief_missing", p["chief"]),
        ("urban_fulltime_missing", p["fulltime"]),
        ("ended_still_assigned", p["fulltime"]),
        ("worker_without_grid", "T-NOGRID"),
        ("public_contact_missing", p["phone"]),
    }
    assert keys(before) <= keys(after)
    s = after.summary
    assert (s.violations, after.grids_with_violations) == (3, 3)
    assert s.notices == before.summary.notices + 2
    ended = next(f for f in after.findings if f.rule == "ended_still_assigned")
    assert ended.staff_no == p["ft_no"] and ended.role == "fulltime_worker"
    assert f"{today(demo_db) - timedelta(days=1)} 结束" in ended.missing
    nogrid = next(f for f in after.findings if f.rule == "worker_without_grid")
    assert nogrid.person == "赵无格" and nogrid.town_code == TOWN
    # Violations come first.
    assert [f.severity for f in after.findings[:3]] == ["violation"] * 3
    # The wall's one-statement counts equal the report's.
    with connect(demo_db) as conn:
        counts = staffing_counts(conn, WHOLE, DEMO_NOW, today(demo_db), "12345")
    assert dict(counts.by_rule) == dict(s.by_rule)
    # An empty hotline is one more, deployment-wide, violation.
    empty = report(demo_db, hotline=" ")
    assert empty.summary.violations == 4 and ("hotline_missing", "*") in keys(empty)


def test_an_end_date_still_to_come_counts_and_the_sweep_closed_one_does_not_show(demo_db):
    p = plant(demo_db)
    with connect(demo_db) as conn:
        # The worker's end moves to tomorrow: still serving, nothing to report about them.
        conn.execute(
            "UPDATE staff_assignment SET ends_on = %s WHERE grid_code = %s AND ends_on IS NOT NULL",
            (today(demo_db) + timedelta(days=1), p["fulltime"]),
        )
        conn.commit()
    found = keys(report(demo_db))
    assert ("urban_fulltime_missing", p["fulltime"]) not in found
    assert ("ended_still_assigned", p["fulltime"]) not in found


def test_the_report_keeps_to_the_callers_jurisdiction(demo_db):
    p = plant(demo_db)
    planted = {p["chief"], p["fulltime"], p["phone"]}
    mine = p["chief"][:12]  # the community of the first planted grid
    with connect(demo_db) as conn:
        (other,) = one(
            conn,
            "SELECT code FROM region WHERE level = 'community' AND code <> %s ORDER BY code"
            " LIMIT 1",
            mine,
        )
    for code in (mine, other):
        r = report(demo_db, Scope(code))
        grids = {f.grid_code for f in r.findings if f.grid_code}
        assert grids and all(g.startswith(code) for g in grids)
        assert {g for g in planted if g.startswith(code)} <= grids
        assert not {g for g in planted if not g.startswith(code)} & grids
    assert ("worker_without_grid", "T-NOGRID") in keys(report(demo_db, Scope(mine)))
    assert ("worker_without_grid", "T-NOGRID") not in keys(report(demo_db, Scope(other)))
    elsewhere = report(demo_db, Scope("330402008"))  # another town: nothing of this one
    assert elsewhere.grids == 0 and elsewhere.findings == ()
    # A grid's scope: only that grid.
    one_grid = report(demo_db, Scope(p["chief"]))
    assert one_grid.grids == 1 and {f.grid_code for f in one_grid.findings} == {p["chief"]}


def run(settings, *args: str):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat(),
    }
    return CliRunner().invoke(cli, ["check", "staffing", *args], env=env)


def test_the_command_prints_the_report_and_exits_by_its_flag(demo_db):
    clean = run(demo_db, "--fail-on-violation")
    assert clean.exit_code == 0, clean.output
    assert "violations (违规): 0" in clean.output
    p = plant(demo_db)
    text = run(demo_db)
    assert text.exit_code == 0, text.output
    for code in (p["chief"], p["fulltime"], p["phone"], "T-NOGRID", p["ft_no"]):
        assert code in text.output
    assert "violations (违规): 3 (3 grids)" in text.output
    assert "未配备网格长（JX 7；ZJ 16、18；PY 10；AR 13）" in text.output
    failing = run(demo_db, "--fail-on-violation", "--format", "json")
    assert failing.exit_code == 1
    data = json.loads(failing.output)
    assert data["violations"] == 3 and data["jurisdiction"] == ""
    assert {(f["rule"], f["grid_code"]) for f in data["findings"]} >= {
        ("chief_missing", p["chief"]),
        ("public_contact_missing", p["phone"]),
    }
    table = run(demo_db, "--format", "csv", "--jurisdiction", p["phone"][:12])
    assert table.exit_code == 0, table.output
    lines = list(csv.DictReader(io.StringIO(table.output)))
    assert lines and {ln["社区编码"] for ln in lines} == {p["phone"][:12]}
    assert any(ln["规则编号"] == "public_contact_missing" for ln in lines)
    bad = run(demo_db, "--jurisdiction", "9999")
    assert bad.exit_code == 2 and "names no current region or grid" in bad.output


def test_the_walls_basic_data_carries_the_count_and_the_calendar_notice(demo_db):
    with connect(demo_db) as conn:
        clean = basic_data(conn, WHOLE, DEMO_NOW)
    assert clean["staffing"]["violations"] == 0
    # 2027's holidays are not in chinese_calendar and nobody confirmed them: 37 days away.
    assert clean["calendar_unconfirmed"] == [2027]
    plant(demo_db)
    with connect(demo_db) as conn:
        basic = basic_data(conn, WHOLE, DEMO_NOW, demo_db.tz)
        screen = build_screen(conn, Scope(TOWN), DEMO_NOW, demo_db.tz)
        other = basic_data(conn, Scope("330402008"), DEMO_NOW)
        conn.execute(
            "INSERT INTO calendar_year (year, confirmed_at, confirmed_by)"
            " VALUES (2027, %s, 'test')",
            (DEMO_NOW,),
        )
        conn.commit()
        confirmed = basic_data(conn, WHOLE, DEMO_NOW)
    assert basic["staffing"]["violations"] == 3
    assert basic["staffing"]["by_rule"]["chief_missing"] == 1
    assert screen["basic"]["staffing"]["violations"] == 3
    assert other["staffing"]["violations"] == 0
    assert confirmed["calendar_unconfirmed"] == []


def test_the_counters_feed_shows_the_card_and_the_line(demo_db):
    plant(demo_db)

    class Svc:  # what counters_data reads of the services
        settings = demo_db

    with connect(demo_db) as conn:
        data = counters_data(conn, Scope(TOWN), {}, DEMO_NOW, Svc, None)
    card = data["basic"]["small"][-1]
    assert (card["label"], card["value"], card["tone"]) == ("配备缺口", "3", "alert")
    assert "未配备网格长 1" in card["title"]
    assert data["basic"]["notices"] == [
        {"text": "2027年工作日历未确认", "title": data["basic"]["notices"][0]["title"]}
    ]


def test_an_empty_database_has_nothing_to_report(fresh_db):
    r = report(fresh_db)
    assert (r.grids, r.findings, r.summary.violations) == (0, (), 0)
    with connect(fresh_db) as conn:
        counts = staffing_counts(conn, WHOLE, DEMO_NOW, today(fresh_db))
        basic = basic_data(conn, WHOLE, DEMO_NOW)
    assert sum(counts.by_rule.values()) == 0
    assert basic["staffing"] == {"violations": 0, "notices": 0, "by_rule": dict(counts.by_rule)}
