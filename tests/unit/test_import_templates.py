"""The xlsx templates of the onboarding files, written from domain.onboarding.columns: they
open with openpyxl, their headings are the declared ones (and match back to every column), the
notes sheet lists every column, code columns are text, fixed lists are dropdowns. Also the
table reader (csv/xlsx cells as text) and the cell readers the staff and department imports
share."""

from __future__ import annotations

import gzip
import io
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest

from gridscope.imports import ImportRefused
from gridscope.imports.columns import KINDS, match_headers
from gridscope.imports.roster import REASONS, values
from gridscope.imports.table_source import cell_text, read_table
from gridscope.imports.templates import NOTES_SHEET, SHEET_NAMES, template_bytes


@pytest.fixture(scope="module", params=list(KINDS))
def template(request):
    kind = request.param
    return kind, openpyxl.load_workbook(io.BytesIO(template_bytes(kind)))


def test_headings_are_the_declared_columns(template):
    kind, book = template
    assert book.sheetnames == [SHEET_NAMES[kind], NOTES_SHEET]
    ws = book.worksheets[0]
    headings = [c.value for c in ws[1]]
    assert headings == [c.header for c in KINDS[kind]]
    found, missing = match_headers(kind, headings)
    assert missing == [] and list(found) == [c.key for c in KINDS[kind]]
    example = [c.value or "" for c in ws[2]]
    example += [""] * (len(headings) - len(example))
    assert [str(v) for v in example] == [c.example for c in KINDS[kind]]
    assert ws.freeze_panes == "A2"


def test_the_notes_sheet_lists_every_column(template):
    kind, book = template
    rows = [r for r in book[NOTES_SHEET].iter_rows(values_only=True) if any(r)]
    start = next(i for i, r in enumerate(rows) if r[0] == "列名")
    listed = {r[0]: r for r in rows[start + 1 :]}
    assert list(listed) == [c.header for c in KINDS[kind]]
    for col in KINDS[kind]:
        _, required, note, example, choices, names = listed[col.header]
        assert required == ("是" if col.required else "否")
        assert (note or "") == col.note and (example or "") == col.example
        assert (choices or "") == "、".join(col.choices)
        assert col.key in names.split(", ")
    assert f"gridscope import {kind}" in rows[0][0]


def test_codes_are_text_and_fixed_lists_are_dropdowns(template):
    kind, book = template
    ws = book.worksheets[0]
    for i, col in enumerate(KINDS[kind]):
        # openpyxl reads neighbouring columns of one width and format as one dimension
        dims = [d for d in ws.column_dimensions.values() if d.min <= i + 1 <= d.max]
        fmt = dims[0].number_format if dims else ""
        assert (fmt == "@") == (col.cell in ("code", "date")), col.key
    lists = {next(iter(dv.sqref.ranges)).min_col: dv for dv in ws.data_validations.dataValidation}
    for i, col in enumerate(KINDS[kind]):
        if col.choices:
            dv = lists[i + 1]
            assert dv.type == "list"
            assert dv.formula1.strip('"').split(",") == list(col.choices)
        else:
            assert i + 1 not in lists


def test_staff_template_offers_every_role_including_household_leader():
    from domain.vocabulary import ROLE_NAMES_ZH

    role = next(c for c in KINDS["staff"] if c.key == "role")
    assert "联户长" in role.choices and set(role.choices) == set(ROLE_NAMES_ZH.values())
    assert ROLE_NAMES_ZH["household_leader"] == "联户长"


def test_every_dropdown_value_is_read_by_the_importer():
    for col in KINDS["staff"]:
        for choice in col.choices:
            assert values.role(choice) is not None, choice
    dept = {c.key: c for c in KINDS["departments"]}
    assert [values.department_kind(c) for c in dept["kind"].choices] == [
        "linked",
        "service_unit",
        "grid_institution",
    ]
    assert [values.level(c) for c in dept["level"].choices] == [
        "city",
        "county",
        "town",
        "community",
    ]
    assert values.level("街道") == "town" and values.level("县(区)") == "county"
    assert values.role("Grid_Chief") == "grid_chief" and values.role("网格员") is None


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("13805731234", "13805731234"),
        ("+86 138-0573-1234", "13805731234"),
        ("0086 13805731234", "13805731234"),
        ("(138) 0573 1234", "13805731234"),
        ("12805731234", None),
        ("1380573123", None),
        ("0573-82000000", None),
        ("+1 617-635-4900", "+16176354900"),
        ("+86 10 1234 5678", None),  # a mainland landline
        ("617-635-4900", None),
    ],
)
def test_mobile(text, expect):
    assert values.mobile(text) == expect


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("2024-03-01", date(2024, 3, 1)),
        ("2024/3/1", date(2024, 3, 1)),
        ("2024.3.1", date(2024, 3, 1)),
        ("2024年3月1日", date(2024, 3, 1)),
        ("20240301", date(2024, 3, 1)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        ("2024-02-30", None),
        ("01/03/2024", None),
        ("soon", None),
    ],
)
def test_day(text, expect):
    assert values.day(text) == expect


def test_code_list():
    assert values.code_list(" a;b；c、d, e，f |a ") == ["a", "b", "c", "d", "e", "f"]
    assert values.code_list("US-MA-BOS-W01") == ["US-MA-BOS-W01"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (13805731234, "13805731234"),
        (13805731234.0, "13805731234"),
        (3.5, "3.5"),
        (datetime(2024, 3, 1), "2024-03-01"),
        (datetime(2024, 3, 1, 8, 30), "2024-03-01 08:30:00"),
        (date(2024, 3, 1), "2024-03-01"),
        (time(8, 30), "08:30:00"),
        (True, "true"),
        ("  网格长 ", "网格长"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_read_table_csv_encodings_gzip_and_padding(tmp_path: Path):
    text = "姓名,手机号码,岗位\n张三,13805731234\n\n李四,13805731235,网格长,extra\n"
    utf8 = tmp_path / "a.csv"
    utf8.write_bytes(b"\xef\xbb\xbf" + text.encode())
    t = read_table(utf8)
    assert (t.header, t.encoding) == (["姓名", "手机号码", "岗位"], "utf-8")
    assert t.rows == [["张三", "13805731234", ""], ["李四", "13805731235", "网格长"]]
    assert t.row_numbers == [2, 4]  # the blank line keeps its number
    gbk = tmp_path / "b.csv"
    gbk.write_bytes(gzip.compress(text.encode("gb18030")))
    assert read_table(gbk).encoding == "gb18030" and read_table(gbk).rows == t.rows
    with pytest.raises(ImportRefused, match="not valid utf-8"):
        read_table(gbk, encoding="utf-8")
    tabbed = tmp_path / "c.csv"
    tabbed.write_text("姓名\t手机号码\n张三\t13805731234\n", encoding="utf-8")
    assert read_table(tabbed).rows == [["张三", "13805731234"]]


def test_read_table_xlsx_sheet_and_missing_headings(tmp_path: Path):
    book = openpyxl.Workbook()
    book.active.title = "封面"
    book.active.append(["这是封面"])
    ws = book.create_sheet("人员")
    ws.append(["姓名", "手机号码"])
    ws.append(["张三", 13805731234])
    path = tmp_path / "s.xlsx"
    book.save(path)
    t = read_table(path, sheet="人员")
    assert (t.format, t.sheet, t.rows) == ("xlsx", "人员", [["张三", "13805731234"]])
    with pytest.raises(ImportRefused, match="no sheet named '名单'.*封面, 人员"):
        read_table(path, sheet="名单")
    with pytest.raises(ImportRefused, match=r"missing required column\(s\) 岗位 for a staff"):
        t.records("staff")


def test_reasons_are_bilingual():
    for key, zh in REASONS.items():
        assert key.isascii() and not zh.isascii(), key


def test_the_docs_list_every_column_as_declared():
    doc = (Path(__file__).parents[2] / "docs" / "imports-roster.md").read_text(encoding="utf-8")
    for cols in KINDS.values():
        for col in cols:
            line = f"| {col.header} | `{col.key}` | {'yes' if col.required else 'no'} |"
            assert line in doc, line
            assert col.note in doc, col.note
