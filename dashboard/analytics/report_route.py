"""The page's report download: ``GET /analytics/report.<pdf|xlsx>?area=<code>&period=<key>``.

The same report as ``gridscope report`` (gridscope.report), made in the request for the
signed-in viewer from the page's own view and cached panel data (``dashboard.analytics.data``):
only a viewer who may open /analytics; the area is narrowed inside the viewer's own
jurisdiction on the server (``Scope.narrow``: a code outside it is refused, never widened); the
period is a Period key (default: this month so far). Personal columns are
masked for the viewer's tier. Every report served is written to the audit trail
(``analytics_report``), and so is a refused one.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import flask

from domain.analytics.periods import PeriodError, parse_period
from gridscope.report import FORMATS, ReportError, write_report
from gridscope.report.build import MIME_TYPES, download_name
from queries import audit, services
from queries.analytics.collect import PANELS, meta
from queries.scope import ScopeError

from .data import panel, resolve

PAGE = "/analytics"


def _plain(status: int, message: str) -> flask.Response:
    return flask.Response(
        f"{status} {message}\n", status=status, mimetype="text/plain; charset=utf-8"
    )


def report_download(fmt: str) -> flask.Response:
    """The report file of the requested area and period (see the module docstring)."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None:  # the gate refuses anonymous callers first; fail closed all the same
        return _plain(401, "未登录：请先登录（/login）")
    if fmt not in FORMATS:
        return _plain(404, f"未知报告格式：{fmt[:10]!r}，可选 {' | '.join(FORMATS)}")
    now = svc.clock.now()
    obj = f"report.{fmt}"
    if not viewer.may_open(PAGE):
        with svc.pool.connection() as conn:
            audit.write(
                conn,
                audit.event_for(viewer, "analytics_report", object=obj, outcome="refused"),
                now,
            )
        return _plain(403, "无权下载态势分析报告")
    tz = svc.settings.tz
    # A view the page would correct (and say so) is refused here: a file says no such thing.
    area = (flask.request.args.get("area") or "").strip()
    try:
        if area:
            svc.scope.narrow(area)
    except ScopeError:
        return _plain(403, f"区域 {area[:32]!r} 不在您的辖区内")
    key = (flask.request.args.get("period") or "").strip()
    try:
        if key:
            parse_period(key).cut(now, tz)
    except PeriodError as exc:
        return _plain(400, f"期间参数无效：{exc}")
    # The page's own view and cached panel data, so the file carries the page's numbers.
    view = resolve(svc, area, key)
    if view.problems:
        return _plain(400, "；".join(view.problems))
    scope, period = view.query.scope, view.period
    with svc.read_pool.connection() as conn:
        data: dict[str, Any] = {"meta": meta(conn, view.query)}
        conn.rollback()
    for name in PANELS:
        data[name] = panel(svc, name, view)
    with tempfile.TemporaryDirectory(prefix="gs-report-") as tmp:
        try:
            (path,) = write_report(
                data, (fmt,), Path(tmp), org=svc.settings.title, tier=viewer.tier, tz=tz
            )
        except ReportError as exc:
            return _plain(503, f"报告生成失败：{exc}")
        body = path.read_bytes()
    with svc.pool.connection() as conn:
        event = audit.event_for(
            viewer,
            "analytics_report",
            object=obj,
            detail={"area": scope.prefix, "period": period.key, "format": fmt},
        )
        audit.write(conn, event, now)
    resp = flask.send_file(
        io.BytesIO(body),
        mimetype=MIME_TYPES[fmt],
        as_attachment=True,
        download_name=download_name(data, fmt),
        max_age=0,
    )
    # The report may carry staff names (unmasked for L3 readers): no copy in any cache.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def register(server: flask.Flask) -> None:
    """Add the report route to ``server`` (called from dashboard/routes.py)."""
    server.add_url_rule("/analytics/report.<fmt>", "analytics_report", report_download)
