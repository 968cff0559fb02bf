"""`gridscope import departments` against the small demo (20 departments, the default item list):
children listed before their parents, loops refused (in the file and through the database's
tree), lead and assist duties replacing a department's rows, dispatch leads reading only lead
duties, bad rows with their reasons, re-runs, the audit trail, an empty item list seeded."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from gridscope.cli import main as cli
from gridscope.imports.columns import DEPARTMENTS
from gridscope.imports.roster import import_departments, import_staff
from queries import imports as qi
from queries.db import connect
from queries.live import lead_departments
from tests.conftest import DEMO_NOW

HEAD = [c.header for c in DEPARTMENTS]


def dept(code, name="某部门", kind="联动部门", level="县（区）", parent="", region="330402",
         phone="", lead="", assist="") -> list[str]:  # fmt: skip
    return [code, name, kind, level, parent, region, phone, lead, assist]


def write(path: Path, rows: list[list[str]], header=HEAD) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([header, *rows])
    return path


def run(settings, path: Path, **kw):
    kw.setdefault("progress", False)
    return import_departments(settings, path, **kw)


def sql(settings, query: str, params=()) -> list[tuple]:
    with connect(settings) as conn:
        return conn.execute(query, params).fetchall()


def rejects_of(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8-sig") as f:
        return {
            r["部门编码"] + "@" + r["source_row"]: r["reject_reason"] for r in csv.DictReader(f)
        }


def duties(settings, code: str) -> dict[str, str]:
    return dict(
        sql(
            settings,
            "SELECT c.category_code, c.duty FROM category_department c JOIN department d"
            " ON d.id = c.department_id WHERE d.code = %s",
            (code,),
        )
    )


def test_children_before_parents_load_and_a_rerun_loads_nothing(demo_db, tmp_path):
    rows = [
        dept(
            "H-CG-JS",
            "建设街道城管中队",
            level="镇（街道）",
            parent="H-CG",
            region="330402007",
            phone="0573-82000001",
            lead="0906;0905",
            assist="0601",
        ),  # fmt: skip
        dept("H-CG", "南湖区综合行政执法局", level="区", lead="09"),
        dept("330402-SJ", "南湖区市场监督管理局", parent="H-CG", assist="0601"),  # the demo's
    ]
    path = write(tmp_path / "d.csv", rows)
    r = run(demo_db, path)
    assert (r.rows, r.rows_loaded, r.rejected) == (3, 3, 0)
    assert (r.counts["departments_new"], r.counts["departments_updated"]) == (2, 1)
    assert r.counts["departments_not_in_file"] == 19
    got = dict(
        (c[0], c[1:])
        for c in sql(
            demo_db,
            "SELECT code, kind, level, parent_code, region_code, phone, active FROM department"
            " WHERE code IN ('H-CG-JS', 'H-CG', '330402-SJ')",
        )
    )
    assert got == {
        "H-CG-JS": ("linked", "town", "H-CG", "330402007", "0573-82000001", True),
        "H-CG": ("linked", "county", None, "330402", None, True),
        "330402-SJ": ("linked", "county", "H-CG", "330402", None, True),
    }
    assert duties(demo_db, "H-CG-JS") == {"0905": "lead", "0906": "lead", "0601": "assist"}
    # the demo's lead duties of 330402-SJ were replaced by the file's one assist duty
    assert duties(demo_db, "330402-SJ") == {"0601": "assist"}
    with connect(demo_db) as conn:
        leads = lead_departments(conn)
        sj = conn.execute("SELECT id FROM department WHERE code = '330402-SJ'").fetchone()[0]
        js = conn.execute("SELECT id FROM department WHERE code = 'H-CG-JS'").fetchone()[0]
    assert js in leads["0906"] and js not in leads.get("0601", [])
    assert all(sj not in ids for ids in leads.values())  # it only assists now
    runs = sql(demo_db, "SELECT rows_total, rows_loaded FROM import_run WHERE kind = 'departments'")
    assert runs == [(3, 3)]
    audit = sql(
        demo_db,
        "SELECT jurisdiction, count, object_ids, detail->>'departments_new' FROM audit_event"
        " WHERE action = 'department_import'",
    )
    assert audit == [("330402", 3, ["H-CG-JS", "H-CG", "330402-SJ"], "2")]

    again = run(demo_db, path)
    assert (again.rows_loaded, again.rows_unchanged) == (0, 3)
    assert again.counts["departments_unchanged"] == 3 and again.counts["duties_written"] == 0
    assert len(sql(demo_db, "SELECT 1 FROM department WHERE code LIKE 'H-%%'")) == 2


def test_loops_are_refused_in_the_file_and_through_the_database(demo_db, tmp_path):
    run(demo_db, write(tmp_path / "a.csv", [dept("P"), dept("C", parent="P")]))
    rows = [
        dept("A", parent="B"),
        dept("B", parent="A"),
        dept("S", parent="S"),
        dept("P", parent="C"),  # C is P's child in the database
        dept("OK", parent="P"),  # the P row is refused, but P exists: fine
    ]
    path = write(tmp_path / "b.csv", rows)
    r = run(demo_db, path)
    assert r.rejected == 4 and r.rows_loaded == 1
    got = rejects_of(tmp_path / "b.rejects.csv")
    assert got["A@2"].endswith("cycle in the department tree: A → B → A")
    assert got["B@3"].startswith("上级关系成环")
    assert got["S@4"].endswith("S → S")
    assert got["P@5"].endswith("P → C → P")
    assert sql(demo_db, "SELECT parent_code FROM department WHERE code = 'P'") == [(None,)]
    assert sql(demo_db, "SELECT parent_code FROM department WHERE code = 'OK'") == [("P",)]


def test_bad_rows_go_to_the_rejects_file(demo_db, tmp_path):
    rows = [
        dept("X1", kind="外包"),
        dept("X2", level="省"),
        dept("X3", region="999999"),
        dept("X4", lead="9999"),
        dept("X5", lead="01", assist="01"),
        dept("X6", parent="NOWHERE"),
        dept("X7", parent="X6"),
        dept("X8"),
        dept("X8", name="又一个"),
        dept("bad code!"),
        dept("X9", name=""),
    ]
    r = run(demo_db, write(tmp_path / "bad.csv", rows))
    assert (r.rejected, r.rows_loaded) == (11, 0)
    got = rejects_of(tmp_path / "bad.rejects.csv")
    assert got == {
        "X1@2": "部门类型不存在 / unknown kind: 外包",
        "X2@3": "层级不存在 / unknown level: 省",
        "X3@4": "辖区编码不存在（不是辖区内现行的区划） / unknown region: 999999",
        "X4@5": "事项编码不在事项清单中 / category code not in the item list: 9999",
        "X5@6": "同一事项既为牵头又为协办 / category both lead and assist: 01",
        "X6@7": "上级部门不存在（文件中和已导入的部门都没有） / unknown parent: NOWHERE",
        "X7@8": "上级部门所在行有误 / parent rejected: X6",
        "X8@9": "文件中编码重复 / duplicate code in the file: X8",
        "X8@10": "文件中编码重复 / duplicate code in the file: X8",
        "bad code!@11": "部门编码格式不正确（字母、数字、- _ .，至多40个字符）"
        " / bad department code: bad code!",
        "X9@12": "缺少部门名称 / missing department name",
    }
    assert sql(demo_db, "SELECT count(*) FROM department") == [(20,)]


def test_duties_are_replaced_only_when_the_file_has_them(demo_db, tmp_path):
    run(demo_db, write(tmp_path / "a.csv", [dept("D", lead="0601;0602", assist="0901")]))
    assert duties(demo_db, "D") == {"0601": "lead", "0602": "lead", "0901": "assist"}
    r = run(demo_db, write(tmp_path / "b.csv", [dept("D", lead="0601")]))
    assert (r.counts["duties_written"], r.counts["duties_removed"]) == (0, 2)
    assert duties(demo_db, "D") == {"0601": "lead"}
    r = run(demo_db, write(tmp_path / "c.csv", [dept("D", assist="0601")]))
    assert r.counts["duties_written"] == 1 and duties(demo_db, "D") == {"0601": "assist"}
    # a file without the two columns leaves the duties as they are
    without = [h for h in HEAD if h not in ("牵头事项", "协办事项")]
    r = run(demo_db, write(tmp_path / "d.csv", [dept("D", name="改名")[:7]], header=without))
    assert r.counts["departments_updated"] == 1
    assert duties(demo_db, "D") == {"0601": "assist"}


def test_an_empty_item_list_is_seeded_and_staff_join_the_department(fresh_db, tmp_path):
    with connect(fresh_db) as conn:
        qi.create_region(conn, "US-MA-BOS", "Boston", "city")
        conn.commit()
    path = write(
        tmp_path / "d.csv",
        [
            dept(
                "BOS-PW", "Public Works", kind="linked", level="city", region="US-MA-BOS", lead="09"
            )
        ],  # fmt: skip
    )
    r = run(fresh_db, path)
    assert r.seeded_item_list and r.rows_loaded == 1
    assert duties(fresh_db, "BOS-PW") == {"09": "lead"}
    staff = tmp_path / "s.csv"
    with staff.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(
            [
                ["name", "mobile", "role", "department"],
                ["Pat", "13805731234", "部门联络员", "BOS-PW"],
            ]
        )
    s = import_staff(fresh_db, staff, progress=False)
    assert s.rows_loaded == 1, s.reasons
    assert sql(fresh_db, "SELECT role, region_code FROM staff") == [
        ("department_officer", "US-MA-BOS")
    ]


def test_the_command_line(demo_db, tmp_path):
    env = {"DATABASE_URL": demo_db.database_url, "GRIDSCOPE_FIXED_NOW": DEMO_NOW.isoformat()}
    path = write(tmp_path / "d.csv", [dept("CLI-1", lead="06")])
    res = CliRunner().invoke(cli, ["import", "departments", str(path), "--dry-run", "--quiet"],
                             env=env)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.startswith("dry run: ") and "would load 1" in res.output
    assert sql(demo_db, "SELECT count(*) FROM department WHERE code = 'CLI-1'") == [(0,)]
    res = CliRunner().invoke(cli, ["import", "departments", str(path), "--quiet"], env=env)
    assert res.exit_code == 0 and "departments: 1 new" in res.output
    res = CliRunner().invoke(cli, ["import", "departments", str(tmp_path / "none.csv")], env=env)
    assert res.exit_code == 1 and "no such file" in res.output
