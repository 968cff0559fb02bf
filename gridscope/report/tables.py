"""The report's tables: masking personal columns for the reader's tier (the same rules as every
other output, ``domain.masking``), and HTML tables with numbers in the page's format, the units
furthest behind marked, and long tables cut with a note (the xlsx carries every row).
"""

from __future__ import annotations

import copy
from typing import Any
from xml.sax.saxutils import escape

from domain.access import Tier
from domain.masking import mask_cell, table_personal_fields

from .data import col_index, column_kinds, fmt_cell, is_ranking, row_kinds, score_key

# Rows a long table shows in the PDF; a ranking shows its head and its tail (the ones behind).
MAX_ROWS = 24
RANK_HEAD = 10
RANK_TAIL = 10
KEEP_ROWS = 14
# Columns a printed table has room for; beyond, the detail columns below are left out.
MAX_COLUMNS = 11
# Tables wider than this (a 24-hour matrix) print in a smaller type.
DENSE_COLUMNS = 14
# Text columns that wrap (every other cell stays on one line).
WRAP_COLUMNS = frozenset({"why", "comment", "address", "formula", "note", "reason", "title"})
DETAIL_COLUMNS = (
    "closed",
    "closed_on_time",
    "reworked",
    "open_past_due",
    "finished",
    "finished_on_time",
    "returned",
    "prev_rank",
    "discovered",
    "self_resolved",
    "reported",
    "reported_on_time",
    "verify_due",
    "verified_on_time",
    "online_minutes",
    "scheduled_minutes",
    "role",
)


def masked(data: dict[str, Any], tier: Tier) -> dict[str, Any]:
    """A copy of the collect() result with every table's personal columns masked for
    ``tier`` (and the same keys of the rankings' level rows, the page's view of those units)."""
    out = copy.deepcopy(data)
    for section in out.values():
        if not isinstance(section, dict):
            continue
        for name, table in (section.get("tables") or {}).items():
            fields = table_personal_fields(table)
            if not fields:
                continue
            for lv in section.get("levels") or []:
                if lv.get("key") == name:
                    for row in lv.get("rows") or []:
                        for k in set(fields) & set(row):
                            row[k] = mask_cell(fields[k], row[k], tier)
            keys = [c[0] for c in table.get("columns") or []]
            idx = [(i, fields[k]) for i, k in enumerate(keys) if k in fields]
            for row in table.get("rows") or []:
                for i, field in idx:
                    if i < len(row):
                        row[i] = mask_cell(field, row[i], tier)
    return out


def _is_numeric(table: dict[str, Any], col: int) -> bool:
    for row in table.get("rows") or []:
        v = row[col] if col < len(row) else None
        if v is None or v == "":
            continue
        return isinstance(v, int | float) and not isinstance(v, bool)
    return False


def _cell(key: str, value: Any, numeric: bool, kind: str | None, heat: float | None) -> str:
    cls = ' class="n"' if numeric else (' class="w"' if key in WRAP_COLUMNS else "")
    style = ""
    if heat and numeric and isinstance(value, int | float) and value > 0:
        # A matrix of counts (hour × weekday) reads as a heat table: darker = more.
        alpha = 0.08 + 0.6 * float(value) / heat
        style = f' style="background: rgba(31, 78, 158, {alpha:.2f})"'
    return f"<td{cls}{style}>{escape(fmt_cell(key, value, kind))}</td>"


def _heat_max(table: dict[str, Any], numeric: list[bool]) -> float | None:
    """The largest count of a wide table whose columns after the first are all numeric (a
    matrix such as hour × weekday), or None for other tables."""
    cols = table.get("columns") or []
    if len(cols) <= DENSE_COLUMNS or not all(numeric[1:]):
        return None
    values = [
        float(v) for r in table.get("rows") or [] for v in r[1:] if isinstance(v, int | float)
    ]
    return max(values) if values and max(values) > 0 else None


def printable(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` with the columns a page of A4 has no room for left out (the counts a rate is
    made of, codes beside names, previous ranks) when it has more than MAX_COLUMNS; the xlsx
    keeps every column."""
    cols = table.get("columns") or []
    if len(cols) <= MAX_COLUMNS:
        return table
    keys = [c[0] for c in cols]
    drop = set(DETAIL_COLUMNS)
    if "name" in keys:
        drop |= {"code", "dept_code"}
    keep = [i for i, k in enumerate(keys) if k not in drop]
    if len(keep) < 2:
        return table
    return {
        **table,
        "columns": [cols[i] for i in keep],
        "rows": [[r[i] if i < len(r) else None for i in keep] for r in table.get("rows") or []],
        "cut_columns": len(cols) - len(keep),
    }


def _is_marked(table: dict[str, Any], row: list[Any], marked: set[str]) -> bool:
    for key in ("code", "name"):
        i = col_index(table, key)
        if i is not None and i < len(row) and row[i] is not None and str(row[i]) in marked:
            return True
    return False


def _shown_rows(
    table: dict[str, Any], rows: list[list[Any]], flagged: set[int], cap: int, ranking: bool
) -> list[int | str]:
    """Which rows a printed table shows (indexes), with a note (str) where rows are left out.
    A ranking shows its first RANK_HEAD scored rows and its last scored rows (down to the
    first marked one), then says how many units had nothing to score."""
    if len(rows) <= cap:
        return list(range(len(rows)))
    if not ranking:
        return [
            *range(cap),
            f"…… 共 {len(rows):,} 行，此处略去 {len(rows) - cap:,} 行（完整数据见 xlsx）",
        ]
    sk = score_key(table)
    si = col_index(table, sk) if sk else None
    scored = [i for i, r in enumerate(rows) if si is None or r[si] is not None]
    unscored = len(rows) - len(scored)
    out: list[int | str] = list(scored)
    if len(scored) > cap:
        first_marked = min((scored.index(i) for i in flagged if i in scored), default=len(scored))
        tail = max(RANK_TAIL, len(scored) - first_marked)
        left = len(scored) - RANK_HEAD - tail
        out = [*scored[:RANK_HEAD]]
        if left > 0:
            out.append(
                f"…… 共 {len(scored):,} 个单位参与排名，此处略去 {left:,} 个（完整数据见 xlsx）"
            )
        out += scored[max(RANK_HEAD, len(scored) - tail) :]
    if unscored:
        out.append(f"另有 {unscored:,} 个单位本期无可计算数据，未参与排名（见 xlsx）")
    return out


def html_table(
    table: dict[str, Any],
    *,
    marked: set[str] | None = None,
    bottom: int = 0,
    cap: int = MAX_ROWS,
    caption: str | None = None,
) -> str:
    """``table`` ({"title", "columns", "rows"}) as an HTML table, its rows in their order.
    Rows whose code or name is in ``marked`` (else a ranking's last ``bottom`` scored rows) are
    marked as behind. Longer than ``cap`` rows, a ranking shows its head and tail, any other
    table its first rows, with a row saying how many were left out."""
    full = table
    flagged: set[int] = set()
    if marked is not None:  # on the full table: the printed one may lack the code column
        flagged = {i for i, r in enumerate(full.get("rows") or []) if _is_marked(full, r, marked)}
    table = printable(table)
    cols = table.get("columns") or []
    rows = list(table.get("rows") or [])
    numeric = [_is_numeric(table, i) for i in range(len(cols))]
    kinds = column_kinds(full)
    if table is not full:
        kinds = [kinds[[c[0] for c in full["columns"]].index(c[0])] for c in cols]
    head = "".join(f"<th>{escape(str(c[1]))}</th>" for c in cols)
    heat = _heat_max(table, numeric)
    dense = " dense" if len(cols) > DENSE_COLUMNS else ""
    ranking = is_ranking(table)
    if marked is None and ranking and bottom:
        sk = score_key(table)
        si = [c[0] for c in cols].index(sk) if sk else None
        scored = [i for i, r in enumerate(rows) if si is None or r[si] is not None]
        flagged = set(scored[-bottom:]) if len(scored) > bottom else set()
    shown = _shown_rows(table, rows, flagged, cap, ranking)
    body = []
    for i in shown:
        if isinstance(i, str):
            body.append(f'<tr class="gap"><td colspan="{len(cols)}">{escape(i)}</td></tr>')
            continue
        row = rows[i]
        mine = row_kinds(table, row, kinds)
        cells = "".join(
            _cell(c[0], row[j] if j < len(row) else None, numeric[j], mine[j], heat)
            for j, c in enumerate(cols)
        )
        cls = ' class="bottom"' if i in flagged else ""
        body.append(f"<tr{cls}>{cells}</tr>")
    if not rows:
        body.append(f'<tr class="gap"><td colspan="{max(1, len(cols))}">本期无数据</td></tr>')
    title = caption if caption is not None else str(table.get("title") or "")
    cap_html = f"<caption>{escape(title)}</caption>" if title else ""
    # A short table is kept on one page (its caption never left alone at a page's foot).
    keep = ' class="keep"' if len(body) <= KEEP_ROWS else ""
    note = ""
    if table.get("cut_columns"):
        note = f'<div class="note">另有 {table["cut_columns"]} 列明细数见 xlsx。</div>'
    return (
        f'<div{keep}><table class="t{dense}">{cap_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{note}</div>"
    )
