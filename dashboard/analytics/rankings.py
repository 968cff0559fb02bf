"""The rankings panel of /analytics (排名): one tab per level below the viewer's area (镇街,
社区, 网格, 部门, 网格员), each a table of the score and its components with the change of
rank and score since the previous period, the biggest risers and fallers marked, and the units
furthest behind in red with the component that drags each of them down. Every row opens its
tickets in /explore. Data: ``queries.analytics.rankings.compute``.
"""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from domain.access import Tier
from domain.analytics.formatting import fmt_change, fmt_value
from domain.analytics.periods import Period, PeriodError, parse_period
from domain.masking import Masker
from domain.measures import MEASURES

from .links import explore_href

# (row key, header, kind for formatting) per kind of unit; "name" and "move" are drawn apart.
_UNIT_COLUMNS = (
    ("closed", "结案", "count"),
    ("closed_on_time", "按期结案", "count"),
    ("reworked", "返工", "count"),
    ("open_past_due", "超期未结", "count"),
    ("due_to_close", "应结案", "count"),
    ("closure_rate", "结案率", "rate"),
    ("on_time_rate", "按期结案率", "rate"),
    ("rework_rate", "返工率", "rate"),
    ("score", "综合指标值", "score"),
)
_DEPARTMENT_COLUMNS = (
    ("dispatched", "分办任务", "count"),
    ("return_rate", "退回率", "rate"),
    ("finished", "办结", "count"),
    ("open_past_due", "超期未办结", "count"),
    ("due_to_close", "应办结", "count"),
    ("closure_rate", "办结率", "rate"),
    ("on_time_rate", "按期办结率", "rate"),
    ("rework_rate", "返工率", "rate"),
    ("score", "综合指标值", "score"),
)
_WORKER_COLUMNS = (
    ("role", "岗位", None),
    ("grid_code", "主要网格", None),
    ("reported", "上报", "count"),
    ("report_on_time_rate", "按时上报率", "rate"),
    ("verify_due", "应核查", "count"),
    ("verify_on_time_rate", "按时核查率", "rate"),
    ("self_resolved", "就地解决", "count"),
    ("self_resolution_rate", "就地解决率", "rate"),
    ("score", "得分", "score"),
)
_COLUMNS = {"department": _DEPARTMENT_COLUMNS, "worker": _WORKER_COLUMNS}
# Header tooltips: the measure's formula (leaders misread rates; DOMAIN.md §5).
_TIPS = {k: f"{m.name_zh} = {m.formula_zh}" for k, m in MEASURES.items()}
_TIPS["return_rate"] = "退回率 = 退回任务数 ÷ 分办任务数"


def _period(view: dict[str, Any], data: dict[str, Any]) -> Period | None:
    for key in (view.get("period"), data.get("period")):
        try:
            return parse_period(key)
        except PeriodError:
            continue
    return None


def _href(lv: dict[str, Any], r: dict[str, Any], view: dict[str, Any], period: Period | None):
    """Where a row opens its tickets: its area, the department's tasks in the viewer's area,
    or the grid a worker works in most; closed-basis (the ranking counts closings)."""
    if period is None:
        return None
    if lv["unit"] == "department":
        return explore_href(
            view.get("area") or "", period, dept=(int(r["dept_id"]),), basis="closed"
        )
    if lv["unit"] == "worker":
        return explore_href(r["grid_code"], period) if r.get("grid_code") else None
    return explore_href(r["code"], period, basis="closed")


def _move(r: dict[str, Any]) -> html.Span:
    """The change of rank: ↑3 (rose three places) in green, ↓2 in red, — without a previous
    rank; the marked risers and fallers get a badge."""
    m = r.get("rank_move")
    if m is None:
        return html.Span("—", className="sit-rank-move", title="上期无排名")
    text, cls = (
        ("↑" + str(m), "is-up")
        if m > 0
        else ("↓" + str(-m), "is-down")
        if m < 0
        else ("–", "is-flat")
    )
    if r.get("move"):
        cls += " is-marked"
    return html.Span(text, className=f"sit-rank-move {cls}", title=f"上期第{r['prev_rank']}名")


def _name(lv: dict[str, Any], r: dict[str, Any], masker: Masker, href: str | None):
    name = r.get("name") or r["code"]
    if lv["unit"] == "worker":
        name = masker.field("staff.name", name)
    label = [html.Span(name, className="sit-rank-name")]
    if lv["unit"] in ("town", "community", "grid"):
        label.append(html.Span(r["code"], className="sit-rank-code"))
    return html.A(label, href=href, className="sit-rank-link") if href else html.Span(label)


def _cell(key: str, kind: str | None, r: dict[str, Any]) -> html.Td:
    v = r.get(key)
    if kind is None:
        return html.Td("—" if v is None else str(v))
    cls = "sit-num"
    if key == r.get("drag"):
        cls += " is-drag"
    return html.Td(fmt_value(kind, v), className=cls)


def _table(lv: dict[str, Any], view: dict[str, Any], period: Period | None, masker: Masker):
    cols = _COLUMNS.get(lv["unit"], _UNIT_COLUMNS)
    head = html.Tr(
        [
            html.Th("排名"),
            html.Th("名次变化"),
            html.Th("名称" if lv["unit"] != "worker" else "姓名"),
        ]
        + [
            html.Th(h, title=_TIPS.get(k), className="sit-num" if kind else None)
            for k, h, kind in cols
        ]
        + [html.Th("得分变化", title="与上期相比（分）", className="sit-num")]
    )
    body, last = [], -1
    for r in lv["rows"]:
        if r["pos"] != last + 1:
            body.append(
                html.Tr(
                    html.Td(f"…… 略去 {r['pos'] - last - 1} 行", colSpan=len(cols) + 4),
                    className="sit-rank-gap",
                )
            )
        last = r["pos"]
        cls = (
            "sit-rank-row"
            + (" is-behind" if r.get("behind") else "")
            + (f" is-{r['move']}" if r.get("move") else "")
        )
        change = fmt_change("score", r.get("score_change"))
        body.append(
            html.Tr(
                [
                    html.Td(str(r["rank"]) if r["score"] is not None else "—", className="sit-num"),
                    html.Td(_move(r)),
                    html.Td(_name(lv, r, masker, _href(lv, r, view, period))),
                ]
                + [_cell(k, kind, r) for k, _, kind in cols]
                + [html.Td(change, className="sit-num")],
                className=cls,
            )
        )
    if lv["count"] > last + 1:
        body.append(
            html.Tr(
                html.Td(
                    f"…… 另有 {lv['count'] - last - 1} 个，完整名单请导出", colSpan=len(cols) + 4
                ),
                className="sit-rank-gap",
            )
        )
    return html.Table([html.Thead(head), html.Tbody(body)], className="sit-rank-table")


def _behind(lv: dict[str, Any], masker: Masker) -> html.Div | None:
    rows = [r for r in lv["rows"] if r.get("behind")]
    if not rows:
        return None
    items = []
    for r in reversed(rows):  # the last first
        name = r.get("name") or r["code"]
        if lv["unit"] == "worker":
            name = masker.field("staff.name", name)
        why = r.get("why") or "各分项均不低于平均，得分仍居末位"
        items.append(
            html.Li(
                [
                    html.Span(f"第{r['rank']}名 {name}", className="sit-behind-name"),
                    html.Span(f"{fmt_value('score', r['score'])}分", className="sit-behind-score"),
                    html.Span(why, className="sit-behind-why"),
                ]
            )
        )
    return html.Div(
        [html.H4(f"落后{lv['title']}（{len(rows)}）及主要短板"), html.Ol(items)],
        className="sit-behind",
    )


def _average(lv: dict[str, Any]) -> str:
    avg = lv.get("average") or {}
    keys = (
        ("report_on_time_rate", "verify_on_time_rate", "self_resolution_rate")
        if lv["unit"] == "worker"
        else ("closure_rate", "on_time_rate", "rework_rate")
    )
    parts = [f"{MEASURES[k].name_zh} {fmt_value('rate', avg.get(k))}" for k in keys]
    if lv["unit"] == "department":
        parts[0] = "办结率 " + fmt_value("rate", avg.get("closure_rate"))
        parts[1] = "按期办结率 " + fmt_value("rate", avg.get("on_time_rate"))
    return (
        f"共 {lv['count']} 个（有得分 {lv['scored']} 个）｜平均："
        + "，".join(parts)
        + f"，得分 {fmt_value('score', avg.get('score'))}"
    )


def _level(
    lv: dict[str, Any],
    data: dict[str, Any],
    view: dict[str, Any],
    period: Period | None,
    masker: Masker,
) -> html.Div:
    if not lv["count"]:
        return html.Div("本期无数据", className="sit-empty")
    formula = data.get("worker_formula") if lv["unit"] == "worker" else data.get("formula")
    if lv["unit"] == "department":
        formula = f"{formula}（按任务计：办结视同结案）"
    return html.Div(
        [
            html.Div(
                [
                    html.Span(_average(lv)),
                    html.Span("得分 = " + (formula or ""), className="sit-rank-formula"),
                ],
                className="sit-rank-meta",
            ),
            _behind(lv, masker),
            html.Div(_table(lv, view, period, masker), className="sit-rank-scroll"),
        ],
        className="sit-rank-level",
    )


def _deferred(lv: dict[str, Any]) -> html.Div:
    """The tab of a level too large to rank with the page: filled when the tab is chosen
    (dashboard.analytics.callbacks.load_level)."""
    return html.Div(
        f"{lv['title']}排名在选中本页时计算（{lv['count'] or '全部'}个单位）…",
        id={"type": "sit-rank-deferred", "unit": lv["unit"]},
        className="sit-rank-deferred sit-empty",
    )


def render_level(data: dict[str, Any], view: dict[str, Any]):
    """One level's ranking (compute_level()'s output) for a deferred tab."""
    try:
        tier = Tier[str(view.get("tier") or "L1")]
    except KeyError:
        tier = Tier.L1
    levels = data.get("levels") or []
    if not levels:
        return html.Div("本期无数据", className="sit-empty")
    return _level(levels[0], data, view, _period(view, data), Masker(tier))


def render(data: dict[str, Any], view: dict[str, Any]):
    """The panel for ``data`` (compute()'s output) as ``view`` asks (area, period, tier)."""
    try:
        tier = Tier[str(view.get("tier") or "L1")]
    except KeyError:
        tier = Tier.L1  # an unknown tier sees the least
    masker = Masker(tier)
    period = _period(view, data)
    levels = data.get("levels") or []
    # The page's section carries the title (排名); this line says what is compared.
    title = html.Div(
        f"{data.get('period_label', '')}，与{data.get('previous_label', '上期')}比较；"
        "名次变化 ↑ 上升 ↓ 下降，底色标出变化最大者；红色为落后单位",
        className="sit-rank-period",
    )
    if not levels:
        return html.Section(
            [title, html.Div("所选区域之下没有可排名的单位", className="sit-empty")],
            id="sit-rankings-panel",
            className="sit-panel sit-rank",
        )
    tabs = [
        dcc.Tab(
            _deferred(lv) if lv.get("deferred") else _level(lv, data, view, period, masker),
            label=f"{lv['title']}（{lv['count']}）" if lv.get("count") is not None else lv["title"],
            value=lv["key"],
            className="sit-rank-tab",
            selected_className="sit-rank-tab--on",
        )
        for lv in levels
    ]
    notes = [html.P(n, className="sit-note") for n in data.get("notes") or []]
    return html.Section(
        [
            title,
            dcc.Tabs(
                tabs, id="sit-rankings-level", value=levels[0]["key"], className="sit-rank-tabs"
            ),
            *notes,
        ],
        id="sit-rankings-panel",
        className="sit-panel sit-rank",
    )
