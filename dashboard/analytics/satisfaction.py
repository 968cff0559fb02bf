"""The satisfaction panel of /analytics (满意度): 满意率 with its numerator and denominator on
hover and its 环比, the split by survey channel and by major category, and the unsatisfied
tickets to look at. Comments are shown from the personal-data tier up (L3), hidden below it
like every other free text of a report (``domain.disclosure.free_text``). Data:
``queries.analytics.satisfaction.compute``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from dash import html

from domain import disclosure
from domain.access import Tier
from domain.analytics.formatting import direction, fmt_change, fmt_value
from domain.analytics.periods import Period, PeriodError, parse_period
from domain.masking import ID_HIDDEN, Masker
from domain.measures import MEASURES

from .links import explore_href

_RATE = MEASURES["satisfaction_rate"]


def _period(view: dict[str, Any], data: dict[str, Any]) -> Period | None:
    for key in (view.get("period"), data.get("period")):
        try:
            return parse_period(key)
        except PeriodError:
            continue
    return None


def _change(change: float | None, before_label: str) -> html.Span:
    """环比 in points, green when satisfaction rose, red when it fell."""
    d = direction(change, "rate")
    cls = "is-up" if d > 0 else "is-down" if d < 0 else "is-flat"
    arrow = "▲" if d > 0 else "▼" if d < 0 else ""
    return html.Span(
        f"环比 {arrow}{fmt_change('rate', change)}",
        className=f"sit-sat-change {cls}",
        title=f"与{before_label}相比",
    )


def _headline(data: dict[str, Any]) -> html.Div:
    t = data.get("total") or {}
    title = (
        f"{_RATE.name_zh} = {_RATE.formula_zh}\n"
        f"= {t.get('numerator', 0):,} ÷ {t.get('surveyed', 0):,}"
    )
    parts = [
        html.Div(
            [
                html.Span(fmt_value("rate", t.get("rate")), className="sit-sat-value", title=title),
                _change(t.get("change"), data.get("previous_label") or "上期"),
            ],
            className="sit-sat-main",
        ),
        html.Div(
            [
                html.Span(f"回访 {t.get('surveyed', 0):,} 件"),
                html.Span(f"满意 {t.get('satisfied', 0):,}", className="is-good"),
                html.Span(f"基本满意 {t.get('basic', 0):,}"),
                html.Span(f"不满意 {t.get('unsatisfied', 0):,}", className="is-bad"),
                html.Span(
                    f"{data.get('previous_label', '上期')} "
                    f"{fmt_value('rate', t.get('previous_rate'))}",
                    className="sit-muted",
                ),
            ],
            className="sit-sat-counts",
        ),
    ]
    return html.Div(parts, className="sit-sat-headline")


def _bars(title: str, rows: list[dict[str, Any]], href=None) -> html.Table:
    """A small table: name, a bar of the share satisfied, the rate, its change, the count."""
    body = []
    for r in rows:
        rate = r.get("rate")
        width = f"{max(0.0, min(1.0, rate or 0.0)) * 100:.1f}%"
        link = href(r) if href else None
        name = html.A(r["name"], href=link, className="sit-sat-link") if link else r["name"]
        d = direction(r.get("change"), "rate")
        body.append(
            html.Tr(
                [
                    html.Td(name),
                    html.Td(
                        html.Div(
                            html.Div(className="sit-sat-fill", style={"width": width}),
                            className="sit-sat-bar",
                        )
                    ),
                    html.Td(
                        fmt_value("rate", rate),
                        className="sit-num",
                        title=f"（满意 {r['satisfied']} + 基本满意 {r['basic']}）÷ {r['surveyed']}",
                    ),
                    html.Td(
                        fmt_change("rate", r.get("change")),
                        className="sit-num " + ("is-up" if d > 0 else "is-down" if d < 0 else ""),
                    ),
                    html.Td(f"{r['surveyed']:,}", className="sit-num"),
                ]
            )
        )
    if not body:
        body.append(html.Tr(html.Td("本期无回访", colSpan=5, className="sit-empty")))
    head = html.Tr(
        [
            html.Th(title),
            html.Th(""),
            html.Th("满意率", className="sit-num"),
            html.Th("环比", className="sit-num"),
            html.Th("回访数", className="sit-num"),
        ]
    )
    return html.Table([html.Thead(head), html.Tbody(body)], className="sit-sat-table")


def _ticket_href(r: dict[str, Any], period: Period | None) -> str | None:
    """The ticket's grid and the period in /explore, with the ticket open in the drawer
    (explore_href leaves the drawer out, so the ticket parameter is added here)."""
    if period is None:
        return None
    href = explore_href(r["grid_code"], period)
    return href + ("&" if "?" in href else "?") + urlencode({"ticket": int(r["ticket_id"])})


def _unsatisfied(
    data: dict[str, Any], view: dict[str, Any], period: Period | None, masker: Masker
) -> html.Div:
    u = data.get("unsatisfied") or {}
    rows = u.get("rows") or []
    shows = masker.sees(disclosure.ADDRESS)
    body = []
    for r in rows:
        comment = disclosure.free_text(masker, r.get("comment"))
        text = (comment or "—") if shows else ID_HIDDEN
        no = r.get("ticket_no") or f"#{r['ticket_id']}"
        href = _ticket_href(r, period)
        body.append(
            html.Tr(
                [
                    html.Td(html.A(no, href=href, className="sit-sat-link") if href else no),
                    html.Td(r.get("category") or r.get("category_code")),
                    html.Td(r.get("grid") or r["grid_code"], title=r["grid_code"]),
                    html.Td(r.get("date")),
                    html.Td(r.get("channel_name") or r.get("channel")),
                    html.Td(text, className="sit-sat-comment" + ("" if shows else " is-hidden")),
                ]
            )
        )
    if not body:
        body.append(html.Tr(html.Td("本期没有不满意的回访", colSpan=6, className="sit-empty")))
    count = u.get("count", len(rows))
    note = f"共 {count:,} 件" + (f"，列出最近 {len(rows)} 件" if count > len(rows) else "")
    head = html.Tr(
        [html.Th(h) for h in ("事件编号", "类别", "网格", "回访日期", "渠道", "评价内容")]
    )
    return html.Div(
        [
            html.H4(["不满意事件", html.Span(note, className="sit-muted")]),
            html.Div(
                html.Table([html.Thead(head), html.Tbody(body)], className="sit-sat-list"),
                className="sit-sat-scroll",
            ),
        ],
        className="sit-sat-unsatisfied",
    )


def render(data: dict[str, Any], view: dict[str, Any]):
    """The panel for ``data`` (compute()'s output) as ``view`` asks (area, period, tier)."""
    try:
        tier = Tier[str(view.get("tier") or "L1")]
    except KeyError:
        tier = Tier.L1  # an unknown tier sees the least
    masker = Masker(tier)
    period = _period(view, data)
    area = view.get("area") or ""

    def category_href(r: dict[str, Any]) -> str | None:
        return explore_href(area, period, cat=(r["key"],), basis="closed") if period else None

    return html.Section(
        [
            _headline(data),
            html.Div(
                [
                    _bars("回访渠道", data.get("channels") or []),
                    _bars("事项大类", data.get("categories") or [], category_href),
                ],
                className="sit-sat-split",
            ),
            _unsatisfied(data, view, period, masker),
        ],
        id="sit-satisfaction-panel",
        className="sit-panel sit-sat",
    )
