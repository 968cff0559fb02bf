"""The ticket table (dash-ag-grid, infinite row model): columns, and the rows of one block as
the grid asks for them (start..end, sort), masked for the viewer."""

from __future__ import annotations

import hashlib
from typing import Any

import dash_ag_grid as dag

from domain import disclosure as dis
from domain.explore.filters import CLOCK_NAMES_ZH, SORTS
from domain.masking import Masker
from domain.vocabulary import SOURCE_NAMES_ZH, URGENCY_NAMES_ZH
from domain.workflow.rules import STAGE_NAMES_ZH, STATE_NAMES_ZH

from . import ids

BLOCK = 100


def theme(scale: float) -> str:
    """AG Grid's dark theme at ``scale`` (the page's root font size over 16 px: 2 on a 4K
    screen, where the rest of the page doubles through rem units)."""
    return (
        "themeQuartz.withParams({browserColorScheme: 'dark', "
        "backgroundColor: '#061530', foregroundColor: '#d8e8ff', accentColor: '#3cc8ff',"
        "headerBackgroundColor: '#0a2248', borderColor: 'rgba(63,134,198,0.38)',"
        "fontFamily: 'Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif',"
        f"fontSize: {round(14 * scale)}, rowHeight: {round(34 * scale)},"
        f" headerHeight: {round(36 * scale)}}})"
    )


_STATE_NAMES = {str(k): v for k, v in STATE_NAMES_ZH.items()}
_SUP = {0: "", 1: "预警", 2: "黄牌", 3: "红牌"}

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("ticket_no", "事件编号", 190),
    ("created_at", "上报时间", 150),
    ("category", "类别", 170),
    ("grid", "网格", 240),
    ("state", "状态", 90),
    ("clock", "时效", 100),
    ("stage_due_at", "环节期限", 150),
    ("closed_at", "结案时间", 150),
    ("department", "牵头部门", 200),
    ("source", "来源", 100),
    ("urgency", "紧急", 70),
    ("supervision", "督办", 70),
    ("rework_count", "返工", 70),
    ("source_type", "原系统类型", 160),
    ("address", "地址", 240),
)
# Grid column -> the ticket column it sorts by (others are not sortable server-side).
SORT_COLUMNS = {
    "created_at": "created_at",
    "closed_at": "closed_at",
    "stage_due_at": "stage_due_at",
    "grid": "grid_code",
    "category": "category_code",
    "state": "state",
    "supervision": "supervision",
    "rework_count": "rework_count",
}
assert set(SORT_COLUMNS.values()) <= set(SORTS)


def grid(key: str, total: int, scale: float = 1.0) -> dag.AgGrid:
    """A fresh grid for one view (``key`` changes with the filters, so the infinite row
    model starts again from the first block)."""
    # A new id per view: Dash keys children by id, so the grid is mounted afresh and its
    # infinite row model asks for the first block of the new view.
    digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    return dag.AgGrid(
        id={"type": ids.TABLE, "v": digest},
        rowModelType="infinite",
        columnDefs=[
            {
                "field": f,
                "headerName": h,
                "width": round(w * scale),
                "sortable": f in SORT_COLUMNS,
                "cellClass": f"exp-col-{f}",
            }
            for f, h, w in COLUMNS
        ],
        defaultColDef={"resizable": True, "suppressHeaderMenuButton": True},
        dashGridOptions={
            "rowBuffer": 0,
            "cacheBlockSize": BLOCK,
            "maxBlocksInCache": 10,
            "infiniteInitialRowCount": min(total, BLOCK) or 1,
            "rowSelection": {"mode": "singleRow", "checkboxes": False},
            "localeText": {"loadingOoo": "加载中…", "noRowsToShow": "没有符合条件的事件"},
            # dash-ag-grid evaluates these strings without the global String(): concatenate.
            "getRowId": {"function": "'' + params.data.id"},
            # AG Grid's Theming API builds its styles in the browser: no theme CSS to fetch
            # (dash_ag_grid.themes points at a CDN, which a command centre cannot reach).
            "theme": {"function": theme(scale)},
        },
        className="exp-grid",
        style={"height": "100%", "width": "100%"},
    )


def sort_of(sort_model: Any, default: str) -> str:
    """The ``sort`` value for the grid's sort model (first sorted column), else ``default``."""
    if isinstance(sort_model, list) and sort_model and isinstance(sort_model[0], dict):
        col = SORT_COLUMNS.get(sort_model[0].get("colId", ""))
        if col:
            return ("-" if sort_model[0].get("sort") == "desc" else "") + col
    return default


def _time(value, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""


def rows(raw: list[dict[str, Any]], masker: Masker, tz) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "ticket_no": r["ticket_no"],
            "created_at": _time(r["created_at"], tz),
            "category": f"{r['category_name'] or ''} {r['category_code']}",
            "grid": f"{r['grid_name'] or ''} {r['grid_code']}",
            "state": _STATE_NAMES.get(r["state"], r["state"]),
            "clock": CLOCK_NAMES_ZH.get(r["clock"], r["clock"]),
            "clock_key": r["clock"],
            "stage_due_at": _time(r["stage_due_at"], tz) if r["stage"] else "",
            "stage": STAGE_NAMES_ZH.get(r["stage"] or "", ""),
            "closed_at": _time(r["closed_at"], tz),
            "department": r["department_name"] or "",
            "source": SOURCE_NAMES_ZH.get(r["source"], r["source"]),
            "urgency": URGENCY_NAMES_ZH.get(r["urgency"], r["urgency"]),
            "supervision": _SUP.get(r["supervision"], ""),
            "rework_count": r["rework_count"],
            "source_type": " / ".join(x for x in (r["source_type"], r["source_reason"]) if x),
            "address": dis.address(masker, r["address"]) or "",
        }
        for r in raw
    ]
