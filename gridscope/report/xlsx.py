"""The report's tables as an xlsx workbook: a 说明 sheet (jurisdiction, period, comparison
periods, generation time, the measures' formulas), then one sheet per section with its tables
one under the other (a bold title row, the header row, the rows, a blank row).

Cells keep collect()'s values: numbers as numbers (rates as fractions formatted "0.0%", counts
"#,##0", scores "0.0"), text as text (written as strings, never as formulas), None as an empty
cell; personal columns are masked before they get here (``tables.masked``).
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Any

import xlsxwriter

from .data import SECTIONS, column_kinds, generated_local, row_kinds, tables

SECTION_SHEETS = {
    "measures": "主要指标",
    "rankings": "排名",
    "categories": "类别结构",
    "hotspots": "热点与重复问题",
    "rhythm": "时间分布",
    "satisfaction": "群众满意度",
    "patrol": "巡查情况",
}
_NUMBER_FORMATS = {
    "rate": "0.0%",
    "count": "#,##0",
    "score": "0.0",
    "pct": "0.0",
    "change:rate": "+0.0%;-0.0%;0.0%",
    "change:count": "+0.0%;-0.0%;0.0%",
    "change:score": "+0.0;-0.0;0.0",
    "places": "+0;-0;0",
}
TREND_TABLE_TITLE = "主要指标走势（近12期）"


class _Writer:
    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.bold = book.add_format({"bold": True, "font_size": 12})
        self.head = book.add_format(
            {"bold": True, "bg_color": "#E8EDF5", "border": 1, "text_wrap": True}
        )
        self.text = book.add_format({"border": 1})
        self.formats = {
            k: book.add_format({"num_format": v, "border": 1}) for k, v in _NUMBER_FORMATS.items()
        }
        self.plain = book.add_format({"border": 1})

    def cell(self, sheet, r: int, c: int, value: Any, kind: str | None) -> None:
        if value is None:
            sheet.write_blank(r, c, None, self.text)
        elif isinstance(value, bool):
            sheet.write_string(r, c, "是" if value else "否", self.text)
        elif isinstance(value, int | float):
            sheet.write_number(r, c, value, self.formats.get(kind or "", self.plain))
        elif isinstance(value, list | tuple):
            sheet.write_string(r, c, "、".join(str(v) for v in value), self.text)
        else:
            sheet.write_string(r, c, str(value), self.text)

    def table(self, sheet, row: int, title: str, headers, rows, kinds, source=None) -> int:
        """Write one table at ``row`` (``source``: the collect() table, for per-row kinds);
        returns the next free row (after a blank one)."""
        sheet.write_string(row, 0, title, self.bold)
        for j, h in enumerate(headers):
            sheet.write_string(row + 1, j, str(h), self.head)
        for i, values in enumerate(rows):
            mine = row_kinds(source, values, kinds) if source is not None else kinds
            for j in range(len(headers)):
                v = values[j] if j < len(values) else None
                self.cell(sheet, row + 2 + i, j, v, mine[j] if j < len(mine) else None)
        return row + 2 + len(rows) + 1


def _trend_block(w: _Writer, sheet, data: dict[str, Any], row: int) -> int:
    """The 12-period series of every measure (the trend charts' numbers); the next row."""
    cards = (data.get("measures") or {}).get("cards") or []
    periods: list[list[Any]] = []
    for c in cards:
        for s in c.get("series") or []:
            if not any(p[0] == s.get("period") for p in periods):
                periods.append([s.get("period"), s.get("label")])
    if not periods:
        return row
    by_card = [{s.get("period"): s.get("value") for s in c.get("series") or []} for c in cards]
    rows = [[key, label, *(v.get(key) for v in by_card)] for key, label in periods]
    headers = ["期间", "标签", *(c.get("name") for c in cards)]
    kinds = [None, None, *(c.get("kind") for c in cards)]
    return w.table(sheet, row, TREND_TABLE_TITLE, headers, rows, kinds)


def _notes(data: dict[str, Any], org: str, tz: tzinfo | None) -> list[tuple[str, str]]:
    meta = data.get("meta") or {}
    at = generated_local(data, tz)
    m = data.get("measures") or {}
    lines = [
        ("报告", "网格化服务管理运行分析报告（数据表）"),
        ("编制单位", org),
        ("辖区", f"{meta.get('area_name', '')}（{meta.get('area') or '全部'}）"),
        ("期间", f"{meta.get('label', '')}（{meta.get('period', '')}）"),
        ("环比对比期", str((m.get("previous") or {}).get("label", ""))),
        ("同比对比期", str((m.get("year_ago") or {}).get("label", ""))),
        ("生成时间", at.strftime("%Y-%m-%d %H:%M:%S %z") if at else ""),
        (
            "说明",
            "比率为小数（单元格显示为百分比）；环比、同比：比率为百分点差，数量为增减幅度；"
            "空单元格表示无可比数据（分母为零）。个人信息按阅读者权限脱敏。",
        ),
    ]
    for c in m.get("cards") or []:
        lines.append((f"口径：{c.get('name', c.get('key'))}", str(c.get("formula", ""))))
    return lines


def write_xlsx(data: dict[str, Any], path: Path, *, org: str, tz: tzinfo | None = None) -> Path:
    """Write the workbook of ``data`` (a masked collect() result) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(
        str(path),
        # Rows are written in order, sheet by sheet: constant memory whatever the table sizes.
        {"strings_to_formulas": False, "strings_to_urls": False, "constant_memory": True},
    )
    try:
        w = _Writer(book)
        notes = book.add_worksheet("说明")
        notes.set_column(0, 0, 22)
        notes.set_column(1, 1, 90)
        for i, (k, v) in enumerate(_notes(data, org, tz)):
            notes.write_string(i, 0, k, w.bold if i == 0 else w.text)
            notes.write_string(i, 1, v, w.text)
        for section in SECTIONS:
            sheet = book.add_worksheet(SECTION_SHEETS[section])
            sheet.set_column(0, 0, 16)
            sheet.set_column(1, 30, 13)
            row = 0
            for name, t in tables(data, section).items():
                headers = [c[1] for c in t.get("columns") or []]
                row = w.table(
                    sheet,
                    row,
                    str(t.get("title") or name),
                    headers,
                    t.get("rows") or [],
                    column_kinds(t),
                    t,
                )
            if section == "measures":
                row = _trend_block(w, sheet, data, row)
    finally:
        book.close()
    return path
