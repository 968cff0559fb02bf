"""/admin/items (事项清单): the item list in force on a chosen day (default today) as a tree of
majors and minors with names, limits, matter, decision number and effective date; the history
of the decisions; a form to admit, amend or withdraw an entry.

Every change goes through ``queries.item_decisions`` (the rules of ``domain.item_list``, the
audit row in the same transaction); the guard's refusal is shown in full, with the clauses it
quotes, and audited as ``item_refused``. The list is one for the whole deployment, so only an
administrator whose jurisdiction holds every current grid may change it
(``queries.item_list.covers_deployment``); each callback re-checks the caller (``acting``).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import psycopg
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from domain.item_list import (
    ACTION_NAMES_ZH,
    DEFAULT_MATTER,
    ItemRefused,
    decision_from,
    parse_limit,
)
from queries.admin import Actor
from queries.cache import bump_data_version
from queries.item_decisions import record_decision, record_refusal
from queries.item_list import covers_deployment, history_rows, listing_rows, load_timeline
from queries.scope import Scope
from queries.services import Services
from queries.viewer import Viewer

from .common import (
    DENIED,
    UNAVAILABLE,
    acting,
    admin_page,
    date_input,
    field,
    notice,
    table,
    text,
    when,
)

log = logging.getLogger(__name__)

PATH = "/admin/items"
LIST_COLUMNS = (
    ("code", "编码"),
    ("name_zh", "名称"),
    ("name_en", "英文名称"),
    ("matter", "事项性质"),
    ("normal_limit", "一般时限"),
    ("urgent_limit", "紧急时限"),
    ("decision_no", "决定文号"),
    ("effective_on", "生效日期"),
)
HISTORY_COLUMNS = (
    ("effective_on", "生效日期"),
    ("code", "编码"),
    ("action", "操作"),
    ("decision_no", "决定文号"),
    ("name_zh", "名称"),
    ("limits", "时限（一般/紧急）"),
    ("note", "备注"),
    ("recorded", "记录"),
)
NOT_WHOLE = "事项清单适用于全辖区：只有辖区覆盖全部网格的管理员可以调整"
_ACTIONS = [{"label": zh, "value": a} for a, zh in ACTION_NAMES_ZH.items()]
# How a stored limit (``5WD``, ``3WH``, ``24h``, ``30min``; domain.item_list) reads on the page.
LIMIT_UNITS_ZH = {"wd": "个工作日", "wh": "个工作小时", "h": "小时", "min": "分钟"}
NONE = "—"


def _today(svc: Services) -> date:
    return svc.clock.now().astimezone(svc.settings.tz).date()


def _day(value: Any, svc: Services) -> date:
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else _today(svc)
    except ValueError:
        return _today(svc)


def limit_zh(code: str | None) -> str:
    """A limit as users read it: ``5WD`` → 5个工作日, ``3WH`` → 3个工作小时, ``24h`` → 24小时,
    ``30min`` → 30分钟; — for none. The stored and entered form stays ``5WD``."""
    if not code:
        return NONE
    try:
        limit = parse_limit(code)
    except ItemRefused:
        return code
    if limit is None:
        return NONE
    return f"{limit.amount:g}{LIMIT_UNITS_ZH.get(limit.unit, limit.unit)}"


def _limit(code: str | None, inherited: bool) -> Any:
    """A list cell: the limit in words, a minor's inherited one marked （大类）."""
    if not code:
        return html.Span(NONE, className="gs-items-none")
    if not inherited:
        return limit_zh(code)
    mark = html.Span("（大类）", className="gs-items-inherited", title="沿用大类的时限")
    return html.Span([limit_zh(code), mark])


def _english(name_en: str | None, name_zh: str | None) -> Any:
    """The English name, — when none was given (an entry admitted without one carries its
    Chinese name in that field)."""
    if not name_en or name_en == name_zh:
        return html.Span(NONE, className="gs-items-none")
    return name_en


def list_table(rows: list[dict[str, Any]], day: date) -> Any:
    """The list in force as a tree: a minor indented under its major; limits a minor takes
    from its major marked （大类）."""
    if not rows:
        return html.P(f"{day} 清单中没有事项", className="gs-admin-empty")
    body = []
    for r in rows:
        minor = r["parent_code"] is not None
        cells = {
            "code": r["code"],
            "name_zh": r["name_zh"],
            "name_en": _english(r["name_en"], r["name_zh"]),
            "matter": r["matter"],
            "normal_limit": _limit(r["normal_limit"], r["normal_inherited"]),
            "urgent_limit": _limit(r["urgent_limit"], r["urgent_inherited"]),
            "decision_no": r["decision_no"] or "原清单",
            "effective_on": str(r["effective_on"] or "—"),
        }
        body.append(
            html.Tr(
                [html.Td(cells[k]) for k, _ in LIST_COLUMNS],
                className="gs-items-minor" if minor else "gs-items-major",
            )
        )
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for _, h in LIST_COLUMNS])), html.Tbody(body)],
        className="gs-admin-table gs-items-tree",
    )


def history_table(rows: list[dict[str, Any]], tz) -> Any:
    """The decisions, the latest effective first."""
    cells = [
        {
            "effective_on": "原清单" if r["baseline"] else str(r["effective_on"]),
            "code": r["code"],
            "action": ACTION_NAMES_ZH[r["action"]],
            "decision_no": "—" if r["baseline"] else r["decision_no"],
            "name_zh": r["name_zh"],
            "limits": f"{limit_zh(r['normal_limit'])} / {limit_zh(r['urgent_limit'])}",
            "note": r["note"] or "",
            "recorded": f"{when(r['recorded_at'], tz)} · {r['actor']}",
        }
        for r in reversed(rows)
    ]
    return table(HISTORY_COLUMNS, cells, "还没有记录任何决定：清单为导入时的原清单")


def views(conn: psycopg.Connection, day: date, code: str, tz) -> tuple[Any, Any]:
    """(the list in force on ``day``, the history of ``code`` or of every entry)."""
    rows = listing_rows(load_timeline(conn), day)
    history = history_rows(conn, code or None)
    return list_table(rows, day), history_table(history, tz)


def decide(svc: Services, actor: Actor, form: dict[str, Any]) -> tuple[bool, str]:
    """Record the decision the form describes; (ok, message). The guard's refusal is audited
    and its message (with the clauses) returned whole."""
    action = text(form.get("action"), 10)
    fields = {
        "code": text(form.get("code"), 10),
        "action": action if action in ACTION_NAMES_ZH else "",
        "decision_no": text(form.get("decision_no"), 200),
        "effective_on": text(form.get("effective_on"), 10),
        "name_zh": text(form.get("name_zh"), 100) or None,
        "name_en": text(form.get("name_en"), 200) or None,
        "normal": text(form.get("normal"), 20) or None,
        "urgent": text(form.get("urgent"), 20) or None,
        "matter": text(form.get("matter"), 100) or None,
        "note": text(form.get("note"), 500) or None,
    }
    settings, now = svc.settings, svc.clock.now()
    try:
        with svc.pool.connection() as conn:
            if not covers_deployment(conn, actor.scope, Scope(settings.jurisdiction)):
                return False, NOT_WHOLE
            try:
                proposal = decision_from(**fields)
                done = record_decision(
                    conn,
                    actor,
                    now,
                    _today(svc),
                    proposal,
                    about=settings.jurisdiction,
                    tz=settings.tz,
                )
                conn.commit()
            except ItemRefused as exc:
                conn.rollback()
                if exc.guarded:
                    record_refusal(conn, actor, now, exc, fields, about=settings.jurisdiction)
                    conn.commit()
                return False, exc.message
            if done.created:
                bump_data_version(conn)
                conn.commit()
    except psycopg.Error:
        log.exception("admin: recording an item-list decision failed")
        return False, UNAVAILABLE
    d = done.decisions[0]
    what = f"{d.code} {ACTION_NAMES_ZH[d.action]}（{d.decision_no}，生效 {d.effective_on}）"
    if not done.created:
        return True, f"该决定已记录过，未作改动：{what}"
    taken = [m.code for m in done.decisions[1:]]
    tail = f"；其小类 {'、'.join(taken)} 一并退出" if taken else ""
    state = "已生效" if done.in_force else f"将于 {d.effective_on} 生效"
    return True, f"已记录 {what}，{state}{tail}"


def items_action(trigger: Any, form: dict[str, Any]) -> tuple[Any, Any, Any]:
    """Outputs (form message, list, history) for the input ``trigger`` and the form values,
    whatever their types: a decision when the submit button was pressed, else a re-read."""
    acting_now = acting()
    if acting_now is None:
        return notice(False, DENIED), no_update, no_update
    svc, actor = acting_now
    message: Any = no_update
    if trigger == "adm-items-submit":
        ok, said = decide(svc, actor, form)
        message = notice(ok, said)
    try:
        with svc.pool.connection() as conn:
            day, code = _day(form.get("on"), svc), text(form.get("history_code"), 10)
            listed, history = views(conn, day, code, svc.settings.tz)
    except psycopg.Error:
        log.exception("admin: reading the item list failed")
        return notice(False, UNAVAILABLE), no_update, no_update
    return message, listed, history


def _input(ident: str, placeholder: str = "", **kw: Any) -> dcc.Input:
    return dcc.Input(
        id=ident, type="text", placeholder=placeholder, className="gs-admin-input", **kw
    )


def _form() -> html.Section:
    return html.Section(
        [
            html.H2("纳入、调整或退出事项"),
            field(
                "操作",
                dcc.RadioItems(_ACTIONS, "admit", id="adm-items-action", inline=True),
                "退出大类时，其在清单中的小类一并退出",
            ),
            html.Div(
                [
                    field("事项编码", _input("adm-items-code", "如 0910", maxLength=4)),
                    field("生效日期", date_input("adm-items-effective")),
                    html.Span("编码：大类 2 位、小类 4 位", className="gs-admin-hint"),
                ],
                className="gs-items-pair",
            ),
            field(
                "决定文号", _input("adm-items-decision", "如 南湖网格〔2027〕3号", maxLength=100)
            ),
            field("事项名称", _input("adm-items-name", "纳入时必填", maxLength=50)),
            field("英文名称", _input("adm-items-name-en", "可不填", maxLength=100)),
            html.Div(
                [
                    field("一般时限", _input("adm-items-limit", "如 5WD", maxLength=20)),
                    field("紧急时限", _input("adm-items-urgent", "如 24h", maxLength=20)),
                    html.Span(
                        "单位：WD 工作日、WH 工作小时、h 小时、min 分钟",
                        className="gs-admin-hint",
                    ),
                ],
                className="gs-items-pair",
            ),
            field(
                "事项性质",
                _input("adm-items-matter", DEFAULT_MATTER, maxLength=50),
                "行政许可、行政处罚、行政强制事项依法不得纳入清单",
            ),
            field("备注", _input("adm-items-note", "", maxLength=500)),
            html.Div(
                [
                    html.Button("提交决定", id="adm-items-submit", className="gs-admin-button"),
                    html.Div(id="adm-items-msg", className="gs-admin-msg gs-items-msg"),
                ],
                className="gs-admin-submit",
            ),
        ],
        className="gs-admin-card gs-items-form",
    )


def _body(svc: Services, viewer: Viewer) -> list:
    today = _today(svc)
    with svc.pool.connection() as conn:
        listed, history = views(conn, today, "", svc.settings.tz)
    return [
        html.Div(
            [
                html.Section(
                    [
                        html.H2("清单"),
                        field(
                            "生效于",
                            date_input("adm-items-on", today.isoformat(), debounce=True),
                            "显示该日有效的清单版本",
                        ),
                        html.Div(listed, id="adm-items-table"),
                    ],
                    className="gs-admin-card gs-items-list",
                ),
                _form(),
            ],
            className="gs-items-columns",
        ),
        html.Section(
            [
                html.H2("变更记录"),
                field("事项编码", _input("adm-items-history-code", "全部", maxLength=4)),
                html.Div(history, id="adm-items-history"),
            ],
            className="gs-admin-card gs-admin-wide gs-items-history",
        ),
    ]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def register() -> None:
    """The page's callback (called by dashboard/pages/admin_items.py once per app)."""

    @callback(
        Output("adm-items-msg", "children"),
        Output("adm-items-table", "children"),
        Output("adm-items-history", "children"),
        Input("adm-items-submit", "n_clicks"),
        Input("adm-items-on", "value"),
        Input("adm-items-history-code", "value"),
        State("adm-items-action", "value"),
        State("adm-items-code", "value"),
        State("adm-items-decision", "value"),
        State("adm-items-effective", "value"),
        State("adm-items-name", "value"),
        State("adm-items-name-en", "value"),
        State("adm-items-limit", "value"),
        State("adm-items-urgent", "value"),
        State("adm-items-matter", "value"),
        State("adm-items-note", "value"),
        prevent_initial_call=True,
    )
    def apply(
        _submit: Any,
        on: Any,
        history_code: Any,
        action: Any,
        code: Any,
        decision_no: Any,
        effective_on: Any,
        name_zh: Any,
        name_en: Any,
        normal: Any,
        urgent: Any,
        matter: Any,
        note: Any,
    ):
        form = {
            "on": on,
            "history_code": history_code,
            "action": action,
            "code": code,
            "decision_no": decision_no,
            "effective_on": effective_on,
            "name_zh": name_zh,
            "name_en": name_en,
            "normal": normal,
            "urgent": urgent,
            "matter": matter,
            "note": note,
        }
        return items_action(ctx.triggered_id, form)
