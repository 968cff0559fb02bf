"""/admin/audit: the audit trail about the administrator's jurisdiction, searched by time range
(local days), actor and action, newest first and capped (queries.audit.MAX_SEARCH_ROWS). Each
search is itself audited (action ``audit_search``): the trail names people."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
from dash import Input, Output, State, callback, dcc, html, no_update

from domain.access import Role, policy
from queries import audit
from queries.audit import MAX_SEARCH_ROWS, event_for
from queries.services import Services
from queries.viewer import Viewer

from .common import DENIED, UNAVAILABLE, acting, admin_page, date_input, field, notice, table, text

log = logging.getLogger(__name__)

PATH = "/admin/audit"
DEFAULT_DAYS = 7
LIMITS = (50, 200, MAX_SEARCH_ROWS)
ACTION_NAMES = {
    "login": "登录",
    "login_failure": "登录失败",
    "login_locked": "登录被锁定",
    "logout": "退出",
    "wall_open": "打开大屏链接",
    "wall_link_invalid": "无效大屏链接",
    "user_add": "新建账号",
    "user_passwd": "重置密码",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "user_role": "修改角色/辖区",
    "wall_create": "创建大屏链接",
    "wall_revoke": "吊销大屏链接",
    "audit_search": "查询审计日志",
    "explore_ticket_read": "查看事件详情（个人信息）",
    "analytics_export": "导出态势分析表格",
    "analytics_report": "生成运行分析报告",
    "audit_purge": "清理审计日志",
    "demo_account": "演示账号",
    "ticket_import": "导入事件",
    "grid_import": "导入网格",
    "micro_grid_import": "导入微网格",
    "staff_import": "导入人员",
    "department_import": "导入部门",
    "item_admit": "事项纳入清单",
    "item_amend": "调整清单事项",
    "item_withdraw": "事项退出清单",
    "item_refused": "拒绝纳入事项",
    "calendar_change": "修改工作日历",
    "calendar_confirm": "确认年度工作日历",
}
ROLE_VALUES = frozenset(r.value for r in Role)
KIND_NAMES = {
    "user": "用户",
    "wall": "大屏",
    "token": "接口令牌",
    "anonymous": "匿名",
    "cli": "命令行",
}
COLUMNS = (
    ("at", "时间"),
    ("actor", "操作者"),
    ("role", "角色"),
    ("jurisdiction", "辖区"),
    ("action", "动作"),
    ("object", "对象"),
    ("outcome", "结果"),
    ("client", "来源地址"),
    ("detail", "详情"),
)


class FilterError(ValueError):
    """A filter value the search cannot use; the message is zh-CN."""


def action_label(action: str) -> str:
    name = ACTION_NAMES.get(action)
    return f"{name}（{action}）" if name else action


def _day(value: Any, what: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise FilterError(f"{what}格式不正确")
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise FilterError(f"{what}须为日期，如 2026-11-25") from None


def parse_filters(form: dict[str, Any], tz) -> dict[str, Any]:
    """search() keyword arguments from the form: days are local (settings.timezone), the end
    day included; FilterError for a value the search cannot use."""
    since_day, until_day = _day(form.get("since"), "起始日期"), _day(form.get("until"), "结束日期")
    if since_day and until_day and since_day > until_day:
        raise FilterError("起始日期晚于结束日期")
    limit = form.get("limit")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit not in LIMITS:
        limit = LIMITS[1]
    action = text(form.get("action"), 64) or None
    return {
        "since": datetime.combine(since_day, time(), tz) if since_day else None,
        "until": datetime.combine(until_day + timedelta(days=1), time(), tz) if until_day else None,
        "actor": text(form.get("actor"), 64) or None,
        "action": action,
        "limit": limit,
    }


def _cells(rows: list[dict[str, Any]], tz) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        obj = r["object"] or ""
        if r["count"] is not None:
            obj = f"{obj} ×{r['count']}".strip()
        detail = json.dumps(r["detail"], ensure_ascii=False) if r["detail"] else ""
        role = policy(r["role"]).name_zh if r["role"] in ROLE_VALUES else r["role"]
        out.append(
            {
                "at": r["at"].astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                "actor": f"{KIND_NAMES.get(r['actor_kind'], r['actor_kind'])} "
                f"{r['actor_name'] or '—'}",
                "role": role or "—",
                "jurisdiction": r["jurisdiction"] or "全部",
                "action": action_label(r["action"]),
                "object": obj or "—",
                "outcome": "成功" if r["outcome"] == "ok" else r["outcome"],
                "client": r["client_addr"] or "—",
                "detail": html.Code(detail[:300]) if detail else "",
            }
        )
    return out


def search(svc: Services, viewer: Viewer, form: dict[str, Any]) -> tuple[Any, Any]:
    """(result table, summary) for the form; the search is audited."""
    tz = svc.settings.tz
    try:
        filters = parse_filters(form, tz)
    except FilterError as exc:
        return no_update, notice(False, str(exc))
    try:
        with svc.pool.connection() as conn:
            rows = audit.search(conn, viewer.scope, **filters)
            shown = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in filters.items()
            }
            event = event_for(viewer, "audit_search", count=len(rows), detail=shown)
            audit.write(conn, event, svc.clock.now())
    except psycopg.Error:
        log.exception("admin: audit search failed")
        return no_update, notice(False, UNAVAILABLE)
    summary = f"共 {len(rows)} 条，按时间倒序"
    if len(rows) >= filters["limit"]:
        summary += f"（只显示最新 {filters['limit']} 条，请缩小时间范围或条件）"
    return table(COLUMNS, _cells(rows, tz), "没有符合条件的记录"), notice(True, summary)


def _filters(svc: Services, actions: list[str]) -> html.Section:
    today = svc.clock.now().astimezone(svc.settings.tz).date()
    start = today - timedelta(days=DEFAULT_DAYS - 1)
    options = [
        {"label": action_label(a), "value": a} for a in sorted(set(actions) | set(ACTION_NAMES))
    ]
    return html.Section(
        [
            field(
                "起始日期",
                date_input("adm-audit-since", start.isoformat()),
            ),
            field(
                "结束日期",
                date_input("adm-audit-until", today.isoformat()),
            ),
            field(
                "操作者",
                dcc.Input(
                    id="adm-audit-actor",
                    type="text",
                    maxLength=64,
                    placeholder="用户名或名称的一部分",
                    className="gs-admin-input",
                ),
            ),
            field(
                "动作",
                dcc.Dropdown(
                    options,
                    None,
                    id="adm-audit-action",
                    placeholder="全部动作",
                    className="gs-admin-dropdown",
                ),
            ),
            field(
                "条数",
                dcc.Dropdown(
                    [{"label": f"最新 {n} 条", "value": n} for n in LIMITS],
                    LIMITS[1],
                    id="adm-audit-limit",
                    clearable=False,
                    searchable=False,
                    className="gs-admin-dropdown",
                ),
            ),
            html.Button("查询", id="adm-audit-search", className="gs-admin-button"),
        ],
        className="gs-admin-card gs-admin-wide gs-admin-filters",
    )


def _body(svc: Services, viewer: Viewer) -> list:
    with svc.pool.connection() as conn:
        actions = audit.actions(conn)
    filters = _filters(svc, actions)
    today = svc.clock.now().astimezone(svc.settings.tz).date()
    initial = {
        "since": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "until": today.isoformat(),
        "limit": LIMITS[1],
    }
    results, summary = search(svc, viewer, initial)
    return [
        filters,
        html.Section(
            [html.Div(summary, id="adm-audit-summary"), html.Div(results, id="adm-audit-table")],
            className="gs-admin-card gs-admin-wide",
        ),
    ]


def layout() -> html.Div:
    return admin_page(PATH, _body)


def audit_action(form: dict[str, Any]) -> tuple[Any, Any]:
    acting_now = acting()
    if acting_now is None:
        return no_update, notice(False, DENIED)
    svc, actor = acting_now
    assert actor.viewer is not None  # acting() builds actors from viewers
    return search(svc, actor.viewer, form)


def register() -> None:
    """The page's callback (called by dashboard/pages/admin_audit.py once per app)."""

    @callback(
        Output("adm-audit-table", "children"),
        Output("adm-audit-summary", "children"),
        Input("adm-audit-search", "n_clicks"),
        State("adm-audit-since", "value"),
        State("adm-audit-until", "value"),
        State("adm-audit-actor", "value"),
        State("adm-audit-action", "value"),
        State("adm-audit-limit", "value"),
        prevent_initial_call=True,
    )
    def apply(_n: Any, since: Any, until: Any, actor: Any, action: Any, limit: Any):
        form = {"since": since, "until": until, "actor": actor, "action": action, "limit": limit}
        return audit_action(form)
