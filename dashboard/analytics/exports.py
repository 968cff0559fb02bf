"""Exports of the tables on /analytics: ``GET /analytics/export/<panel>/<table>.<csv|xlsx>
?area=&period=``. The view is resolved on the server for the signed-in viewer exactly as the
page resolves it (area inside the viewer's jurisdiction, period parsed), the table is taken
from the same cached panel data, personal columns are masked for the viewer's tier, and every
export (also a refused one) is written to the audit trail as ``analytics_export``."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import flask
from dash import html

from dashboard.explore.xlsx import Workbook
from domain.access import Action
from domain.masking import mask_table_rows
from queries import audit, services
from queries.analytics.collect import PANELS

from .data import level_panel, panel, resolve

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
# Ranking levels too large to rank with the page: exported by ranking them on request.
DEFERRED = {"grids": "grid", "workers": "worker"}


def export_links(name: str, data: dict[str, Any], view: dict[str, Any]) -> list:
    """The export links of panel ``name``'s tables (for viewers who may export)."""
    tables = dict(data.get("tables") or {})
    for lv in data.get("levels") or []:
        if lv.get("deferred") and lv.get("key") in DEFERRED:
            tables[lv["key"]] = {"title": f"{lv['title']}排名"}
    q = urlencode({k: v for k, v in (("area", view["area"]), ("period", view["period"])) if v})
    out: list = []
    for key, table in tables.items():
        title = table.get("title", key)
        out.append(
            html.Span(
                [
                    html.Span(title, className="sit-export-title"),
                    html.A(
                        "CSV",
                        href=f"/analytics/export/{name}/{key}.csv?{q}",
                        className="sit-export",
                        title=f"导出「{title}」为 CSV",
                    ),
                    html.A(
                        "Excel",
                        href=f"/analytics/export/{name}/{key}.xlsx?{q}",
                        className="sit-export",
                        title=f"导出「{title}」为 Excel",
                    ),
                ],
                className="sit-export-group",
            )
        )
    return out


def _plain(status: int, message: str) -> flask.Response:
    return flask.Response(
        f"{status} {message}\n", status=status, mimetype="text/plain; charset=utf-8"
    )


def export_table(panel_name: str, table: str, fmt: str) -> flask.Response:
    svc = services.current()
    viewer = svc.viewer
    now = svc.clock.now()
    if viewer is None or not viewer.may_open("/analytics") or not viewer.may(Action.EXPORT):
        with svc.pool.connection() as conn:
            audit.write(
                conn,
                audit.event_for(viewer, "analytics_export", object=panel_name, outcome="refused"),
                now,
            )
        return _plain(403, "无导出权限")
    if fmt not in FORMATS:
        return _plain(400, f"格式 {fmt!r} 不支持：csv 或 xlsx")
    if panel_name not in PANELS:
        return _plain(404, f"没有栏目 {panel_name!r}")
    args = flask.request.args
    view = resolve(svc, args.get("area"), args.get("period"))
    if view.problems:
        return _plain(400, "；".join(view.problems))
    data = panel(svc, panel_name, view)
    tables = data.get("tables") or {}
    if panel_name == "rankings" and table in DEFERRED and table not in tables:
        tables = level_panel(svc, DEFERRED[table], view).get("tables") or {}
    if table not in tables:
        return _plain(404, f"栏目 {panel_name} 没有表格 {table!r}")
    t = tables[table]
    header = [c[1] for c in t["columns"]]
    rows = mask_table_rows(t, viewer.tier)
    stem = f"{t.get('title', table)}_{view.area or '全部辖区'}_{view.period.key}"
    with svc.pool.connection() as conn:
        audit.write(
            conn,
            audit.event_for(
                viewer,
                "analytics_export",
                object=f"{panel_name}/{table}",
                count=len(rows),
                detail={"area": view.area, "period": view.period.key, "format": fmt},
            ),
            now,
        )
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text only with a BOM
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(["" if v is None else v for v in r] for r in rows)
        body = buf.getvalue().encode("utf-8")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "t.xlsx"
            notes = [
                ["辖区", view.area or "全部辖区"],
                ["时段", view.period.label_zh],
                ["导出时间", now.astimezone(svc.settings.tz).isoformat(timespec="seconds")],
                ["导出人", viewer.name],
            ]
            with Workbook(path) as wb:
                wb.sheet(str(t.get("title", table))[:31], header, rows)
                wb.sheet("说明", ["项目", "内容"], notes, widths=(12, 40))
            body = path.read_bytes()
    resp = flask.Response(body, mimetype=FORMATS[fmt])
    resp.headers["Content-Disposition"] = (
        f"attachment; filename=analytics.{fmt}; filename*=UTF-8''{quote(stem)}.{fmt}"
    )
    return resp


def register(server: flask.Flask) -> None:
    server.add_url_rule(
        "/analytics/export/<panel_name>/<table>.<fmt>", "analytics_export", export_table
    )
