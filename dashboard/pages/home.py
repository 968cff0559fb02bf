"""The landing page: what this server offers."""

import dash
from dash import dcc, html

from queries import services

dash.register_page(__name__, path="/", title="网格化服务管理", name="首页")


def layout(**_query: str):
    settings = services.current().settings
    return html.Main(
        [
            html.H1(settings.title, className="gs-home-title"),
            html.P("城乡网格化服务管理 · 指挥调度平台", className="gs-home-sub"),
            html.Nav(
                [
                    dcc.Link(
                        [
                            html.Span("指挥中心大屏", className="gs-home-link-title"),
                            html.Span(
                                "/screen · 1920×1080 起，适配 4K 与 32:9 拼接屏",
                                className="gs-home-link-sub",
                            ),
                        ],
                        href="/screen",
                        className="gs-home-link",
                    ),
                    dcc.Link(
                        [
                            html.Span("网格地图", className="gs-home-link-title"),
                            html.Span(
                                "/map · 区县—镇街—社区—网格—微网格，指标设色与网格信息卡",
                                className="gs-home-link-sub",
                            ),
                        ],
                        href="/map",
                        className="gs-home-link",
                    ),
                ],
                className="gs-home-nav",
            ),
        ],
        className="gs-home",
    )
