"""`gridscope import staff` against the small demo (74 grids of 建设街道, 450 staff): good CSV
and xlsx files load, bad rows go to the rejects file with their reasons, re-runs load nothing
twice, assignments keep their history when a second file moves a worker, future end dates wait
for the sweep, --retire-missing, the grid cards show imported workers, the audit trail and the
import run; the command line and the template download route."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner

from app import create_app
from gridscope.cli import main as cli
from gridscope.imports import ImportRefused
from gridscope.imports.columns import STAFF
from gridscope.imports.roster import import_staff
from queries import roster
from queries.cache import data_version
from queries.db import connect
from queries.grid_card import grid_card
from queries.scope import Scope
from tests.access import signed_in
from tests.conftest import DEMO_NOW

TZ = ZoneInfo("Asia/Shanghai")
G1, G2, G3, G5 = (f"330402007024{n:03d}" for n in (1, 2, 3, 5))
M5 = "330402007024005002"  # a micro-grid of G5
HEAD = [c.header for c in STAFF]


def row(no="", name="", mobile="", role="专职网格员", grids="", dept="", region="", start="",
        end="") -> list[str]:  # fmt: skip
    return [no, name, mobile, role, grids, dept, region, start, end]


def write(path: Path, rows: list[list[str]], header=HEAD) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


def run(settings, path: Path, **kw):
    kw.setdefault("progress", False)
    return import_staff(settings, path, **kw)


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def assignments(settings, staff_no: str) -> list[tuple]:
    """(grid, micro, role, valid_from, valid_to, ends_on) of a person, oldest first."""
    return sql(
        settings,
        "SELECT a.grid_code, a.micro_grid_code, a.role, a.valid_from, a.valid_to, a.ends_on"
        " FROM staff_assignment a JOIN staff s ON s.id = a.staff_id WHERE s.staff_no = %s"
        " ORDER BY a.valid_from, a.grid_code",
        (staff_no,),
    )


def card_staff(settings, code: str, now=DEMO_NOW) -> list[tuple]:
    with connect(settings) as conn:
        card = grid_card(conn, Scope(""), code, now, TZ)
    assert card is not None
    return [(s["role"], s["name"], s["phone"]) for s in card["staff"]]


def midnight(d: date) -> datetime:
    return datetime.combine(d, datetime.min.time(), tzinfo=TZ)


GOOD = [
    row("T-001", "张晓明", "13805731234", "专职网格员", G1, start="2024-03-01"),
    row("T-002", "李华", "+86 138-0573-1235", "网格长", f"{G2}；{G3}", start="2024/3/1"),
    row("T-003", "王五", "13805731236", "兼职网格员", G1, start="2024-03-01"),
    row("T-003", "王五", "13805731236", "微网格长", M5, start="2024-03-01"),
    row("", "钱七", "13805731238", "部门联络员", dept="330402-SJ"),
    row(
        "T-004",
        "赵六",
        "13805731237",
        "grid_instructor",
        G1,
        dept="330402-GA",
        start="2024-03-01",
        end="2025-01-01",
    ),  # fmt: skip
]


def test_good_file_loads_and_a_rerun_loads_nothing(demo_db, tmp_path):
    with connect(demo_db) as conn:
        v0 = data_version(conn)
    path = write(tmp_path / "staff.csv", GOOD)
    r = run(demo_db, path)
    assert (r.rows, r.rows_loaded, r.rows_unchanged, r.rejected) == (6, 6, 0, 0)
    assert r.counts["people_new"] == 5
    assert r.counts["assignments_opened"] == 5 and r.counts["assignments_history"] == 1
    assert r.counts["missing"] == 450  # the demo's staff, left alone
    staff = {
        s[0]: s[1:]
        for s in sql(
            demo_db,
            "SELECT staff_no, name, phone, role, region_code, start_date, end_date, active"
            " FROM staff WHERE staff_no LIKE 'T-%%' OR staff_no LIKE 'TEL%%'",
        )
    }
    assert staff["T-002"] == (
        "李华", "13805731235", "grid_chief", "330402007024", date(2024, 3, 1), None, True
    )  # fmt: skip
    # an office person identified by mobile only gets a made-up number; region: the department's
    assert staff["TEL13805731238"][2:4] == ("department_officer", "330402")
    assert staff["T-004"][5:] == (date(2025, 1, 1), False)  # service ended: inactive
    assert assignments(demo_db, "T-003") == [
        (G1, None, "parttime_worker", midnight(date(2024, 3, 1)), None, None),
        (G5, M5, "micro_grid_chief", midnight(date(2024, 3, 1)), None, None),
    ]
    assert assignments(demo_db, "T-004")[0][3:5] == (
        midnight(date(2024, 3, 1)),
        midnight(date(2025, 1, 1)),
    )
    # the grid card lists the imported workers (and not the one whose service ended)
    on_g1 = card_staff(demo_db, G1)
    assert ("fulltime_worker", "张晓明", "13805731234") in on_g1
    assert ("parttime_worker", "王五", "13805731236") in on_g1
    assert all(name != "赵六" for _, name, _ in on_g1)
    assert ("grid_chief", "李华", "13805731235") in card_staff(demo_db, G3)
    # the import run and the audit event, in the same transaction
    runs = sql(
        demo_db,
        "SELECT id, rows_total, rows_loaded, rows_skipped, rows_rejected, report->'counts'"
        " FROM import_run WHERE kind = 'staff'",
    )
    assert [x[1:5] for x in runs] == [(6, 6, 0, 0)]
    assert runs[0][5]["people_new"] == 5
    audit = sql(
        demo_db,
        "SELECT action, actor_kind, jurisdiction, count, detail FROM audit_event"
        " WHERE action = 'staff_import'",
    )
    assert len(audit) == 1
    action, kind, jurisdiction, count, detail = audit[0]
    assert (kind, jurisdiction, count) == ("cli", "330402", 6)
    assert detail["import_run_id"] == runs[0][0] and detail["people_new"] == 5
    with connect(demo_db) as conn:
        v1 = data_version(conn)
    assert v1 > v0
    n_assign = sql(demo_db, "SELECT count(*) FROM staff_assignment")[0][0]

    again = run(demo_db, path)
    assert (again.rows_loaded, again.rows_unchanged, again.rejected) == (0, 6, 0)
    assert again.counts["people_unchanged"] == 5
    assert again.counts["assignments_unchanged"] == 6
    assert sql(demo_db, "SELECT count(*) FROM staff_assignment")[0][0] == n_assign
    assert len(sql(demo_db, "SELECT 1 FROM staff WHERE staff_no LIKE 'T-%%'")) == 4
    with connect(demo_db) as conn:
        assert data_version(conn) == v1  # nothing changed: caches stay
    assert len(sql(demo_db, "SELECT 1 FROM import_run WHERE kind = 'staff'")) == 2


def test_filled_xlsx_template_loads(demo_db, tmp_path):
    from gridscope.imports.templates import template_bytes

    book = openpyxl.load_workbook(io.BytesIO(template_bytes("staff")))
    ws = book.worksheets[0]
    ws.delete_rows(2)  # the example row
    # what Excel stores when a person types into cells that are not text: numbers, dates
    ws.append(["X-1", "周一", 13905731234, "网格长", G2, None, None, datetime(2023, 5, 1)])
    ws.append([None, "吴二", "139 0573 1235", "联户长", M5, None, None, "2023年5月1日"])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    r = run(demo_db, path)
    assert (r.rows, r.rows_loaded, r.rejected) == (2, 2, 0), r.reasons
    assert sql(demo_db, "SELECT phone, start_date FROM staff WHERE staff_no = 'X-1'") == [
        ("13905731234", date(2023, 5, 1))
    ]
    assert assignments(demo_db, "TEL13905731235") == [
        (G5, M5, "household_leader", midnight(date(2023, 5, 1)), None, None)
    ]
    assert run(demo_db, path).rows_unchanged == 2


def test_bad_rows_go_to_the_rejects_file_with_their_reason(demo_db, tmp_path):
    bad = [
        row("B-01", "孙八", "1380573123", grids=G1),  # bad mobile
        row("B-02", "周九", "13805731239", grids="330402007024999"),  # unknown grid
        row("B-03", "吴十", "13805731240", role="主任", grids=G1),  # unknown role
        row("B-04", "郑一", "13805731241", grids=G1, start="2025-01-01", end="2024-01-01"),
        row("B-05", "冯二", "13805731242"),  # a grid worker without any grid
        row("B-06", "陈三", "13805731243", grids=G1, dept="NOPE"),  # unknown department
        row("B-07", "褚四", "13805731244", grids=G1),
        row("B-07", "卫五", "13805731244", grids=G2),  # same number, another name
        row("B-08", "蒋六", "13805731245", grids=G1),
        row("B-08", "蒋六", "13805731245", grids="X"),  # one bad row sinks the person
        row("B-09", "沈七", "13805731246", grids=G1, start="2024-13-01"),
        row("B-10", "韩八", "13805731247", role="指挥中心值班员"),  # office without region
        row("OK-1", "杨九", "13805731248", grids=G1),
    ]
    path = write(tmp_path / "bad.csv", bad)
    r = run(demo_db, path)
    assert (r.rows, r.rejected, r.rows_loaded) == (13, 12, 1)
    with (tmp_path / "bad.rejects.csv").open(encoding="utf-8-sig") as f:
        rejects = list(csv.DictReader(f))
    got = {(x["人员编号"], x["source_row"]): x["reject_reason"] for x in rejects}
    expect = {
        ("B-01", "2"): "bad mobile: 1380573123",
        ("B-02", "3"): "unknown grid code: 330402007024999",
        ("B-03", "4"): "unknown role: 主任",
        ("B-04", "5"): "end before start: 2025-01-01 → 2024-01-01",
        ("B-05", "6"): "grid worker without any grid",
        ("B-06", "7"): "unknown department: NOPE",
        ("B-07", "8"): "duplicate person with conflicting values: 姓名 name: 褚四 ≠ 卫五",
        ("B-07", "9"): "duplicate person with conflicting values: 姓名 name: 褚四 ≠ 卫五",
        ("B-08", "10"): "another row of this person was rejected: row 11",
        ("B-08", "11"): "unknown grid code: X",
        ("B-09", "12"): "bad date: start: 2024-13-01",
        ("B-10", "13"): "office staff without a region",
    }
    assert set(got) == set(expect)
    for key, reason in expect.items():
        assert reason in got[key], (key, got[key])
    assert "网格编码不存在" in got[("B-02", "3")]  # the Chinese half of the reason
    # the rows' own cells are kept
    assert next(x for x in rejects if x["人员编号"] == "B-01")["手机号码"] == "1380573123"
    assert sql(demo_db, "SELECT staff_no FROM staff WHERE staff_no LIKE 'B-%%' OR staff_no"
               " LIKE 'OK-%%'") == [("OK-1",)]  # fmt: skip
    assert r.reasons["手机号码格式不正确 / bad mobile"] == 1


def test_a_second_file_moves_a_worker_and_keeps_the_history(demo_db, tmp_path):
    first = [
        row("M-1", "张晓明", "13805731234", grids=G1, start="2024-03-01"),
        row("M-2", "李华", "13805731235", "网格长", f"{G2};{G3}", start="2024-03-01"),
    ]
    run(demo_db, write(tmp_path / "a.csv", first))
    later = DEMO_NOW.replace(year=2027)  # a year later
    second = [
        row("M-1", "张晓明", "13905731234", grids=G2, start="2027-06-01"),  # moved, new phone
        row("M-2", "李华", "13805731235", "网格长", G2, start="2024-03-01"),  # left G3
    ]
    r = run(demo_db, write(tmp_path / "b.csv", second), now=later)
    assert r.counts["people_updated"] == 1 and r.counts["people_unchanged"] == 1
    assert r.counts["assignments_opened"] == 1
    assert r.counts["assignments_closed_left"] == 2
    assert r.counts["assignments_unchanged"] == 1
    assert assignments(demo_db, "M-1") == [
        (G1, None, "fulltime_worker", midnight(date(2024, 3, 1)), midnight(date(2027, 6, 1)),
         None),  # closed when the new assignment began, not deleted
        (G2, None, "fulltime_worker", midnight(date(2027, 6, 1)), None, None),
    ]  # fmt: skip
    m2 = assignments(demo_db, "M-2")
    assert (G3, later) in [(a[0], a[4]) for a in m2]  # closed at the import
    assert sql(demo_db, "SELECT phone, start_date FROM staff WHERE staff_no = 'M-1'") == [
        ("13905731234", date(2024, 3, 1))  # service began at the earliest start known
    ]
    after = later.replace(month=12)
    assert ("fulltime_worker", "张晓明", "13905731234") in card_staff(demo_db, G2, after)
    assert all(n != "张晓明" for _, n, _ in card_staff(demo_db, G1, after))
    assert all(n != "李华" for _, n, _ in card_staff(demo_db, G3, after))
    # the history answers "who was in G1 then" (with the person's phone as it is now)
    assert ("fulltime_worker", "张晓明", "13905731234") in card_staff(demo_db, G1)
    # loading the first file again (an older list) reopens from now: history is not rewritten
    again_at = later.replace(month=9)
    r = run(demo_db, write(tmp_path / "a2.csv", first), now=again_at)
    assert r.counts["assignments_opened"] == 2 and r.counts["assignments_closed_left"] == 1
    assert [a[3:5] for a in assignments(demo_db, "M-1")] == [
        (midnight(date(2024, 3, 1)), midnight(date(2027, 6, 1))),
        (midnight(date(2027, 6, 1)), again_at),
        (again_at, None),
    ]


def test_a_future_end_date_waits_for_the_sweep(demo_db, tmp_path):
    rows = [
        row("E-1", "张晓明", "13805731234", grids=G1, start="2024-03-01", end="2026-12-31"),
        row("E-2", "李华", "13805731235", grids=G2, start="2024-03-01"),
    ]
    r = run(demo_db, write(tmp_path / "e.csv", rows))
    assert r.counts["assignments_opened"] == 2
    assert assignments(demo_db, "E-1")[0][4:] == (None, date(2026, 12, 31))
    assert ("fulltime_worker", "张晓明", "13805731234") in card_staff(demo_db, G1)
    # a later file sets an end date on the open assignment of E-2, and clears E-1's
    rows2 = [
        row("E-1", "张晓明", "13805731234", grids=G1, start="2024-03-01"),
        row("E-2", "李华", "13805731235", grids=G2, start="2024-03-01", end="2026-12-15"),
    ]
    r = run(demo_db, write(tmp_path / "e2.csv", rows2))
    assert r.counts["assignments_end_set"] == 2
    assert assignments(demo_db, "E-1")[0][4:] == (None, None)
    assert assignments(demo_db, "E-2")[0][4:] == (None, date(2026, 12, 15))
    with connect(demo_db) as conn:
        assert roster.close_ended(conn, date(2026, 12, 14), TZ) == 0
        assert roster.close_ended(conn, date(2026, 12, 15), TZ) == 1
        conn.commit()
    assert assignments(demo_db, "E-2")[0][4] == midnight(date(2026, 12, 15))
    assert sql(demo_db, "SELECT active FROM staff WHERE staff_no = 'E-2'") == [(False,)]
    assert sql(demo_db, "SELECT active FROM staff WHERE staff_no = 'E-1'") == [(True,)]
    # the same file again: the closed assignment is history, nothing is loaded twice
    r = run(demo_db, write(tmp_path / "e3.csv", rows2), now=DEMO_NOW.replace(year=2027))
    assert r.rows_loaded == 0 and r.counts["assignments_unchanged"] == 2


def test_retire_missing(demo_db, tmp_path):
    path = write(tmp_path / "one.csv", [row("R-1", "张晓明", "13805731234", grids=G1)])
    r = run(demo_db, path)
    assert r.counts["missing"] == 450 and "retired" not in r.counts
    assert sql(demo_db, "SELECT count(*) FROM staff WHERE active")[0][0] == 451
    r = run(demo_db, path, retire_missing=True)
    assert r.counts["retired"] == 450
    assert sql(demo_db, "SELECT count(*) FROM staff WHERE active") == [(1,)]
    open_rows = sql(
        demo_db,
        "SELECT DISTINCT s.staff_no FROM staff_assignment a JOIN staff s ON s.id = a.staff_id"
        " WHERE a.valid_to IS NULL",
    )
    assert open_rows == [("R-1",)]
    closed_now = sql(demo_db, "SELECT count(*) FROM staff_assignment WHERE valid_to = %s",
                     (DEMO_NOW,))[0][0]  # fmt: skip
    assert closed_now == r.counts["retired_assignments_closed"] > 400
    assert card_staff(demo_db, G2) == []


def test_dry_run_writes_nothing(demo_db, tmp_path):
    path = write(tmp_path / "d.csv", GOOD + [row("Z", "坏", "1", grids=G1)])
    before = sql(demo_db, "SELECT (SELECT count(*) FROM staff), (SELECT count(*) FROM"
                 " staff_assignment), (SELECT count(*) FROM audit_event)")  # fmt: skip
    r = run(demo_db, path, dry_run=True)
    assert r.dry_run and r.rows_loaded == 6 and r.rejected == 1
    assert r.counts["people_new"] == 5
    assert sql(demo_db, "SELECT (SELECT count(*) FROM staff), (SELECT count(*) FROM"
               " staff_assignment), (SELECT count(*) FROM audit_event)") == before  # fmt: skip
    assert (tmp_path / "d.rejects.csv").read_text(encoding="utf-8-sig").count("\n") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        ("姓名,手机号码\n张三,13805731234\n".encode(), "missing required column(s) 岗位"),
        ("人员编号,姓名,手机号码,岗位\n".encode(), "no data rows"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "(.xls) workbook"),
    ],
)
def test_a_file_level_problem_refuses_the_whole_file(demo_db, tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(ImportRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(demo_db, path)
    assert sql(demo_db, "SELECT count(*) FROM import_run") == [(0,)]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportRefused, match="not a readable xlsx"):
        run(demo_db, broken)


def test_a_gb18030_csv_from_excel_loads(demo_db, tmp_path):
    path = tmp_path / "gbk.csv"
    text = "\n".join(",".join(r) for r in [HEAD, row("G-1", "张晓明", "13805731234", grids=G1)])
    path.write_bytes(text.encode("gb18030"))
    r = run(demo_db, path)
    assert r.rows_loaded == 1
    assert sql(demo_db, "SELECT name FROM staff WHERE staff_no = 'G-1'") == [("张晓明",)]


def test_the_command_line(demo_db, tmp_path):
    env = {"DATABASE_URL": demo_db.database_url, "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat()}
    path = write(tmp_path / "cli.csv", GOOD)
    res = CliRunner().invoke(cli, ["import", "staff", str(path), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    assert "6 rows; loaded 6, 0 unchanged" in res.output
    assert "people: 5 new" in res.output and "rows/s" in res.output
    res = CliRunner().invoke(cli, ["import", "staff", str(path), "--quiet"], env=env)
    assert "loaded 0, 6 unchanged (already loaded)" in res.output
    bad = write(tmp_path / "bad.csv", [["姓名"], ["张三"]], header=["姓名", "电话号码"])
    res = CliRunner().invoke(cli, ["import", "staff", str(bad)], env=env)
    assert res.exit_code == 1
    assert res.output.startswith("gridscope: error: ") and res.output.count("\n") == 1
    assert "手机号码、岗位" in res.output
    out = tmp_path / "t.xlsx"
    res = CliRunner().invoke(cli, ["import", "template", "staff", "-o", str(out)], env=env)
    assert res.exit_code == 0 and out.exists()
    assert openpyxl.load_workbook(out).sheetnames == ["人员", "说明"]
    res = CliRunner().invoke(cli, ["import", "template", "people"], env=env)
    assert res.exit_code == 2


def test_template_download_is_for_administrators(demo_db, redis_client):
    app = create_app(demo_db)
    try:
        admin = signed_in(app, demo_db, "admin")
        resp = admin.get("/admin/templates/departments.xlsx")
        assert resp.status_code == 200
        assert resp.headers["Content-Disposition"].endswith('"gridscope-departments-template.xlsx"')
        book = openpyxl.load_workbook(io.BytesIO(resp.data))
        assert book.worksheets[0]["A1"].value == "部门编码"
        assert admin.get("/admin/templates/people.xlsx").status_code == 404
        for role in ("analyst", "leader", "dispatcher"):
            client = signed_in(app, demo_db, role)
            assert client.get("/admin/templates/staff.xlsx").status_code == 403, role
        anonymous = app.server.test_client()
        assert anonymous.get("/admin/templates/staff.xlsx").status_code == 401
    finally:
        app.server.extensions["gridscope"].close()


def test_now_defaults_to_the_settings_clock(demo_db, tmp_path):
    path = write(tmp_path / "n.csv", [row("N-1", "张晓明", "13805731234", grids=G1)])
    run(demo_db, path)
    # no start date: the assignment starts at the import (the pinned clock), not at midnight
    assert assignments(demo_db, "N-1")[0][3] == DEMO_NOW.astimezone(UTC)
