"""The workbench's header actions, thin callbacks: saved views (per user), copying the
view's link, and exports (a background job with progress, dashboard.explore.export)."""

from __future__ import annotations

from dash import Input, Output, State, callback, clientside_callback, ctx, html, no_update

from domain.explore.filters import encode, parse
from queries.explore.views import ViewError, delete_view, list_views, save_view

from . import export, ids
from .callbacks import clicked, viewer_services
from .data import build_view


@callback(
    Output(ids.VIEWS, "options"),
    Output(ids.VIEW_NOTE, "children"),
    Input(ids.VIEW_SAVE, "n_clicks"),
    Input(ids.VIEW_DELETE, "n_clicks"),
    Input(ids.URL, "pathname"),
    State(ids.VIEW_NAME, "value"),
    State(ids.VIEWS, "value"),
    State(ids.URL, "search"),
)
def views_cb(_save, _delete, _path, name, chosen, search):
    svc = viewer_services()
    if svc is None or svc.viewer.kind != "user":
        return [], ""
    note = ""
    user_id = svc.viewer.id
    with svc.pool.connection() as conn:
        if ctx.triggered_id == ids.VIEW_SAVE and clicked():
            f, problems = parse(search if isinstance(search, str) else "")
            # Saved as the page shows it: an area outside the jurisdiction is dropped.
            f = build_view(svc, conn, f, problems).filters
            title = name if isinstance(name, str) else ""
            try:
                save_view(conn, user_id, title, encode(f, drawer=False), svc.clock.now())
                note = f"已保存“{title.strip()}”"
            except ViewError as exc:
                note = str(exc)
        elif ctx.triggered_id == ids.VIEW_DELETE and clicked():
            # The drop-down's values are the views' query strings with their "?".
            views = {f"?{q}" if q else "?": i for i, _n, q in list_views(conn, user_id)}
            if (
                isinstance(chosen, str)
                and chosen in views
                and delete_view(conn, user_id, views[chosen])
            ):
                note = "已删除所选视图"
            else:
                note = "请先在“我的视图”中选择要删除的视图"
        views = list_views(conn, user_id)
    return [{"label": n, "value": f"?{q}" if q else "?"} for _i, n, q in views], note


# Copying the URL is the browser's business (the clipboard API needs the page's own gesture).
clientside_callback(
    """
    function (n) {
        if (!n) { return window.dash_clientside.no_update; }
        const url = window.location.href;
        if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(url);
            return "链接已复制";
        }
        window.prompt("复制本视图的链接：", url);
        return "";
    }
    """,
    Output(ids.VIEW_NOTE, "children", allow_duplicate=True),
    Input(ids.SHARE, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.EXPORT_JOB, "data"),
    Output(ids.EXPORT_POLL, "disabled"),
    Output(ids.EXPORT_STATUS, "children"),
    Input(ids.EXPORT_CSV, "n_clicks"),
    Input(ids.EXPORT_XLSX, "n_clicks"),
    State(ids.URL, "search"),
    prevent_initial_call=True,
)
def export_start(_csv, _xlsx, search):
    svc = viewer_services()
    if svc is None or not clicked():
        return no_update, no_update, no_update
    fmt = "csv" if ctx.triggered_id == ids.EXPORT_CSV else "xlsx"
    try:
        job = export.start(svc, search if isinstance(search, str) else "", fmt)
    except export.ExportError as exc:
        return None, True, str(exc)
    return job, False, "正在导出…"


@callback(
    Output(ids.EXPORT_STATUS, "children", allow_duplicate=True),
    Output(ids.EXPORT_POLL, "disabled", allow_duplicate=True),
    Input(ids.EXPORT_POLL, "n_intervals"),
    State(ids.EXPORT_JOB, "data"),
    prevent_initial_call=True,
)
def export_poll(_n, job):
    svc = viewer_services()
    if svc is None or not job:
        return no_update, True
    data = export.status(svc, job)
    if data is None:
        return "导出任务不存在或已过期", True
    if data["state"] == "failed":
        return "导出失败，请重试（详情见服务器日志）", True
    done, total = int(data["done"]), max(1, int(data["total"]))
    if data["state"] == "done":
        return [
            html.A(
                f"下载 {data['filename']}（{done:,} 行）",
                href=f"/export/tickets/{job}",
                id="exp-export-link",
                className="exp-export-link",
            ),
        ], True
    return [
        html.Progress(value=str(done), max=str(total), className="exp-progress"),
        f" {done:,} / {total:,}",
    ], False
