"""Components of one workbench view (plain functions of a ``Result``): the filter sidebar with
facet counts, the active-filter chips, the headline figures, the problems notice."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from domain.explore.filters import (
    BASIS_NAMES_ZH,
    CLOCK_NAMES_ZH,
    FLAG_NAMES_ZH,
    SUPERVISION_NAMES_ZH,
    Filters,
    Problem,
)
from domain.explore.periods import CUSTOM, QUICK_NAMES_ZH
from domain.vocabulary import SOURCE_NAMES_ZH, URGENCY_NAMES_ZH
from domain.workflow.rules import STAGE_NAMES_ZH, STATE_NAMES_ZH

from . import ids
from .data import Result
from .navigate import NONE

LEVEL_NAMES_ZH = {
    "province": "省",
    "city": "市",
    "county": "区县",
    "town": "镇街",
    "community": "村社区",
    "grid": "网格",
    "micro": "微网格",
}
_STATE_NAMES = {str(k): v for k, v in STATE_NAMES_ZH.items()}

# (title, facet dimension, labels, filter field)
FACETS: tuple[tuple[str, str, Any, str], ...] = (
    ("时效", "clock", CLOCK_NAMES_ZH, "clock"),
    ("状态", "state", _STATE_NAMES, "state"),
    ("环节", "stage", STAGE_NAMES_ZH, "stage"),
    ("来源", "source", SOURCE_NAMES_ZH, "source"),
    ("紧急程度", "urgency", URGENCY_NAMES_ZH, "urgency"),
    ("督办", "sup", SUPERVISION_NAMES_ZH, "sup"),
    ("返工 / 退回", "flag", FLAG_NAMES_ZH, "flag"),
    ("牵头部门", "dept", None, "dept"),
    ("原系统类型", "stype", None, "stype"),
)


def n_text(n: int) -> str:
    return f"{n:,}"


def facet_counts(res: Result, dim: str) -> dict[Any, int]:
    s = res.summary
    if dim == "flag":
        return {
            "reworked": s.facets.get("reworked", {}).get(True, 0),
            "returned": s.facets.get("returned", {}).get(True, 0),
        }
    return s.facets.get(dim, {})


def _item(dim: str, value: Any, label: str, n: int | None, on: bool) -> html.Button:
    return html.Button(
        [
            html.Span(label, className="exp-facet-label"),
            html.Span("" if n is None else n_text(n), className="exp-facet-n"),
        ],
        id={"type": ids.FACET, "dim": dim, "value": NONE if value is None else value},
        className="exp-facet-item" + (" is-on" if on else "") + (" is-zero" if not n else ""),
        disabled=value is None,
        title=label,
        n_clicks=0,
    )


def facet_block(res: Result, title: str, dim: str, labels: Any, field: str) -> html.Div | None:
    counts = facet_counts(res, dim)
    chosen = set(getattr(res.view.filters, field))
    names = labels if labels is not None else res.labels.get(dim, {})
    values = [v for v in counts if v is not None] + [v for v in chosen if v not in counts]
    if labels is not None and dim != "flag":  # fixed vocabularies in their own order
        order = {k: i for i, k in enumerate(labels)}
        values.sort(key=lambda v: order.get(v, 99))
    else:
        values.sort(key=lambda v: -counts.get(v, 0))
    if dim == "stype" and not values:
        return None
    items = [
        _item(dim, v, str(names.get(v, v)) if names else str(v), counts.get(v, 0), v in chosen)
        for v in values
    ]
    if None in counts and dim in ("dept", "stype", "stage"):
        items.append(_item(dim, None, "（无）", counts[None], False))
    return html.Section(
        [
            html.H3(title, className="exp-facet-title"),
            html.Div(items or [html.Span("无", className="exp-muted")], className="exp-facet-list"),
        ],
        className="exp-facet",
        **{"data-dim": dim},
    )


def category_block(res: Result) -> html.Section:
    counts = res.summary.facets.get("cat", {})
    names = res.labels.get("cat", {})
    chosen = res.view.filters.cat
    majors: dict[str, int] = {}
    for code, n in counts.items():
        if code:
            majors[code[:2]] = majors.get(code[:2], 0) + n
    for c in chosen:
        majors.setdefault(c[:2], 0)
    items = []
    for major in sorted(majors, key=lambda c: -majors[c]):
        items.append(
            _item("cat", major, f"{names.get(major, major)}", majors[major], major in chosen)
        )
        if any(c[:2] == major for c in chosen):  # the chosen majors open to their minors
            minors = sorted(
                ((c, n) for c, n in counts.items() if c and len(c) == 4 and c[:2] == major),
                key=lambda kv: -kv[1],
            )
            shown = {c for c, _ in minors}
            minors += [(c, 0) for c in chosen if len(c) == 4 and c[:2] == major and c not in shown]
            for code, n in minors:
                b = _item("cat", code, f"{names.get(code, code)}", n, code in chosen)
                b.className += " is-minor"
                items.append(b)
    return html.Section(
        [
            html.H3("类别（事项清单）", className="exp-facet-title"),
            html.Div(
                items or [html.Span("无", className="exp-muted")],
                className="exp-facet-list exp-facet-list--tall",
            ),
        ],
        className="exp-facet",
        **{"data-dim": "cat"},
    )


def crumbs(res: Result, jurisdiction: str) -> list[Any]:
    f = res.view.filters
    out: list[Any] = [
        html.Button(
            jurisdiction,
            id={"type": ids.UNIT, "code": ""},
            n_clicks=0,
            className="exp-crumb" + ("" if f.area else " is-on"),
        )
    ]
    for code, name, _level in res.path:
        out += [
            html.Span("›", className="exp-crumb-sep"),
            html.Button(
                name,
                id={"type": ids.UNIT, "code": code},
                n_clicks=0,
                title=code,
                className="exp-crumb" + (" is-on" if code == f.area else ""),
            ),
        ]
    return out


def children(res: Result) -> list[Any]:
    kids = sorted(res.children, key=lambda c: -c[3])
    items = [
        html.Button(
            [
                html.Span(name, className="exp-facet-label"),
                html.Span(LEVEL_NAMES_ZH.get(level, level), className="exp-facet-level"),
                html.Span("" if n < 0 else n_text(n), className="exp-facet-n"),
            ],
            id={"type": ids.UNIT, "code": code},
            n_clicks=0,
            title=code,
            className="exp-facet-item" + (" is-zero" if n == 0 else ""),
        )
        for code, name, level, n in kids
    ]
    return items or [html.Span("（最末一级）", className="exp-muted")]


def periods(f: Filters) -> list[Any]:
    return [
        html.Button(
            name,
            id={"type": ids.PERIOD, "value": key},
            n_clicks=0,
            className="exp-period" + (" is-on" if f.period == key else ""),
        )
        for key, name in QUICK_NAMES_ZH.items()
    ]


def facets(res: Result) -> list[Any]:
    blocks: list[Any] = [category_block(res)]
    for title, dim, labels, field in FACETS:
        b = facet_block(res, title, dim, labels, field)
        if b is not None:
            blocks.append(b)
    return blocks


def sidebar_static() -> list[Any]:
    """The sidebar's skeleton: the controls that keep their own state between views (the
    area search, the date picker, the time basis); the lists around them are re-rendered."""
    return [
        html.Section(
            [
                html.H3("区域", className="exp-facet-title"),
                html.Div(id=ids.CRUMBS, className="exp-crumbs"),
                dcc.Dropdown(
                    id=ids.AREA_SEARCH,
                    placeholder="搜索区划、网格名称或编码…",
                    options=[],
                    value=None,
                    searchable=True,
                    clearable=True,
                    className="exp-area-search",
                ),
                html.Div(id=ids.CHILDREN, className="exp-facet-list exp-facet-list--tall"),
            ],
            className="exp-facet",
            **{"data-dim": "area"},
        ),
        html.Section(
            [
                html.H3("时间", className="exp-facet-title"),
                html.Div(id=ids.PERIODS, className="exp-periods"),
                dcc.DatePickerRange(
                    id=ids.DATES,
                    display_format="YYYY-MM-DD",
                    first_day_of_week=1,
                    minimum_nights=0,
                    start_date_placeholder_text="开始日期",
                    end_date_placeholder_text="结束日期",
                    className="exp-dates",
                ),
                dcc.RadioItems(
                    id=ids.BASIS,
                    options=[{"label": v, "value": k} for k, v in BASIS_NAMES_ZH.items()],
                    value="created",
                    inline=True,
                    className="exp-basis",
                ),
            ],
            className="exp-facet",
            **{"data-dim": "period"},
        ),
        html.Div(id=ids.FACETS),
    ]


def _chip(dim: str, value: Any, text: str) -> html.Button:
    return html.Button(
        [html.Span(text), html.Span("×", className="exp-chip-x")],
        id={"type": ids.CHIP, "dim": dim, "value": value},
        n_clicks=0,
        className="exp-chip",
        title="移除此条件",
    )


def chips(res: Result) -> list[Any]:
    f, v = res.view.filters, res.view
    out: list[Any] = []
    if f.area:
        name = next((n for c, n, _ in res.path if c == f.area), f.area)
        out.append(_chip("area", f.area, f"区域：{name}"))
    period = (
        f"{v.first_day} 至 {v.last_day}"
        if f.period == CUSTOM
        else f"{QUICK_NAMES_ZH[f.period]}（{v.first_day} 至 {v.last_day}）"
    )
    out.append(html.Span(f"时间：{period}", className="exp-chip exp-chip--fixed"))
    if f.basis != "created":
        out.append(_chip("basis", f.basis, BASIS_NAMES_ZH[f.basis]))
    labels = {"cat": res.labels.get("cat", {}), "dept": res.labels.get("dept", {})}
    for title, dim, names, field in (
        ("类别", "cat", None, "cat"),
        *[(t, d, n, fl) for t, d, n, fl in FACETS],
    ):
        for value in getattr(f, field):
            table = names if names is not None else labels.get(dim, {})
            out.append(_chip(dim, value, f"{title}：{table.get(value, value)}"))
    if f.bbox or f.poly:
        out.append(_chip("geo", "", "地图框选范围"))
    return out


def kpis(res: Result) -> list[Any]:
    s = res.summary
    clock = s.facets.get("clock", {})
    on, late = clock.get("closed_on_time", 0), clock.get("closed_late", 0)
    rate = f"{on / (on + late) * 100:.1f}%" if on + late else "无数据"
    # The wall's thresholds for 按期结案率 (DOMAIN.md §5): green from 90 %, amber from 70 %.
    share = on / (on + late) if on + late else None
    rate_cls = (
        "is-none"
        if share is None
        else "is-good"
        if share >= 0.9
        else "is-warn"
        if share >= 0.7
        else "is-danger"
    )
    reworked = s.facets.get("reworked", {}).get(True, 0)
    cells = (
        ("事件数", n_text(s.total), ""),
        ("超期在办", n_text(clock.get("overdue", 0)), "is-danger"),
        ("临期预警", n_text(clock.get("warning", 0)), "is-warn"),
        ("超期办结", n_text(late), "is-danger"),
        ("按期办结率", rate, rate_cls),
        ("有返工", n_text(reworked), ""),
    )
    return [
        html.Div(
            [
                html.Div(label, className="exp-kpi-label"),
                html.Div(value, className="exp-kpi-value " + cls),
            ],
            className="exp-kpi",
        )
        for label, value, cls in cells
    ]


def problems(items: list[Problem]) -> list[Any]:
    if not items:
        return []
    return [
        html.Div(
            [
                html.Strong("以下条件未能使用："),
                *[html.Span(f"{p.param}：{p.message}", className="exp-problem") for p in items],
            ],
            className="exp-problems-box",
            role="alert",
        )
    ]


def legend(hideout: dict[str, Any], level_name: str) -> list[Any]:
    """The map's legend: the count scale of the units shown, and the no-ticket style."""
    top = int(hideout.get("max") or 0)
    return [
        html.Div(f"{level_name}事件数", className="exp-legend-title"),
        html.Div(
            [
                html.Span("1", className="exp-legend-lo"),
                html.Span(className="exp-legend-ramp"),
                html.Span(f"{top:,}", className="exp-legend-hi"),
            ],
            className="exp-legend-scale",
        )
        if top
        else None,
        html.Div([html.Span(className="exp-legend-none"), "无事件"], className="exp-legend-row"),
    ]
