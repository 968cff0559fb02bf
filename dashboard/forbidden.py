"""What a page renders for a caller who may not open it (the access gate refuses the request
first; this covers Dash's client-side page changes)."""

from dash import html


def forbidden_notice() -> html.Div:
    return html.Div(
        [
            html.H2("无权访问", className="gs-forbidden-title"),
            html.P("您的角色无权查看此页面。", className="gs-forbidden-text"),
            html.A("返回首页", href="/", className="gs-forbidden-link"),
        ],
        className="gs-forbidden",
    )
