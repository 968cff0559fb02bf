"""The work calendar's administration against real PostGIS: `gridscope calendar set|unset|
import|show|confirm`, the re-timing of open tickets it causes (issue #13: a holiday entered for
2027 moves the due time of an open ticket whose clock runs over it, and only that ticket), the
audit rows, the 60-day notice, refusals that write nothing, and /admin/calendar's callback.
Every "now" is pinned (GRIDSCOPE_FIXED_NOW, settings.fixed_now): nothing depends on the date the
suite runs."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from app import create_app
from domain.clock.calendar_edit import span_edits
from domain.clock.work_calendar import WorkCalendar
from gridscope.cli import main as cli
from queries import audit, bulk
from queries import calendar as cal
from queries.admin import Actor, AdminError
from queries.cache import data_version
from queries.db import connect
from queries.item_list import load_limits, seed_defaults
from queries.scope import WHOLE, Scope
from queries.tickets import Clocks, NewTicket, Transition, apply_transition, create_ticket
from tests.access import signed_in
from tests.conftest import DEMO_NOW
from tests.security.test_admin_pages import CALLBACK, HTML, body, key_of, render

pytestmark = pytest.mark.db

SH = ZoneInfo("Asia/Shanghai")
GRID = "330402007024001"
SQUARE = "MULTIPOLYGON(((120.75 30.75, 120.76 30.75, 120.76 30.76, 120.75 30.76, 120.75 30.75)))"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "calendar-2027.csv"
# The commands of the re-timing test run on Wednesday 2027-02-03, while the clocks run.
IN_2027 = "2027-02-03T10:00:00+08:00"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)


def run(settings, *args: str, now: str | None = None):
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "GRIDSCOPE_FIXED_NOW": now or DEMO_NOW.isoformat(),
        "USER": "ops-tester",
    }
    return CliRunner().invoke(cli, list(args), env=env)


def audit_rows(settings, action: str) -> list[dict]:
    with connect(settings) as conn:
        return audit.search(conn, WHOLE, action=action, limit=500)


def count(settings, sql: str) -> int:
    with connect(settings) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.fixture
def town(fresh_db):
    """One community with one grid, one department, the default item list; partitions for
    the first months of 2027."""
    with connect(fresh_db) as conn:
        seed_defaults(conn)
        conn.execute(
            "INSERT INTO region (code, name, level, parent_code, geom) VALUES"
            " ('330402007024', '百福弄社区', 'community', '330402007', ST_GeomFromText(%s, 4326))",
            (SQUARE,),
        )
        conn.execute(
            "INSERT INTO grid (code, name, community_code, grid_type, households, geom)"
            " VALUES (%s, '百福弄社区第1网格', '330402007024', 'comprehensive', 300,"
            " ST_GeomFromText(%s, 4326))",
            (GRID, SQUARE),
        )
        conn.execute(
            "INSERT INTO department (code, name, kind, region_code)"
            " VALUES ('ZF', '综合行政执法局', 'linked', '330402')"
        )
        bulk.ensure_ticket_partitions(conn, local(2027, 1, 1, 0, 0), local(2027, 3, 31, 0, 0))
        conn.commit()
    return fresh_db


def dispatched(conn, clocks: Clocks, at: datetime, *then: str) -> int:
    """A hotline ticket (0401: T5 = 5 working days) accepted and dispatched at ``at``, then
    taken through ``then`` a minute apart; returns its id."""
    t = create_ticket(
        conn,
        clocks,
        WHOLE,
        NewTicket("0401", 120.755, 30.755, "hotline"),
        now=at - timedelta(minutes=20),
    )
    steps = ("accept", "dispatch", *then)
    for i, action in enumerate(steps):
        when = at + timedelta(minutes=i - 1)
        tr = Transition(action, at=when, department_id=1)
        apply_transition(conn, clocks, WHOLE, t["id"], tr, now=when)
    return t["id"]


def times(settings, ticket_id: int) -> dict:
    with connect(settings) as conn:
        row = conn.execute(
            "SELECT state, stage_warn_at, stage_due_at, due_at, original_due_at FROM ticket"
            " WHERE id = %s",
            (ticket_id,),
        ).fetchone()
        task = conn.execute(
            "SELECT sign_due_at, due_at, original_due_at FROM ticket_task WHERE ticket_id = %s",
            (ticket_id,),
        ).fetchone()
    keys = ("state", "stage_warn_at", "stage_due_at", "due_at", "original_due_at")
    return {**dict(zip(keys, row, strict=True)), "task": task}


def test_a_2027_holiday_moves_only_the_open_ticket_whose_clock_runs_over_it(town):
    with connect(town) as conn:
        clocks = Clocks(WorkCalendar(), load_limits(conn), town.tz)
        # Dispatched Monday 2027-02-01 09:00: 5 working days end Monday 2027-02-08 09:00.
        over = dispatched(conn, clocks, local(2027, 2, 1, 9, 0))
        # Dispatched a week earlier: due Monday 2027-02-01 09:00, before the holiday.
        before = dispatched(conn, clocks, local(2027, 1, 25, 9, 0))
        # The same clock as `over`, but closed: never touched.
        closed = dispatched(
            conn, clocks, local(2027, 2, 1, 9, 0), "sign", "feedback", "start_verify", "verify_pass"
        )
        v0 = data_version(conn)
    start = {i: times(town, i) for i in (over, before, closed)}
    assert start[over]["due_at"] == local(2027, 2, 8, 9, 0)
    assert start[closed]["state"] == "closed"

    res = run(town, "calendar", "set", "2027-02-08", "--holiday", "--note", "春节", now=IN_2027)
    assert res.exit_code == 0, res.output
    assert "re-timed 1 open ticket(s) and 1 open task(s)" in res.output

    after = times(town, over)
    new_due = local(2027, 2, 9, 9, 0)
    assert after["stage_due_at"] == after["due_at"] == after["original_due_at"] == new_due
    assert after["stage_warn_at"] == start[over]["stage_warn_at"]  # Friday 09:00: before it
    assert after["task"][1:] == (new_due, new_due)
    assert after["task"][0] == start[over]["task"][0]  # signing was due on 02-02
    assert times(town, before) == start[before]
    assert times(town, closed) == start[closed]

    with connect(town) as conn:
        events = conn.execute(
            "SELECT ticket_id, at, actor_kind, from_state, data FROM ticket_event"
            " WHERE action = 'retime'"
        ).fetchall()
        assert data_version(conn) > v0
    assert len(events) == 1
    ticket_id, at, actor_kind, from_state, data = events[0]
    assert (ticket_id, at, actor_kind, from_state) == (
        over,
        local(2027, 2, 3, 10, 0),
        "system",
        None,
    )
    assert data["calendar_days"] == ["2027-02-08"]
    assert data["ticket"]["due_at"]["new"] == new_due.isoformat()
    assert list(data["tasks"].values())[0]["due_at"]["old"] == start[over]["due_at"].isoformat()
    (change,) = audit_rows(town, "calendar_change")
    assert change["actor_kind"] == "cli" and change["actor_name"] == "ops-tester"
    assert change["detail"]["days_changed"] == ["2027-02-08"]
    assert change["detail"]["tickets_retimed"] == 1 and change["detail"]["tasks_retimed"] == 1
    assert change["at"] == local(2027, 2, 3, 10, 0)

    # The same again: nothing to do, nothing audited.
    again = run(town, "calendar", "set", "2027-02-08", "--holiday", "--note", "春节", now=IN_2027)
    assert again.exit_code == 0 and "nothing to set" in again.output
    assert len(audit_rows(town, "calendar_change")) == 1

    # Removing the holiday gives the original instants back.
    res = run(town, "calendar", "unset", "2027-02-08", now=IN_2027)
    assert res.exit_code == 0 and "re-timed 1 open ticket(s)" in res.output, res.output
    assert times(town, over) == start[over]
    assert count(town, "SELECT count(*) FROM ticket_event WHERE action = 'retime'") == 2
    assert len(audit_rows(town, "calendar_change")) == 2


def test_import_confirms_the_years_it_covers_and_show_prints_them(town, tmp_path):
    csv = tmp_path / "2027.csv"
    csv.write_text(
        "date,type,note\n2027-02-05..2027-02-13,节假日,春节\n2027-02-14,调休,春节调休\n",
        encoding="utf-8",
    )
    res = run(town, "calendar", "import", str(csv))
    assert res.exit_code == 0, res.output
    assert "stored 7 day(s)" in res.output and "confirmed 2027" in res.output
    with connect(town) as conn:
        assert cal.confirmed_years(conn)[2027]["source"] == "2027.csv"
        assert cal.unconfirmed_years(conn, date(2026, 11, 26)) == []
    (confirm,) = audit_rows(town, "calendar_confirm")
    assert confirm["object_ids"] == ["2027"] and confirm["detail"]["overrides"] == 7
    assert len(audit_rows(town, "calendar_change")) == 1

    shown = run(town, "calendar", "show", "2027")
    assert shown.exit_code == 0
    assert "confirmed by ops-tester at 2026-11-25 15:30, source 2027.csv" in shown.output
    assert "春节 02-05..02-13 (9 days off)" in shown.output
    assert "  02-14 Sun  make-up  entered  春节调休" in shown.output
    data = json.loads(run(town, "calendar", "show", "2027", "--format", "json").output)
    assert data["confirmed"] and data["working_days"] == 261 - 6 + 1
    assert {d["date"] for d in data["days"] if d["kind"] == "holiday"} == {
        "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12",
    }  # fmt: skip
    rows = run(town, "calendar", "show", "2027", "--format", "csv").output.splitlines()
    assert rows[0] == "date,type,note,source" and "2027-02-14,workday,春节调休,override" in rows
    # The CSV that show prints imports again as it is, changing nothing.
    again = tmp_path / "again.csv"
    again.write_text("\n".join(rows) + "\n", encoding="utf-8")
    res = run(town, "calendar", "import", str(again))
    assert res.exit_code == 0 and "nothing to import" in res.output, res.output
    assert "already confirmed 2027" in res.output


def test_the_shipped_example_is_unconfirmed_and_imports_only_on_request(town):
    head = EXAMPLE.read_text(encoding="utf-8").splitlines()[:3]
    assert "EXAMPLE ONLY - UNCONFIRMED" in head[0] and "not" in head[2]
    res = run(town, "calendar", "import", str(EXAMPLE), "--no-confirm")
    assert res.exit_code == 0, res.output
    assert "stored 23 day(s)" in res.output and "left unconfirmed" in res.output
    assert count(town, "SELECT count(*) FROM calendar_year") == 0
    assert not audit_rows(town, "calendar_confirm")
    shown = run(town, "calendar", "show", "2027").output
    assert "NOT CONFIRMED" in shown and "国庆节 10-01..10-07 (7 days off)" in shown


def test_bad_csv_rows_are_listed_and_nothing_is_written(town, tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(
        "date,type,note\n"
        "2027-02-08,holiday,春节\n"
        "2027-02-30,holiday,x\n"
        "2027-02-09,vacation,y\n"
        "2027-02-08,workday,z\n",
        encoding="utf-8",
    )
    res = run(town, "calendar", "import", str(csv))
    assert res.exit_code == 1
    assert "bad.csv: line 3: bad date '2027-02-30'" in res.output
    assert "bad.csv: line 4: unknown type 'vacation'" in res.output
    assert "bad.csv: line 5: 2027-02-08 is also on line 2 with the other type" in res.output
    assert "gridscope: error: bad.csv: 3 bad row(s): nothing imported" in res.output
    assert "Traceback" not in res.output
    assert count(town, "SELECT count(*) FROM calendar_day") == 0
    assert count(town, "SELECT count(*) FROM calendar_year") == 0
    assert not audit_rows(town, "calendar_change")
    missing = run(town, "calendar", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 1 and "cannot read" in missing.output


def test_bad_arguments_and_no_ops(town):
    res = run(town, "calendar", "set", "2027-02-31", "--holiday")
    assert res.exit_code == 2 and "bad date '2027-02-31'" in res.output
    res = run(town, "calendar", "set", "2027-02-10..2027-02-01", "--holiday")
    assert res.exit_code == 2 and "ends before it starts" in res.output
    res = run(town, "calendar", "set", "2027-02-08")
    assert res.exit_code == 2 and "--holiday or --workday" in res.output
    res = run(town, "calendar", "confirm", "1999")
    assert res.exit_code == 2
    # A holiday on a Saturday and a workday on a Monday change nothing: a warning, exit 0.
    res = run(town, "calendar", "set", "2027-02-06", "--holiday")
    assert res.exit_code == 0
    assert "warning: 2027-02-06 (Saturday) is a day off already: nothing stored" in res.output
    res = run(town, "calendar", "set", "2027-02-08", "--workday")
    assert "warning: 2027-02-08 (Monday) is a working day already" in res.output
    res = run(town, "calendar", "unset", "2027-02-08")
    assert res.exit_code == 0 and "no override stored" in res.output
    assert count(town, "SELECT count(*) FROM calendar_day") == 0
    assert not audit_rows(town, "calendar_change")


def test_confirm_is_recorded_once_and_audited(town):
    res = run(town, "calendar", "confirm", "2027", "--source", "国办发明电〔2026〕7号")
    assert res.exit_code == 0 and "confirmed 2027" in res.output
    assert "no days are entered for 2027" in res.output
    again = run(town, "calendar", "confirm", "2027")
    assert again.exit_code == 0 and "confirmed already (by ops-tester" in again.output
    (row,) = audit_rows(town, "calendar_confirm")
    assert row["detail"]["source"] == "国办发明电〔2026〕7号" and row["detail"]["year"] == 2027


def test_the_60_day_notice_in_nov_and_not_in_aug_2026(town):
    with connect(town) as conn:
        assert cal.unconfirmed_years(conn, date(2026, 11, 26)) == [2027]
        assert cal.unconfirmed_years(conn, date(2026, 8, 26)) == []
    res = run(town, "db", "check", now="2026-11-26T10:00:00+08:00")
    assert res.exit_code == 0 and "database ok" in res.output
    assert "warning: work calendar 2027 not confirmed" in res.output
    res = run(town, "db", "check", now="2026-08-26T10:00:00+08:00")
    assert res.exit_code == 0 and "warning" not in res.output
    run(town, "calendar", "confirm", "2027")
    res = run(town, "db", "check", now="2026-11-26T10:00:00+08:00")
    assert res.exit_code == 0 and "warning" not in res.output


def test_an_administrator_of_part_of_the_territory_may_not_change_it(town):
    with connect(town) as conn:
        conn.execute(
            "INSERT INTO grid (code, name, community_code, grid_type, households, geom)"
            " VALUES ('330402008001001', '别的街道', '330402007024', 'comprehensive', 1,"
            " ST_GeomFromText(%s, 4326))",
            (SQUARE,),
        )
        conn.commit()
        actor = Actor.command_line("town-admin", WHOLE)
        narrow = Actor("town-admin", Scope("330402007"), Scope("330402007"))
        edits = span_edits(["2027-02-08"], False)
        with pytest.raises(AdminError, match="覆盖全部网格"):
            cal.apply_edits(conn, narrow, "", edits, DEMO_NOW, tz="Asia/Shanghai", how="set")
        conn.rollback()
        result = cal.apply_edits(conn, actor, "", edits, DEMO_NOW, tz="Asia/Shanghai", how="set")
        conn.commit()
    assert result.plan is not None and result.plan.changed_days == (date(2027, 2, 8),)


# ---- /admin/calendar ------------------------------------------------------------------------


@pytest.fixture
def app(demo_db, redis_client):
    app = create_app(demo_db)
    yield app
    app.server.extensions["gridscope"].close()


def page_values(**values):
    return {
        "adm-cal-year.value": 2026,
        "adm-cal-kind.value": "holiday",
        **{f"adm-cal-{k}.value": v for k, v in values.items()},
    }


def test_the_admin_page_sets_a_day_and_says_how_many_tickets_were_retimed(app, demo_db):
    client = signed_in(app, demo_db, "admin", "")
    assert client.get("/admin/calendar", headers=HTML).status_code == 200
    page = render(client, app, "/admin/calendar").get_data(as_text=True)
    assert "adm-cal-view" in page and "无权访问" not in page
    assert "2027 年工作日历未确认" in page  # DEMO_NOW is 2026-11-25: 2027 is 37 days away
    key = key_of(app, "adm-cal-msg")
    values = page_values(dates="2026-11-26", note="测试假日")
    values["adm-cal-apply.n_clicks"] = 1
    resp = client.post(CALLBACK, json=body(app, key, values, "adm-cal-apply.n_clicks"))
    assert resp.status_code == 200
    text = json.dumps(resp.get_json(), ensure_ascii=False)
    retimed = count(
        demo_db, "SELECT count(DISTINCT ticket_id) FROM ticket_event WHERE action = 'retime'"
    )
    assert retimed > 0  # the demo has open clocks running over Thursday 2026-11-26
    assert f"已按新日历重算 {retimed} 件未结案件" in text
    (change,) = audit_rows(demo_db, "calendar_change")
    assert change["actor_kind"] == "user" and change["role"] == "admin"
    assert change["detail"]["tickets_retimed"] == retimed

    # Confirming the year shown.
    confirm = page_values(source="国办发明电")
    confirm["adm-cal-year.value"] = 2027
    confirm["adm-cal-confirm.n_clicks"] = 1
    resp = client.post(CALLBACK, json=body(app, key, confirm, "adm-cal-confirm.n_clicks"))
    assert "已确认 2027 年" in json.dumps(resp.get_json(), ensure_ascii=False)
    assert len(audit_rows(demo_db, "calendar_confirm")) == 1

    # Bad input: a clear message, nothing written.
    bad = page_values(dates="2026-11-31")
    bad["adm-cal-apply.n_clicks"] = 2
    resp = client.post(CALLBACK, json=body(app, key, bad, "adm-cal-apply.n_clicks"))
    assert "日期 '2026-11-31' 不正确" in json.dumps(resp.get_json(), ensure_ascii=False)
    assert len(audit_rows(demo_db, "calendar_change")) == 1


def test_an_analyst_gets_403_and_a_forged_calendar_callback_changes_nothing(app, demo_db):
    analyst = signed_in(app, demo_db, "analyst", "")
    assert analyst.get("/admin/calendar", headers=HTML).status_code == 403
    key = key_of(app, "adm-cal-msg")
    values = page_values(dates="2026-11-26")
    values["adm-cal-apply.n_clicks"] = 1
    analyst.post(CALLBACK, json=body(app, key, values, "adm-cal-apply.n_clicks"))
    assert count(demo_db, "SELECT count(*) FROM calendar_day") == 0
    assert not audit_rows(demo_db, "calendar_change")
