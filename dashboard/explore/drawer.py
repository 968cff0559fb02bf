"""The ticket drawer: one ticket's facts, its stage clocks (rebuilt from the append-only log by
``domain.explore.timeline``), its event log and its department tasks, masked for the viewer's
tier with the API's disclosure rules; a read of personal data is audited like the API's."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from dash import html

from domain import disclosure as dis
from domain.explore.timeline import stage_runs
from domain.supervision import STEP_NAMES_ZH
from domain.vocabulary import SATISFACTION_NAMES_ZH, SOURCE_NAMES_ZH, URGENCY_NAMES_ZH
from domain.workflow.rules import STATE_NAMES_ZH
from queries.audit import ticket_read
from queries.explore.drawer import ticket as read_ticket
from queries.item_list import load_clocks
from queries.services import Services

from . import ids

READ_ACTION = "explore_ticket_read"
ACTION_NAMES_ZH = {
    "create": "登记",
    "report": "上报",
    "self_resolve": "就地解决",
    "close": "结案",
    "accept": "受理",
    "reject": "不予受理",
    "request_info": "要求补充",
    "supply_info": "补充信息",
    "escalate": "上报上级",
    "dispatch": "派遣",
    "sign": "签收",
    "return": "退回",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "reject_extension": "驳回延期",
    "suspend": "挂账",
    "resume": "恢复",
    "feedback": "处置反馈",
    "start_verify": "开始核查",
    "verify_pass": "核查通过",
    "verify_fail": "核查不通过（返工）",
    "survey": "回访",
    "supervise": "督办",
    "comment": "备注",
    "retime": "期限重算（工作日历调整）",
}
ACTOR_NAMES_ZH = {
    "worker": "网格员",
    "centre": "指挥中心",
    "department": "部门",
    "public": "群众",
    "system": "系统",
}
TASK_STATE_ZH = {
    "dispatched": "待签收",
    "signed": "已签收",
    "returned": "已退回",
    "feedback": "已反馈",
    "cancelled": "已取消",
}
_STATE_NAMES = {str(k): v for k, v in STATE_NAMES_ZH.items()}


def _t(value: datetime | None, tz: tzinfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else "—"


def duration(d: timedelta) -> str:
    """'3天4小时', '5小时12分', '40分' (absolute)."""
    s = abs(int(d.total_seconds()))
    days, rem = divmod(s, 86400)
    hours, rem = divmod(rem, 3600)
    minutes = rem // 60
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{minutes}分" if minutes else f"{hours}小时"
    return f"{minutes}分"


def _facts(rows: list[tuple[str, Any]]) -> html.Dl:
    out: list[Any] = []
    for k, v in rows:
        out += [html.Dt(k), html.Dd(v if v not in (None, "") else "—")]
    return html.Dl(out, className="exp-facts")


def content(svc: Services, ticket_id: int) -> list[Any]:
    """The drawer's children for ``ticket_id`` (a notice when it is not in the jurisdiction)."""
    viewer = svc.viewer
    assert viewer is not None
    tz, now = svc.settings.tz, svc.clock.now()
    masker = viewer.masker
    with svc.pool.connection() as conn:
        data = read_ticket(conn, svc.scope, ticket_id, now)
        if data is None:
            return [
                _head(f"事件 {ticket_id}"),
                html.P("该事件不在您的辖区内或不存在。", className="exp-muted"),
            ]
        t = data["ticket"]
        clocks = load_clocks(conn, svc.settings)
        fields = dis.shown_fields(masker, t["category_code"])
        if fields:  # addresses and points are L3: the read lands in the audit trail
            ticket_read(conn, viewer, READ_ACTION, [ticket_id], now, fields=fields)
    runs = stage_runs(t, data["events"], clocks)
    status = (
        "超期办结"
        if t["closed_on_time"] is False
        else "按期办结"
        if t["closed_on_time"]
        else "超期在办"
        if t["overdue"]
        else "在办"
    )
    facts = _facts(
        [
            ("类别", f"{data['category_name'] or ''}（{t['category_code']}）"),
            ("网格", f"{data['grid_name'] or ''}（{t['grid_code']}）"),
            ("状态", _STATE_NAMES.get(t["state"], t["state"])),
            ("时效", status),
            ("来源", SOURCE_NAMES_ZH.get(t["source"], t["source"])),
            ("紧急程度", URGENCY_NAMES_ZH.get(t["urgency"], t["urgency"])),
            ("上报时间", _t(t["created_at"], tz)),
            (
                "办结期限",
                _t(t["due_at"], tz)
                + (
                    f"（原期限 {_t(t['original_due_at'], tz)}）"
                    if t["original_due_at"] and t["original_due_at"] != t["due_at"]
                    else ""
                ),
            ),
            ("结案时间", _t(t["closed_at"], tz)),
            ("牵头部门", data["department_name"]),
            ("督办", STEP_NAMES_ZH.get(t["supervision"], "未督办")),
            (
                "返工 / 退回 / 延期",
                f"{t['rework_count']} / {t['return_count']} / {t['extension_count']}",
            ),
            ("满意度", SATISFACTION_NAMES_ZH.get(t["satisfaction"] or "", "—")),
            ("地址", dis.address(masker, t["address"])),
            ("描述", dis.free_text(masker, t["description"]) or "（按权限不显示）"),
            ("原系统分类", " / ".join(x for x in (t["source_type"], t["source_reason"]) if x)),
            ("导入标记", "、".join(t["import_flags"])),
        ]
    )
    clock_rows = []
    for r in runs:
        ok = r.on_time(now)
        margin = r.margin(now)
        verdict = "按时" if ok else "超时" if ok is False else "计时中"
        detail = ""
        if margin is not None and ok is not None:
            detail = f"{'提前' if margin >= timedelta(0) else '超出'} {duration(margin)}"
        clock_rows.append(
            html.Tr(
                [
                    html.Td(r.name_zh + ("（曾挂账）" if r.suspended else "")),
                    html.Td(_t(r.started, tz)),
                    html.Td(_t(r.warn_at, tz)),
                    html.Td(_t(r.due_at, tz)),
                    html.Td(_t(r.ended, tz)),
                    html.Td(
                        [verdict, html.Br(), html.Small(detail)] if detail else verdict,
                        className="is-late" if ok is False else "is-ok" if ok else "",
                    ),
                ]
            )
        )
    clock_table = html.Table(
        [
            html.Thead(
                html.Tr([html.Th(h) for h in ("环节", "开始", "预警", "期限", "结束", "结果")])
            ),
            html.Tbody(clock_rows),
        ],
        className="exp-mini-table",
    )
    events = [
        html.Li(
            [
                html.Span(_t(e["at"], tz), className="exp-ev-at"),
                html.Span(ACTION_NAMES_ZH.get(e["action"], e["action"]), className="exp-ev-action"),
                html.Span(
                    ACTOR_NAMES_ZH.get(e["actor_kind"], e["actor_kind"]), className="exp-ev-actor"
                ),
                html.Span(
                    f"{_STATE_NAMES.get(e['from_state'] or '', e['from_state'] or '')} → "
                    f"{_STATE_NAMES.get(e['to_state'] or '', e['to_state'] or '')}"
                    if e["to_state"]
                    else "",
                    className="exp-ev-states",
                ),
                html.Span(dis.free_text(masker, e["comment"]) or "", className="exp-ev-comment"),
            ],
            className="exp-ev",
            **{"data-action": e["action"]},
        )
        for e in data["events"]
    ]
    tasks = html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h)
                        for h in ("部门", "角色", "状态", "派遣", "签收", "期限", "完成", "按时")
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(k["department_name"]),
                            html.Td("牵头" if k["role"] == "lead" else "协办"),
                            html.Td(TASK_STATE_ZH.get(k["state"], k["state"])),
                            html.Td(_t(k["dispatched_at"], tz)),
                            html.Td(_t(k["signed_at"], tz)),
                            html.Td(_t(k["due_at"], tz)),
                            html.Td(_t(k["finished_at"], tz)),
                            html.Td(
                                "是" if k["on_time"] else "否" if k["on_time"] is False else "—"
                            ),
                        ]
                    )
                    for k in data["tasks"]
                ]
            ),
        ],
        className="exp-mini-table",
    )
    return [
        _head(f"{t['ticket_no']}"),
        facts,
        html.H4("环节时效"),
        clock_table,
        html.H4(f"处置过程（{len(events)} 条日志）"),
        html.Ol(events, className="exp-events", id="exp-events"),
        html.H4("部门任务"),
        tasks if data["tasks"] else html.P("未派遣部门", className="exp-muted"),
    ]


def _head(title: str) -> html.Div:
    return html.Div(
        [
            html.H3(title, className="exp-drawer-title"),
            html.Button(
                "关闭 ×", id={"type": ids.CLOSE, "what": "drawer"}, n_clicks=0, className="exp-btn"
            ),
        ],
        className="exp-drawer-head",
    )
