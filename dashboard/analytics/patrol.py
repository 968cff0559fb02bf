"""The patrol panel of /analytics (巡查与在线): the scope's patrol coverage and online rate,
the areas one level down, and the grids furthest behind, ranked by coverage with bars; each
grid opens the workbench (/explore) on its tickets of the period. Data: queries.analytics.patrol.
"""

from __future__ import annotations

from typing import Any

from dash import html

from domain.analytics.formatting import NONE, fmt_value
from domain.analytics.periods import PeriodError, parse_period
from domain.measures import MEASURES

from .links import explore_href

COVERAGE_DEF = MEASURES["patrol_coverage"].formula_zh
ONLINE_DEF = MEASURES["online_rate"].formula_zh
DEFINITIONS = (
    f"巡查覆盖率 = {COVERAGE_DEF}（按当前微网格，网格员在岗定位落入本网格微网格即为到访）；"
    f"在线率 = {ONLINE_DEF}（5分钟内有在岗定位记为在线，仅计排班时段；排班按工作日历）"
)


def _rate(value: float | None) -> str:
    return fmt_value("rate", value)


def _bar(value: float | None, target: float | None) -> html.Div:
    """A horizontal bar of a 0–1 rate; below the target it is drawn in the warning colour."""
    if value is None:
        return html.Div(
            html.Span(NONE, className="sit-patrol-bar-none"), className="sit-patrol-bar"
        )
    low = target is not None and value < target
    return html.Div(
        [
            html.Div(
                className="sit-patrol-bar-fill" + (" is-low" if low else ""),
                style={"width": f"{max(0.0, min(1.0, value)) * 100:.1f}%"},
            ),
            html.Span(_rate(value), className="sit-patrol-bar-text"),
        ],
        className="sit-patrol-bar",
    )


def _link(code: str, name: str, period_key: str) -> html.A | str:
    try:
        period = parse_period(period_key)
    except PeriodError:
        return name
    return html.A(name, href=explore_href(code, period), title=f"{code} · 在工作台查看该网格事件")


def _headline(data: dict[str, Any]) -> html.Div:
    t = data["totals"]
    targets = data.get("targets", {})

    def figure(label: str, value: float | None, key: str, sub: str) -> html.Div:
        target = targets.get(key)
        low = value is not None and target is not None and value < target
        return html.Div(
            [
                html.Div(label, className="sit-patrol-fig-label"),
                html.Div(
                    _rate(value), className="sit-patrol-fig-value" + (" is-low" if low else "")
                ),
                html.Div(
                    sub + (f" · 目标 {_rate(target)}" if target is not None else ""),
                    className="sit-patrol-fig-sub",
                ),
            ],
            className="sit-patrol-fig",
        )

    cov_sub = (
        f"{t['micro_grids_visited']:,} / {t['micro_grids_current']:,} 个微网格"
        if data["has_data"]
        else f"期内无巡查记录 · 共 {t['micro_grids_current']:,} 个微网格"
    )
    hours = t["online_minutes"] / 60
    sched = t["scheduled_minutes"] / 60
    onl_sub = f"{hours:,.0f} / {sched:,.0f} 小时" if t["scheduled_minutes"] else "期内无排班"
    return html.Div(
        [
            figure("巡查覆盖率", t["coverage"], "patrol_coverage", cov_sub),
            figure("在线率", t["online_rate"], "online_rate", onl_sub),
            html.Div(
                [
                    html.Div("网格", className="sit-patrol-fig-label"),
                    html.Div(f"{t['grids']:,}", className="sit-patrol-fig-value"),
                    html.Div(
                        f"{data['first_day']} 至 {data['last_day']}", className="sit-patrol-fig-sub"
                    ),
                ],
                className="sit-patrol-fig",
            ),
        ],
        className="sit-patrol-head",
        title=DEFINITIONS,
    )


def _areas(data: dict[str, Any]) -> html.Table | None:
    areas = data.get("areas") or []
    if not areas:
        return None
    target = data.get("targets", {}).get("patrol_coverage")
    return html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("下级区域"),
                        html.Th("网格", className="num"),
                        html.Th("巡查覆盖率"),
                        html.Th("在线率", className="num"),
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(_link(a["code"], a["name"], data["period"])),
                            html.Td(f"{a['grids']:,}", className="num"),
                            html.Td(_bar(a["coverage"], target)),
                            html.Td(_rate(a["online_rate"]), className="num"),
                        ]
                    )
                    for a in areas
                ]
            ),
        ],
        className="sit-table sit-patrol-areas",
    )


def _ranked(data: dict[str, Any]) -> html.Table:
    target = data.get("targets", {}).get("patrol_coverage")
    online_target = data.get("targets", {}).get("online_rate")
    rows = []
    for n, g in enumerate(data["ranked"], start=1):
        low_online = (
            g["online_rate"] is not None
            and online_target is not None
            and g["online_rate"] < online_target
        )
        rows.append(
            html.Tr(
                [
                    html.Td(str(n), className="num sit-patrol-rank"),
                    html.Td(
                        [
                            _link(g["code"], g["name"], data["period"]),
                            html.Div(g["community"], className="sit-patrol-sub"),
                        ]
                    ),
                    html.Td(
                        f"{g['visited'] if g['coverage'] is not None else NONE}"
                        f" / {g['micro_grids']}",
                        className="num",
                    ),
                    html.Td(_bar(g["coverage"], target)),
                    html.Td(
                        _rate(g["online_rate"]),
                        className="num" + (" sit-patrol-low" if low_online else ""),
                    ),
                    html.Td(str(g["workers"]), className="num"),
                ]
            )
        )
    return html.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("#", className="num"),
                        html.Th("网格"),
                        html.Th("到访/微网格", className="num"),
                        html.Th("巡查覆盖率"),
                        html.Th("在线率", className="num"),
                        html.Th("网格员", className="num"),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        className="sit-table sit-patrol-grids",
    )


def render(data: dict[str, Any], view: dict[str, Any]) -> html.Div:
    """The panel for ``queries.analytics.patrol.compute``'s ``data``; ``view`` carries the
    area, period key, scale, tier and export right (the grids' rows hold no personal data)."""
    if not data.get("totals", {}).get("grids"):
        return html.Div("辖区内没有网格。", className="sit-empty")
    total = data["totals"]["grids"]
    shown = len(data["ranked"])
    note = (
        f"按巡查覆盖率从低到高，列出 {shown} / {total} 个网格；完整名单见导出表。"
        if shown < total
        else "按巡查覆盖率从低到高排列。"
    )
    parts: list[Any] = [_headline(data)]
    areas = _areas(data)
    if areas is not None:
        parts.append(areas)
    parts += [
        html.Div(note, className="sit-note"),
        html.Div(_ranked(data), className="sit-patrol-scroll"),
        html.Div(DEFINITIONS, className="sit-note sit-patrol-defs"),
    ]
    return html.Div(parts, className="sit-patrol")
