"""The landing page: the pages the signed-in caller may open, and who is signed in."""

import dash
from dash import dcc, html

from dashboard.userbar import user_bar
from domain.access import PAGES
from queries import services

dash.register_page(__name__, path="/", title="网格化服务管理", name="首页")

# What each page is, under its name on the index.
DESCRIPTIONS = {
    "/screen": "/screen · 1920×1080 起，适配 4K 与 32:9 拼接屏",
    "/map": "/map · 区县—镇街—社区—网格—微网格，指标设色与网格信息卡",
    "/analytics": "/analytics · 各项指标环比同比、排名、热点、满意度、巡查与月度报告",
    "/explore": "/explore · 按区域、类别、时间、状态与时效筛选到单件，可分享链接与导出",
    "/admin/users": "账号、角色与辖区；停用、启用、重置密码",
    "/admin/walls": "大屏链接：创建、吊销、查看最近刷新",
    "/admin/audit": "登录、数据读取、导出与管理操作的留痕记录",
}


def _link(path: str, name: str) -> dcc.Link:
    return dcc.Link(
        [
            html.Span(name, className="gs-home-link-title"),
            html.Span(DESCRIPTIONS.get(path, path), className="gs-home-link-sub"),
        ],
        href=path,
        className="gs-home-link",
    )


def layout(**_query: str):
    """Links to the pages the caller's role opens (domain.access), work pages first."""
    svc = services.current()
    viewer = svc.viewer
    pages = [p for p in PAGES if p.path != "/" and viewer is not None and viewer.may_open(p.path)]
    work = [_link(p.path, p.name_zh) for p in pages if not p.admin]
    admin = [_link(p.path, p.name_zh) for p in pages if p.admin]
    return html.Main(
        [
            html.Div(user_bar(svc), className="gs-home-userbar"),
            html.H1(svc.settings.title, className="gs-home-title"),
            html.P("城乡网格化服务管理 · 指挥调度平台", className="gs-home-sub"),
            html.Nav(work, className="gs-home-nav") if work else None,
            html.H2("系统管理", className="gs-home-section") if admin else None,
            html.Nav(admin, className="gs-home-nav gs-home-nav--admin") if admin else None,
            None if pages else html.P("您的角色没有可打开的页面", className="gs-home-sub"),
        ],
        className="gs-home",
    )
