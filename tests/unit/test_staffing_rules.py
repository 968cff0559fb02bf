"""The staffing rules as a table (domain/staffing.py), the report's lines and totals
(domain/staffing_report.py) and the wall's 配备缺口 card (dashboard/screen/bars.py)."""

from __future__ import annotations

import csv
import io
import re

import pytest

from dashboard.screen.bars import basic_view, calendar_notices, compact_int, staffing_stat
from domain import staffing as st
from domain.staffing_report import (
    CSV_COLUMNS,
    Finding,
    findings_csv,
    grid_findings,
    report_of,
    summarize,
)


def facts(grid_type="comprehensive", area=st.URBAN, contacts=1, micro=(0, 0), **staff):
    counts = {r: 0 for r in st.GRID_ROLES} | staff
    return st.GridFacts(grid_type, area, counts, contacts, micro[0], micro[1])


def gaps(g, rules=st.GRID_RULES) -> dict[str, str]:
    return {rule.id: missing for rule, missing in st.grid_gaps(g, rules)}


STAFFED = {"grid_chief": 1, "fulltime_worker": 1}


# ------------------------------------------------------------------ urban or rural


@pytest.mark.parametrize(
    "kind, name, area",
    [
        ("urban", "博山村", st.URBAN),  # kind decides over the name
        ("rural", "百福弄社区", st.RURAL),
        ("111", None, st.URBAN),  # 城乡分类代码 主城区
        ("123", "某特殊区域", st.URBAN),
        ("210", "某乡中心区", st.RURAL),
        ("220", "某村", st.RURAL),
        (None, "百福弄社区", st.URBAN),
        (None, "百福弄社区居委会", st.URBAN),
        (None, "博山村", st.RURAL),
        (None, "博山村委会", st.RURAL),
        (None, "三北村村民委员会", st.RURAL),
        (None, " 博山村 ", st.RURAL),
        (None, "Ward 3", st.URBAN),  # unknown: the stricter rule
        (None, None, st.URBAN),  # no region row at all
        ("town", "村口社区", st.URBAN),  # an unknown kind falls back to the name
    ],
)
def test_area_of(kind, name, area):
    assert st.area_of(kind, name) == area


def test_area_params_are_the_constants_sql_applies():
    p = st.area_params()
    assert p["urban_kinds"] == list(st.URBAN_KINDS) and p["rural_kinds"] == list(st.RURAL_KINDS)
    assert re.search(p["rural_name"], "博山村委会") and not re.search(p["rural_name"], "村口社区")


# ------------------------------------------------------------------ grid rules


def test_a_staffed_urban_comprehensive_grid_breaks_no_rule():
    assert gaps(facts(**STAFFED)) == {}


def test_no_chief():
    assert gaps(facts(fulltime_worker=2)) == {"chief_missing": "无网格长"}


def test_urban_comprehensive_needs_a_fulltime_worker_rural_one_any_worker():
    part_only = {"grid_chief": 1, "parttime_worker": 2}
    assert gaps(facts(**part_only)) == {"urban_fulltime_missing": "无专职网格员"}
    assert gaps(facts(area=st.RURAL, **part_only)) == {}
    assert gaps(facts(grid_type="exclusive", **part_only)) == {}  # ZJ 16: as needed


def test_a_grid_with_no_worker_at_all():
    urban = gaps(facts(grid_chief=1))
    assert urban == {
        "urban_fulltime_missing": "无专职网格员",
        "worker_missing": "无专职网格员或兼职网格员",
    }
    assert gaps(facts(grid_type="exclusive", grid_chief=1)) == {
        "worker_missing": "无专职网格员或兼职网格员"
    }
    # Instructors, micro-grid chiefs and household leaders are not the grid's workers.
    others = {"grid_instructor": 1, "micro_grid_chief": 3, "household_leader": 5}
    assert "worker_missing" in gaps(facts(area=st.RURAL, grid_chief=1, **others))


def test_public_contact_and_micro_grid_chiefs():
    assert gaps(facts(contacts=0, **STAFFED)) == {
        "public_contact_missing": "无公开联系电话（网格长、网格员均无电话）"
    }
    assert gaps(facts(micro=(5, 2), **STAFFED)) == {"micro_chief_missing": "2/5 个微网格无微网格长"}
    assert st.RULES_BY_ID["micro_chief_missing"].severity == st.NOTICE


def test_requires_counts_the_roles_together_and_checks_its_arguments():
    two = st.requires(("fulltime_worker", "parttime_worker"), at_least=2)
    assert two(facts(fulltime_worker=1, parttime_worker=1)) is None
    assert two(facts(parttime_worker=1)) == "专职网格员或兼职网格员仅 1 人（应至少 2 人）"
    with pytest.raises(ValueError):
        st.requires(("night_watch",))
    with pytest.raises(ValueError):
        st.requires(("grid_chief",), at_least=st.COUNT_CAP + 1)
    with pytest.raises(ValueError):
        st.requires(())


def test_a_province_adds_a_rule_as_a_row():
    # 濮阳 (PY 10): every grid, exclusive ones included, has a full-time worker.
    puyang = (
        *st.GRID_RULES,
        st.GridRule(
            "fulltime_missing", "网格无专职网格员", st.VIOLATION, "PY 10",
            test=st.requires(("fulltime_worker",)),
        ),
    )  # fmt: skip
    exclusive = facts(grid_type="exclusive", grid_chief=1, parttime_worker=1)
    assert gaps(exclusive) == {}
    assert gaps(exclusive, puyang) == {"fulltime_missing": "无专职网格员"}


def test_counting_groups_equals_testing_each_grid():
    grids = [
        facts(**STAFFED),
        facts(grid_chief=1),
        facts(grid_chief=1),
        facts(area=st.RURAL, parttime_worker=1, contacts=0),
        facts(grid_type="exclusive", micro=(3, 3), grid_chief=1, parttime_worker=1),
    ]
    each: dict[str, int] = {}
    for g in grids:
        for rule_id in gaps(g):
            each[rule_id] = each.get(rule_id, 0) + 1
    groups = [(grids[0], 1), (grids[1], 2), (grids[3], 1), (grids[4], 1)]
    assert dict(st.count_grid_gaps(groups)) == each
    assert each == {
        "urban_fulltime_missing": 2,
        "worker_missing": 2,
        "chief_missing": 1,
        "public_contact_missing": 1,
        "micro_chief_missing": 1,
    }


def test_the_table():
    ids = [r.id for r in st.RULES]
    assert len(ids) == len(set(ids))
    # Violations first; every rule cites articles of the five regulations (DOMAIN.md).
    severities = [r.severity for r in st.RULES]
    assert severities == sorted(severities, key=lambda s: s != st.VIOLATION)
    for r in st.RULES:
        assert r.clauses and all(
            re.fullmatch(r"(JX|ZJ|PY|YZ|AR) \d+(、\d+)*", c) for c in r.clauses.split("；")
        ), r
        assert r.subject in {"grid", "person", "deployment"}
    assert {r.id for r in st.RULES if r.severity == st.VIOLATION} == {
        "chief_missing",
        "urban_fulltime_missing",
        "worker_missing",
        "public_contact_missing",
        "hotline_missing",
    }
    assert st.hotline_gap("") and st.hotline_gap("  ") and st.hotline_gap(None)
    assert not st.hotline_gap("12345")
    assert st.role_name("household_leader") == "联户长" and st.role_name("x") == "x"


# ------------------------------------------------------------------ the report


def row(code, town="330402007", **kw):
    base = {
        "code": code,
        "name": f"网格{code[-3:]}",
        "grid_type": "comprehensive",
        "area": st.URBAN,
        "community_code": code[:12],
        "community": "百福弄社区",
        "town_code": town,
        "town": "建设街道",
        "staff": STAFFED,
        "contacts": 1,
    }
    return base | kw


def test_report_lines_order_and_totals():
    rows = [
        row("330402007024002", micro_grids=4, micro_without_chief=1),
        row("330402007024001", staff={"fulltime_worker": 1}),
        row("330402001001001", town="330402001", contacts=0),
    ]
    found = grid_findings(rows)
    person = Finding("worker_without_grid", st.NOTICE, "无在任网格", staff_no="JX1", person="王五",
                     role="parttime_worker", town_code="330402001")  # fmt: skip
    report = report_of([*found, person], grids=3)
    assert [(f.rule, f.grid_code or f.staff_no) for f in report.findings] == [
        ("public_contact_missing", "330402001001001"),
        ("chief_missing", "330402007024001"),
        ("worker_without_grid", "JX1"),
        ("micro_chief_missing", "330402007024002"),
    ]
    s = report.summary
    assert (s.violations, s.notices, report.grids_with_violations) == (2, 2, 2)
    assert s.by_rule["chief_missing"] == 1 and s.by_rule["worker_missing"] == 0
    assert [r["rule"] for r in s.rows()] == [r.id for r in st.RULES]
    assert report.findings[2].row()["role"] == "兼职网格员"
    assert summarize({"chief_missing": 3, "micro_chief_missing": 7}).violations == 3


def test_findings_csv_has_the_chinese_header_and_defuses_formulas():
    f = Finding("chief_missing", st.VIOLATION, "无网格长", grid_code="330402007024001",
                grid_name="=HYPERLINK(\"x\")", town="建设街道")  # fmt: skip
    text = findings_csv([f], bom=True)
    assert text.startswith("\ufeff")
    header, line = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert header == [h for _, h in CSV_COLUMNS]
    cells = dict(zip(header, line, strict=True))
    assert cells["级别"] == "违规" and cells["规则"] == "未配备网格长"
    assert cells["网格名称"].startswith("'=") and cells["依据条款"].startswith("JX 7")


# ------------------------------------------------------------------ the wall's card


def test_the_wall_card_and_calendar_line():
    card = staffing_stat(
        {"violations": 3, "notices": 9, "by_rule": {"chief_missing": 2, "worker_missing": 1}}
    )
    assert card["label"] == "配备缺口" and card["value"] == "3" and card["tone"] == "alert"
    assert "未配备网格长 2" in card["title"] and "网格无网格员 1" in card["title"]
    assert "提示 9 项" in card["title"]
    assert staffing_stat({"violations": 0, "notices": 0, "by_rule": {}})["tone"] == "ok"
    assert calendar_notices([]) == []
    (line,) = calendar_notices([2027, 2028])
    assert line["text"] == "2027、2028年工作日历未确认" and "周一至周五" in line["title"]
    assert compact_int(99_999) == "99,999" and compact_int(1_812_345) == "181.2万"
    view = basic_view(
        {
            "grids": {"total": 1, "comprehensive": 1, "exclusive": 0},
            "population": 5_012_345,
            "staff": [{"role": "household_leader", "count": 4}],
            "staffing": {"violations": 1, "notices": 0, "by_rule": {"chief_missing": 1}},
            "calendar_unconfirmed": [2027],
        }
    )
    assert [s["label"] for s in view["small"]] == ["户数", "人口", "微网格", "配备缺口"]
    assert view["small"][1]["value"] == "501.2万" and "5,012,345" in view["small"][1]["title"]
    assert view["staff"][0]["name"] == "联户长"
    assert view["notices"][0]["text"] == "2027年工作日历未确认"
    assert len(basic_view({"grids": {}})["small"]) == 3  # no staffing data: no card
