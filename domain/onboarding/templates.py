"""The xlsx templates of the onboarding files (``gridscope import template KIND``, and
/admin/templates/<kind>.xlsx), written from the one declaration of their columns
(domain.onboarding.columns). Bytes in memory, no file or database.

A template has a data sheet with the Chinese headings (required ones in red, each with its
note as a cell comment), one example row, column widths for the headings and examples, text
format on code, phone and date columns (so Excel keeps leading zeros, 18-digit codes and
phone numbers as typed), and a dropdown where the values are a fixed list; and a notes sheet
说明 listing every column: required or not, its note, example, accepted values and the other
headings the importer accepts.
"""

from __future__ import annotations

import io
from typing import Any

from .columns import KINDS, Column

SHEET_NAMES = {"staff": "人员", "departments": "部门", "micro-grids": "微网格", "items": "事项清单"}
NOTES_SHEET = "说明"
# Rows the dropdowns and formats cover (a town's file is seldom longer; Excel's limit is 1M).
VALIDATED_ROWS = 50_000

_INTRO = {
    "staff": (
        "一人在多个网格任职：每个网格一行，或在“网格编码”中填多个编码（用 ; 或 、 分隔）。",
        "人员编号识别本人；不填人员编号时以手机号码识别。同一人的各行姓名、手机号须一致。",
        "再次导入同一文件不会重复；文件中不再出现的网格任职自动结束（保留历史）。",
        "命令：gridscope import staff 文件.xlsx（--dry-run 只检查）。",
    ),
    "departments": (
        "上级部门可在同一文件中，顺序不限；也可是已导入的部门。上级关系不得成环。",
        "牵头事项、协办事项填事项清单的编码，导入后替换该部门原有的牵头/协办事项。",
        "先导入部门，再导入人员（人员的“所属部门编码”须已存在）。",
        "命令：gridscope import departments 文件.xlsx（--dry-run 只检查）。",
    ),
    "micro-grids": (
        "微网格的边界来自 GIS 文件（GeoJSON、Shapefile、GeoPackage）：本表列出其属性字段。",
        "微网格须位于所属网格之内，超出部分会在报告中列出，不会被裁掉。",
        "命令：gridscope import micro-grids 文件.geojson。",
    ),
    "items": (
        "每行是一项变更决定（纳入、调整、退出），须有决定文号和生效日期。",
        "行政许可、行政处罚、行政强制事项依法不得纳入事项清单，此类行将被拒绝。",
    ),
}
_GENERAL = (
    "第1行为列名，请勿修改；第2行为示例，填写前请删除或覆盖。",
    "编码、手机号码、日期列已设为文本格式，请照原样填写（如 330402007024001、2024-03-01）。",
    "有下拉选项的列也接受英文代码（见“可选值”）。",
    "导入时被拒绝的行及原因写入与文件同名的 .rejects.csv 文件。",
)


def display_width(text: str) -> int:
    """Width in Excel character units: CJK and full-width characters count two."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


def _width(col: Column) -> float:
    return min(60, max(10, display_width(col.header) + 4, display_width(col.example) + 3))


def _data_sheet(book: Any, kind: str) -> None:
    columns = KINDS[kind]
    ws = book.add_worksheet(SHEET_NAMES[kind])
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    head_required = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000"}
    )
    text = book.add_format({"num_format": "@"})
    example_text = book.add_format({"num_format": "@", "font_color": "#808080", "italic": True})
    example = book.add_format({"font_color": "#808080", "italic": True})
    for c, col in enumerate(columns):
        as_text = col.cell in ("code", "date")
        ws.set_column(c, c, _width(col), text if as_text else None)
        ws.write_string(0, c, col.header, head_required if col.required else head)
        required = "必填" if col.required else "选填"
        ws.write_comment(0, c, f"{required}。{col.note}", {"x_scale": 2, "y_scale": 1.5})
        if col.example:
            if col.cell == "number" and col.example.isdigit():
                ws.write_number(1, c, int(col.example), example)
            else:
                ws.write_string(1, c, col.example, example_text if as_text else example)
        if col.choices:
            ws.data_validation(
                1,
                c,
                VALIDATED_ROWS,
                c,
                {
                    "validate": "list",
                    "source": list(col.choices),
                    "error_type": "warning",
                    "error_title": col.header,
                    "error_message": "不在下拉选项中（英文代码也可）：" + "、".join(col.choices),
                },
            )
    ws.freeze_panes(1, 0)


def _notes_sheet(book: Any, kind: str) -> None:
    ws = book.add_worksheet(NOTES_SHEET)
    title = book.add_format({"bold": True, "font_size": 14})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top", "border": 1})
    plain = book.add_format({"text_wrap": False})
    ws.write_string(0, 0, f"{SHEET_NAMES[kind]}导入模板说明（gridscope import {kind}）", title)
    row = 2
    for line in _INTRO[kind] + _GENERAL:
        ws.write_string(row, 0, line, plain)
        row += 1
    row += 1
    labels = ("列名", "必填", "说明", "示例", "可选值", "也可用的列名")
    for c, label in enumerate(labels):
        ws.write_string(row, c, label, head)
    for col in KINDS[kind]:
        row += 1
        cells = (
            col.header,
            "是" if col.required else "否",
            col.note,
            col.example,
            "、".join(col.choices),
            ", ".join(dict.fromkeys((col.key, *col.aliases))),
        )
        for c, value in enumerate(cells):
            ws.write_string(row, c, value, wrap)
    for c, width in enumerate((16, 6, 70, 22, 30, 40)):
        ws.set_column(c, c, width)


def template_bytes(kind: str) -> bytes:
    """The xlsx template of ``kind`` (a key of columns.KINDS); KeyError for another kind."""
    import xlsxwriter

    if kind not in KINDS:
        raise KeyError(kind)
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    try:
        _data_sheet(book, kind)
        _notes_sheet(book, kind)
    finally:
        book.close()
    return out.getvalue()


def template_filename(kind: str) -> str:
    """The file name a template is saved or downloaded as."""
    return f"gridscope-{kind}-template.xlsx"
