"""The year view of /admin/calendar: twelve Monday-first month grids coloured by kind of day
(workday, weekend, holiday, make-up working day 调休; entered days marked), the holiday periods,
the list of special days, and the year's confirmation with the 60-day notice."""

from __future__ import annotations

import calendar as month_calendar
from datetime import date
from typing import Any

from dash import html

from domain.clock.calendar_days import KINDS_ZH, SOURCES_ZH, DayInfo, holiday_runs
from domain.clock.calendar_edit import WEEKDAYS_ZH
from domain.clock.calendar_years import package_years
from queries import calendar as cal

from .common import notice, table, when

# Where a day's kind comes from, as the page says it (no library names in the page's text).
SOURCES = {**SOURCES_ZH, "package": "国务院安排（内置）"}
LIST_COLUMNS = (
    ("date", "日期"),
    ("weekday", "星期"),
    ("kind", "类型"),
    ("note", "说明"),
    ("source", "来源"),
)


def month_grid(year: int, month: int, days: dict[date, DayInfo]) -> html.Table:
    """One month as a Monday-first grid; each day coloured by kind, entered days marked."""
    rows = []
    for week in month_calendar.Calendar().monthdatescalendar(year, month):
        cells = []
        for d in week:
            info = days.get(d) if d.month == month else None
            if info is None:
                cells.append(html.Td("", className="adm-cal-day adm-cal-day--out"))
                continue
            cls = f"adm-cal-day adm-cal-day--{info.kind}"
            if info.source == "override":
                cls += " adm-cal-day--entered"
            tip = f"{d} {WEEKDAYS_ZH[d.weekday()]} {KINDS_ZH[info.kind]}"
            tip += f"（{info.note}）" if info.note else ""
            tip += f" · {SOURCES[info.source]}"
            cells.append(html.Td(str(d.day), className=cls, title=tip))
        rows.append(html.Tr(cells))
    head = html.Tr([html.Th(w[-1]) for w in WEEKDAYS_ZH])
    return html.Table(
        [html.Caption(f"{month} 月"), html.Thead(head), html.Tbody(rows)],
        className="adm-cal-month",
    )


def year_view(status: cal.YearStatus) -> list:
    """The legend, the twelve month grids and the list of holidays and make-up days."""
    days = {d.day: d for d in status.days}
    legend = html.Div(
        [
            html.Span(label, className=f"adm-cal-key adm-cal-day--{kind}")
            for kind, label in KINDS_ZH.items()
        ]
        + [html.Span("管理员设置", className="adm-cal-key adm-cal-day--entered")],
        className="adm-cal-legend",
    )
    count = html.P(
        ["全年工作日 ", html.Strong(str(status.working_days)), " 天"], className="adm-cal-count"
    )
    grids = html.Div(
        [month_grid(status.year, m, days) for m in range(1, 13)], className="adm-cal-months"
    )
    runs = holiday_runs(status.days)
    periods = html.P(
        "；".join(
            f"{r.name or '节假日'} {r.first:%m-%d}–{r.last:%m-%d}（{r.days} 天）" for r in runs
        )
        or "本年没有节假日（按周一至周五）",
        className="adm-cal-runs",
    )
    cells = [
        {
            "date": d.day.isoformat(),
            "weekday": WEEKDAYS_ZH[d.day.weekday()],
            "kind": KINDS_ZH[d.kind],
            "note": d.note or "",
            "source": SOURCES[d.source],
        }
        for d in status.days
        if d.special
    ]
    return [
        html.Div([count, legend], className="adm-cal-bar"),
        grids,
        periods,
        html.Details(
            [
                html.Summary(f"节假日与调休明细（{len(cells)} 天）"),
                table(LIST_COLUMNS, cells, "无"),
            ],
            className="adm-cal-list",
        ),
    ]


def status_block(status: cal.YearStatus, pending: list[int], tz: Any) -> list:
    """The year's confirmation in one banner; the 60-day notice (years not confirmed that start
    soon) joins it when it names the shown year, and stands alone for other years."""
    first, last = package_years()
    others = [y for y in pending if y != status.year]
    out = []
    if others:
        out.append(
            html.Div(
                f"提醒：{'、'.join(str(y) for y in others)} 年工作日历未确认，"
                "未来 60 天内将用到，期限按周一至周五计算。",
                className="gs-admin-notice gs-admin-notice--error adm-cal-pending",
                role="alert",
            )
        )
    if status.known:
        extra = f"，另有管理员设置 {status.overrides} 天" if status.overrides else ""
        out.append(
            notice(
                True,
                f"{status.year} 年：按内置的国务院节假日安排（收录 {first}–{last} 年）{extra}",
            )
        )
    elif status.confirmation is not None:
        c = status.confirmation
        src = f"，依据 {c['source']}" if c.get("source") else ""
        by = f"{c['confirmed_by']} 于 {when(c['confirmed_at'], tz)}"
        out.append(notice(True, f"{status.year} 年已确认：{by}{src}"))
    else:
        soon = "，未来 60 天内将用到" if status.year in pending else ""
        line = notice(
            False,
            f"{status.year} 年工作日历未确认{soon}：内置的国务院节假日安排收录至 {last} 年，"
            f"除已设置的 {status.overrides} 天外按周一至周五计算。"
            "请按国务院办公厅通知录入节假日和调休后确认。",
        )
        line.className += " adm-cal-pending"
        out.append(line)
    return out
