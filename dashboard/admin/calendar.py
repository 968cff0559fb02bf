"""/admin/calendar (工作日历): a year of the work calendar as twelve month grids (workdays,
days off, holidays, make-up working days 调休; the days an administrator entered marked), the
year's confirmation with the 60-day notice, and forms to set or unset days and ranges and to
confirm a year. Each change re-times the open tickets whose clocks run over the changed days and
says how many; it is audited (queries.calendar, docs/calendar.md)."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

import psycopg
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from domain.clock.calendar_edit import CalendarInputError, describe_days, span_edits
from queries import calendar as cal
from queries.admin import Actor, AdminError
from queries.cache import commit_and_bump
from queries.services import Services
from queries.viewer import Viewer

from .calendar_view import status_block, year_view
from .common import DENIED, UNAVAILABLE, acting, admin_page, field, notice, text

log = logging.getLogger(__name__)

PATH = "/admin/calendar"
KINDS = (("holiday", "节假日（放假）"), ("workday", "调休上班"), ("unset", "取消设置（恢复默认）"))
_SPLIT = re.compile(r"[\s,，、;；]+")


def _today(svc: Services) -> date:
    return svc.clock.now().astimezone(svc.settings.tz).date()


def _year(value: Any, default: int) -> int:
    """The chosen year (a browser value: anything), inside calendar_year's 2000–2100."""
    try:
        year = int(value)
    except (TypeError, ValueError, OverflowError):
        return default
    return year if 2000 <= year <= 2100 else default


def render(svc: Services, year: int) -> tuple[list, list]:
    """(the status block, the year view) of ``year``."""
    with svc.pool.connection() as conn:
        status = cal.year_status(conn, year)
        pending = cal.unconfirmed_years(conn, _today(svc))
    return status_block(status, pending, svc.settings.tz), year_view(status)


# ---- changes ---------------------------------------------------------------------------------


def change_days(svc: Services, actor: Actor, form: dict[str, Any]) -> tuple[bool, str]:
    """Set or unset the days the form names; (ok, message with the tickets re-timed)."""
    kind = form.get("kind")
    if not isinstance(kind, str) or kind not in {k for k, _ in KINDS}:
        return False, "请选择：节假日、调休上班或取消设置"
    spans = [s for s in _SPLIT.split(text(form.get("dates"), 2000)) if s]
    try:
        edits = span_edits(spans, None if kind == "unset" else kind == "workday", form.get("note"))
    except CalendarInputError as exc:
        return False, exc.message.zh
    try:
        with svc.pool.connection() as conn:
            result = cal.apply_edits(
                conn, actor, svc.settings.jurisdiction, edits, svc.clock.now(),
                tz=svc.settings.timezone, how="unset" if kind == "unset" else "set",
                source="admin page",
            )  # fmt: skip
            if result.writes:
                commit_and_bump(conn)
            else:
                conn.rollback()
    except AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: calendar change failed")
        return False, UNAVAILABLE
    return True, summary(result)


def summary(result: cal.ChangeResult) -> str:
    """What a change did, in one paragraph (zh-CN)."""
    p = result.plan
    assert p is not None
    parts = [w.zh for w in p.warnings]
    if p.skipped:
        parts.append(f"范围内 {p.skipped} 天本来就是该类型，未保存")
    if not p.writes:
        parts.append("日历没有变化")
        return "；".join(parts)
    changed = describe_days(p.changed_days) if p.changed_days else "无（仅修改说明）"
    parts.append(
        f"已保存 {len(p.upserts)} 天，取消 {len(p.deletes)} 天；工作状态变化 "
        f"{len(p.changed_days)} 天：{changed}"
    )
    parts.append(f"已按新日历重算 {result.tickets} 件未结案件、{result.tasks} 个部门任务的期限")
    return "；".join(parts)


def confirm(svc: Services, actor: Actor, year: int, source: Any) -> tuple[bool, str]:
    """Confirm ``year``; (ok, message)."""
    try:
        with svc.pool.connection() as conn:
            status = cal.year_status(conn, year)
            result = cal.confirm_year(
                conn, actor, svc.settings.jurisdiction, year, svc.clock.now(),
                text(source, 200) or None,
            )  # fmt: skip
            if result.confirmed:
                commit_and_bump(conn)
            else:
                conn.rollback()
    except AdminError as exc:
        return False, exc.message
    except psycopg.Error:
        log.exception("admin: calendar confirmation failed")
        return False, UNAVAILABLE
    if result.already_confirmed:
        return True, f"{year} 年此前已确认"
    if not status.known and status.overrides == 0:
        return True, f"已确认 {year} 年；注意：该年没有设置任何节假日，将按周一至周五计算"
    return True, f"已确认 {year} 年工作日历"


# ---- page ------------------------------------------------------------------------------------


def _forms() -> html.Div:
    change = html.Section(
        [
            html.H2("设置日期"),
            field(
                "日期或范围",
                dcc.Input(
                    id="adm-cal-dates",
                    type="text",
                    maxLength=2000,
                    placeholder="如 2027-02-05..2027-02-13, 2027-02-14",
                    className="gs-admin-input",
                ),  # fmt: skip
                "多个日期用逗号或空格分隔；范围含首尾两天，可含周末",
            ),
            field(
                "类型",
                dcc.RadioItems(
                    [{"label": label, "value": k} for k, label in KINDS],
                    "holiday",
                    id="adm-cal-kind",
                    className="adm-cal-kinds",
                ),
            ),
            field(
                "说明",
                dcc.Input(
                    id="adm-cal-note",
                    type="text",
                    maxLength=100,
                    placeholder="如 春节、春节调休",
                    className="gs-admin-input",
                ),  # fmt: skip
            ),
            html.Div(
                [
                    html.Button("保存", id="adm-cal-apply", className="gs-admin-button"),
                    html.Div(id="adm-cal-msg", className="gs-admin-msg"),
                ],
                className="gs-admin-submit",
            ),
        ],
        className="gs-admin-card",
    )
    confirm_card = html.Section(
        [
            html.H2("确认年度安排"),
            html.P(
                "核对上方日历与国务院办公厅当年节假日安排通知一致后确认；确认后不再提醒。",
                className="gs-admin-hint",
            ),
            field(
                "依据",
                dcc.Input(
                    id="adm-cal-source",
                    type="text",
                    maxLength=200,
                    placeholder="如 国办发明电〔2026〕X号",
                    className="gs-admin-input",
                ),  # fmt: skip
            ),
            html.Div(
                [
                    html.Button(
                        "确认所选年度",
                        id="adm-cal-confirm",
                        className="gs-admin-button gs-admin-button--plain",
                    ),
                    html.Div(id="adm-cal-confirm-msg", className="gs-admin-msg"),
                ],
                className="gs-admin-submit",
            ),
        ],
        className="gs-admin-card",
    )
    return html.Div([change, confirm_card], className="adm-cal-side")


def _body(svc: Services, viewer: Viewer) -> list:
    today = _today(svc)
    with svc.pool.connection() as conn:
        pending = cal.unconfirmed_years(conn, today)
    year = pending[0] if pending else today.year
    status, view = render(svc, year)
    years = [{"label": f"{y} 年", "value": y} for y in range(today.year - 1, today.year + 3)]
    year_card = html.Section(
        [
            html.Div(
                [
                    html.H2("工作日历"),
                    dcc.Dropdown(
                        years,
                        year,
                        id="adm-cal-year",
                        clearable=False,
                        searchable=False,
                        className="gs-admin-dropdown adm-cal-year",
                    ),  # fmt: skip
                ],
                className="adm-cal-head",
            ),
            html.Div(status, id="adm-cal-status"),
            html.Div(view, id="adm-cal-view"),
        ],
        className="gs-admin-card adm-cal-card",
    )
    # The forms beside the year, so that a change and its notice stay on a 1080 screen.
    return [html.Div([year_card, _forms()], className="adm-cal-layout")]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def calendar_action(trigger: Any, form: dict[str, Any]) -> tuple:
    """Outputs (change msg, confirm msg, status, view) for ``trigger`` and the form values."""
    acting_now = acting()
    if acting_now is None:
        return notice(False, DENIED), no_update, no_update, no_update
    svc, actor = acting_now
    year = _year(form.get("year"), _today(svc).year)
    change_msg: Any = no_update
    confirm_msg: Any = no_update
    if trigger == "adm-cal-apply":
        change_msg = notice(*change_days(svc, actor, form))
    elif trigger == "adm-cal-confirm":
        confirm_msg = notice(*confirm(svc, actor, year, form.get("source")))
    elif trigger != "adm-cal-year":
        return (no_update,) * 4
    try:
        status, view = render(svc, year)
    except psycopg.Error:
        log.exception("admin: reading the calendar failed")
        return change_msg, confirm_msg, [notice(False, UNAVAILABLE)], no_update
    return change_msg, confirm_msg, status, view


def register() -> None:
    """The page's callback (called by dashboard/pages/admin_calendar.py once per app)."""

    @callback(
        Output("adm-cal-msg", "children"),
        Output("adm-cal-confirm-msg", "children"),
        Output("adm-cal-status", "children"),
        Output("adm-cal-view", "children"),
        Input("adm-cal-year", "value"),
        Input("adm-cal-apply", "n_clicks"),
        Input("adm-cal-confirm", "n_clicks"),
        State("adm-cal-dates", "value"),
        State("adm-cal-kind", "value"),
        State("adm-cal-note", "value"),
        State("adm-cal-source", "value"),
        prevent_initial_call=True,
    )
    def apply(year: Any, _apply: Any, _confirm: Any, dates: Any, kind: Any, note: Any, source: Any):
        form = {"year": year, "dates": dates, "kind": kind, "note": note, "source": source}
        return calendar_action(ctx.triggered_id, form)
