"""HTML/CSS bar lists (they scale with rem, unlike canvas charts): category mix, town ranking,
basic data."""

from __future__ import annotations

from typing import Any

from dash import html

from domain.measures import MEASURES
from layers.labels import grid_type_name, kind_name, role_name
from queries.screen import RANKING_MAX_ROWS

from .theme import fmt_int, fmt_pct


def render_categories(cats: list[dict[str, Any]]) -> list:
    """One bar per major category (近30日): name, bar scaled to the largest, count, share."""
    if not cats:
        return [html.Div("近30日无事项", className="gs-empty")]
    total = sum(c["count"] for c in cats) or 1
    top = max(c["count"] for c in cats) or 1
    rows = []
    for i, c in enumerate(cats):
        rows.append(
            html.Div(
                [
                    html.Span(c["name"], className="gs-bar-name"),
                    html.Span(
                        html.Span(
                            className="gs-bar-fill",
                            style={"width": f"{100 * c['count'] / top:.1f}%"},
                        ),
                        className="gs-bar-track",
                    ),
                    html.Span(fmt_int(c["count"]), className="gs-bar-num"),
                    html.Span(f"{100 * c['count'] / total:.0f}%", className="gs-bar-share"),
                ],
                className=f"gs-bar gs-bar--c{i % 10}",
                title=f"{c['name']}（{c['code']}）近30日上报 {c['count']} 件",
            )
        )
    return rows


def ranking_rows_shown(rows: list[dict[str, Any]], limit: int = RANKING_MAX_ROWS) -> list:
    """The rows to show: all when they fit, else the first limit-3, None (a gap), the last 3."""
    if len(rows) <= limit:
        return list(rows)
    return [*rows[: limit - 3], None, *rows[-3:]]


def render_ranking(rows: list[dict[str, Any]]) -> list:
    """The town ranking table (本月综合指标值, ties by 按期结案率)."""
    if not rows:
        return [html.Div("暂无镇街数据", className="gs-empty")]
    head = html.Div(
        [
            html.Span("名次", className="gs-rank-no"),
            html.Span("镇（街道）", className="gs-rank-name"),
            html.Span("", className="gs-rank-track"),
            html.Span(
                "综合指标", className="gs-rank-score", title=MEASURES["composite"].formula_zh
            ),
            html.Span(
                "按期结案率", className="gs-rank-rate", title=MEASURES["on_time_rate"].formula_zh
            ),
        ],
        className="gs-rank gs-rank--head",
    )
    out = [head]
    for r in ranking_rows_shown(rows):
        if r is None:
            out.append(html.Div("⋯", className="gs-rank gs-rank--gap"))
            continue
        score = r["composite"]
        medal = f" gs-rank--top{r['rank']}" if r["rank"] <= 3 else ""
        last = " gs-rank--last" if r["rank"] > 3 and r is rows[-1] else ""
        out.append(
            html.Div(
                [
                    html.Span(str(r["rank"]), className="gs-rank-no"),
                    html.Span(r["name"], className="gs-rank-name"),
                    html.Span(
                        html.Span(className="gs-rank-bar", style={"width": f"{score or 0:.1f}%"}),
                        className="gs-rank-track",
                    ),
                    html.Span("—" if score is None else f"{score:.1f}", className="gs-rank-score"),
                    html.Span(fmt_pct(r["on_time_rate"]), className="gs-rank-rate"),
                ],
                className=f"gs-rank{medal}{last}",
                title=(
                    f"{r['name']}：结案 {r['closed']}，按期 {r['closed_on_time']}，"
                    f"超时未结 {r['open_past_due']}，返工 {r['reworked']}；"
                    f"结案率 {fmt_pct(r['closure_rate'])}"
                ),
            )
        )
    return out


def _stat(label: str, value: str, cls: str = "", title: str | None = None) -> html.Div:
    return html.Div(
        [html.Div(value, className="gs-stat-value"), html.Div(label, className="gs-stat-label")],
        className=f"gs-stat {cls}".strip(),
        title=title,
    )


def render_basic(basic: dict[str, Any]) -> list:
    """The basic-data panel (queries.screen.basic_data): grids by type, households/population,
    staff by role, online now; roles and grid kinds named from domain."""
    g = basic.get("grids", {})
    online = basic.get("online", {})
    by_role = online.get("by_role", {})
    workers = sum(
        s["count"]
        for s in basic.get("staff", [])
        if s["role"] in ("fulltime_worker", "parttime_worker")
    )
    online_workers = by_role.get("fulltime_worker", 0) + by_role.get("parttime_worker", 0)
    share = 100 * online_workers / workers if workers else 0
    kinds = "、".join(
        f"{kind_name(k['kind'])}{k['count']}" for k in g.get("exclusive_kinds", [])[:4]
    )
    staff_rows = [
        html.Div(
            [
                html.Span(role_name(s["role"]), className="gs-staff-name"),
                html.Span(fmt_int(s["count"]), className="gs-staff-num"),
                html.Span(
                    f"在线 {fmt_int(by_role.get(s['role'], 0))}"
                    if s["role"] in ("fulltime_worker", "parttime_worker")
                    else "",
                    className="gs-staff-online",
                ),
            ],
            className="gs-staff",
        )
        for s in basic.get("staff", [])
    ]
    return [
        html.Div(
            [
                _stat("网格总数", fmt_int(g.get("total")), "gs-stat--main"),
                _stat(grid_type_name("comprehensive"), fmt_int(g.get("comprehensive"))),
                _stat(
                    grid_type_name("exclusive"),
                    fmt_int(g.get("exclusive")),
                    title=f"其中 {kinds}" if kinds else None,
                ),
            ],
            className="gs-stats",
        ),
        html.Div(
            [
                _stat("户数", fmt_int(basic.get("households"))),
                _stat("人口", fmt_int(basic.get("population"))),
                _stat("微网格", fmt_int(basic.get("micro_grids"))),
            ],
            className="gs-stats gs-stats--small",
        ),
        html.Div(
            staff_rows or [html.Div("暂无人员", className="gs-empty")], className="gs-staff-list"
        ),
        html.Div(
            [
                html.Span("网格员在线", className="gs-online-label"),
                html.Span(
                    html.Span(className="gs-online-fill", style={"width": f"{share:.1f}%"}),
                    className="gs-online-track",
                ),
                html.Span(
                    f"{fmt_int(online_workers)}/{fmt_int(workers)}", className="gs-online-num"
                ),
            ],
            className="gs-online",
            title="最近10分钟内有定位且在岗的专职、兼职网格员 / 在册专职、兼职网格员",
        ),
    ]
