"""The page skeleton of /analytics (态势分析): a bar with the area and period and the report
downloads, then one section per panel, filled by ``callbacks`` from the URL."""

from __future__ import annotations

from dash import dcc, html

from dashboard.userbar import user_bar
from domain.access import Action
from domain.analytics.periods import KIND_NAMES_ZH, KINDS
from queries.services import Services

from . import ids

# (panel, title, css modifier): the page's sections in reading order. The rankings and the
# hotspot map are wide; the others pair up.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("measures", "主要指标", "wide"),
    ("rankings", "排名", "wide"),
    ("categories", "事件类别结构", "half"),
    ("rhythm", "时段与节假日", "half"),
    ("hotspots", "热点与重复问题", "wide"),
    ("satisfaction", "群众满意度", "half"),
    ("patrol", "巡查与在线", "half"),
)


def _section(name: str, title: str, size: str) -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.H2(title, className="sit-section-title"),
                    html.Div(id=ids.tools(name), className="sit-section-tools"),
                ],
                className="sit-section-head",
            ),
            dcc.Loading(
                html.Div(id=ids.panel(name), className="sit-panel-body"),
                type="dot",
                color="#3cc8ff",
                parent_className="sit-loading",
            ),
        ],
        className=f"sit-section sit-section--{size}",
        id=ids.section(name),
    )


def page(svc: Services) -> html.Div:
    viewer = svc.viewer
    may_export = viewer is not None and viewer.may(Action.EXPORT)
    # The report links are always in the layout (the state callback fills their href); a
    # viewer who may not export does not see them, and the route refuses them anyway.
    hidden = {} if may_export else {"display": "none"}
    report = [
        html.A(
            "下载报告 PDF",
            id=ids.REPORT_PDF,
            className="exp-btn sit-report",
            href="#",
            style=hidden,
        ),
        html.A(
            "报告 Excel", id=ids.REPORT_XLSX, className="exp-btn sit-report", href="#", style=hidden
        ),
    ]
    header = html.Header(
        [
            dcc.Link("网格化服务管理", href="/", className="gs-analyst-home"),
            html.H1("态势分析", className="gs-analyst-title"),
            html.Div(
                [
                    dcc.Dropdown(
                        id=ids.AREA,
                        options=[],
                        placeholder="全部辖区",
                        clearable=True,
                        searchable=True,
                        className="sit-area",
                    ),
                    dcc.RadioItems(
                        id=ids.KIND,
                        options=[{"label": KIND_NAMES_ZH[k], "value": k} for k in KINDS],
                        value="month",
                        inline=True,
                        className="sit-kind",
                        inputClassName="sit-kind-input",
                        labelClassName="sit-kind-label",
                    ),
                    dcc.Dropdown(
                        id=ids.PERIOD,
                        options=[],
                        clearable=False,
                        searchable=False,
                        className="sit-period",
                    ),
                    dcc.DatePickerRange(
                        id=ids.CUSTOM,
                        display_format="YYYY-MM-DD",
                        first_day_of_week=1,
                        minimum_nights=0,
                        className="sit-custom",
                        style={"display": "none"},
                    ),
                ],
                className="sit-controls",
            ),
            html.Div(
                [html.Span(id=ids.LABEL, className="sit-label"), *report], className="sit-actions"
            ),
            user_bar(svc),
        ],
        className="gs-analyst-bar sit-bar",
    )
    main = html.Main(
        [
            html.Div(id=ids.PROBLEMS, className="sit-problems"),
            html.Div(
                [_section(*s) for s in SECTIONS],
                className="sit-grid",
            ),
        ],
        className="sit-main",
    )
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.STATE),
            dcc.Store(id=ids.SCALE),
            header,
            main,
        ],
        className="gs-analyst sit-page",
    )
