"""The overdue board (超期督办榜): a rotation view of the wall (issue #10) that lays two
full-height tables over the side columns, overdue tickets on the left and tickets in warning
on the right, while the map stays live in the centre.

``board_payload`` is the ``board`` feed's compute function (dashboard/feeds.py): a display-ready
dict, every name and duration already written out, so assets/35_rotation.js only draws it.
``board_overlay`` is the empty element it draws into (inside the screen's ``.gs-main``).
Public facts only (queries/board.py): no personal data, sensitive categories only counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from dash import html

from domain.config import Settings
from domain.supervision import STEP_KEYS
from layers.labels import category_label, stage_name, step_name
from queries.board import board_rows
from queries.scope import Scope

ELEMENT_ID = "gs-board"
# Rows per table: two-line rows of a 16 px minimum text fill a 1080p column with this many,
# leaving room for the "另有 N 件未列出" line under them (12 clipped it).
ROWS = 11
STEP_SHORT_ZH = {1: "提醒", 2: "黄牌", 3: "红牌"}
GROUPS = (
    ("overdue", "超期事项", "暂无超期事项", "超期"),
    ("warning", "预警事项", "暂无预警事项", "剩余"),
)


def span_text(minutes: int) -> str:
    """A duration in whole minutes as zh-CN text: '2天3小时', '3小时12分', '25分钟', '197天',
    '17小时'."""
    minutes = max(0, int(minutes))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    # Two units at most, and one past ten of the larger: '197天6小时' did not fit the board's
    # column at 1080p and was cut to '197天6…'; at that size the smaller unit says nothing.
    if days >= 10:
        return f"{days}天"
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours >= 10:
        return f"{hours}小时"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分钟" if mins else "不足1分钟"


def _place(grid: str, community: str) -> str:
    # Demo and real grid names often repeat their community's ("由拳社区第4网格").
    if not community or grid.startswith(community):
        return grid
    return f"{community} · {grid}"


def _row(r: dict[str, Any], now: datetime, settings: Settings) -> dict[str, Any]:
    due: datetime = r["stage_due_at"]
    minutes = int(abs((now - due).total_seconds()) // 60)
    step = int(r["step"])
    return {
        "no": r["ticket_no"],
        "category": category_label(r["major"], r["minor"]) or "未分类",
        "place": _place(r["grid_name"], r["community_name"]),
        "stage": stage_name(r["stage"]) or "—",
        "department": r["lead_department"] or "",
        "due_text": span_text(minutes),
        "due_local": due.astimezone(settings.tz).strftime("%m-%d %H:%M"),
        "step": step,
        "step_key": STEP_KEYS.get(step, "none"),
        "step_name": step_name(step),
        "step_short": STEP_SHORT_ZH.get(step, ""),
    }


def _more_text(count: int, listed: int, sensitive: int) -> str:
    """What the table does not show: the rest of the count, and why part of it never is."""
    rest = count - listed
    if rest <= 0:
        return ""
    if sensitive <= 0:
        return f"另有 {rest} 件未列出"
    if sensitive == rest:
        return f"另有 {rest} 件属特殊人群、矛盾纠纷类，只计数、不列出"
    return f"另有 {rest} 件未列出（其中 {sensitive} 件属特殊人群、矛盾纠纷类，只计数）"


def board_payload(
    conn: psycopg.Connection, scope: Scope, now: datetime, settings: Settings
) -> dict[str, Any]:
    """The board of ``scope`` at ``now``, ready to draw: {"title", "summary", "groups": [
    {"key" (overdue|warning), "title", "count", "rows": [row], "more" (tickets counted, not
    listed), "more_text", "empty" (text when the count is 0), "due_head" (超期 | 剩余)}]}.
    A row: {"no", "category", "place" (community · grid), "stage", "department", "due_text"
    (how long overdue, or left before due: '3小时12分', in calendar time), "due_local" (the
    stage's due time, MM-DD HH:MM in settings.timezone), "step" 0–3, "step_key",
    "step_name", "step_short"}. Sensitive categories are in the counts, never in the rows."""
    data = board_rows(conn, scope, now, limit=ROWS)
    counts = data["counts"]
    groups = []
    for key, title, empty, word in GROUPS:
        rows = [_row(r, now, settings) for r in data[key]]
        count = counts[key]
        groups.append(
            {
                "key": key,
                "title": title,
                "count": count,
                "rows": rows,
                "more": max(0, count - len(rows)),
                "more_text": _more_text(count, len(rows), counts[f"sensitive_{key}"]),
                "empty": empty if count == 0 else "",
                "due_head": word,
            }
        )
    summary = (
        f"超期 {counts['overdue']} 件 · 预警 {counts['warning']} 件 · "
        f"红牌 {counts['step_3']} · 黄牌 {counts['step_2']} · 提醒 {counts['step_1']}"
    )
    return {"title": "超期督办榜", "summary": summary, "groups": groups}


def board_overlay() -> html.Div:
    """The empty overlay the board is drawn into (hidden until a rotation step shows it);
    place it inside the screen's ``.gs-main`` (assets/36_rotation.css positions it over the
    side columns). 30_wall.js polls the board's feed while a rotation view shows it;
    assets/35_rotation.js draws each answer here."""
    # data-feed: 30_wall.js marks the board stale like any panel fed by "board".
    return html.Div(id=ELEMENT_ID, className="gs-board", hidden=True, **{"data-feed": "board"})
