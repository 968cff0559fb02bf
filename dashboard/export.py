"""The grids export: ``GET /export/grids.csv?window=today|7d|30d|month``.

One row per grid in the caller's jurisdiction (``queries.export``), the grid chief's name and
phone masked for the caller's tier (``domain.masking``), as UTF-8 CSV with a byte-order mark so
that Excel opens the Chinese text as it is. Needs a session (the access gate refuses anonymous
callers) and the role's ``export`` action (else 403). Every export, and every refused one, is
written to the audit trail in the same request.
"""

from __future__ import annotations

import csv
import io

import flask

from domain.access import Action
from domain.masking import Masker
from queries import audit, services
from queries.export import WINDOWS, GridRow, grid_rows

DEFAULT_WINDOW = "today"
OBJECT = "grids.csv"

HEADER = (
    "网格编码",
    "网格名称",
    "社区",
    "镇街",
    "新增事件",
    "结案数",
    "在办",
    "超期",
    "应结案数",
    "结案率",
    "按期结案率",
    "网格长",
    "网格长电话",
)

# A cell starting with one of these is a formula to Excel (CSV injection): names come from
# imported data, so such cells get a leading apostrophe, which Excel shows as text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str | None) -> str:
    value = value or ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _percent(rate: float | None) -> str:
    """A fraction as '87.5%'; empty when nothing was due (not 0 % or 100 %)."""
    return "" if rate is None else f"{rate * 100:.1f}%"


def csv_bytes(rows: list[GridRow], masker: Masker) -> bytes:
    """The CSV file (BOM, header, one line per row, CRLF) with the chief masked by ``masker``."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for r in rows:
        writer.writerow(
            (
                r.code,
                _text(r.name),
                _text(r.community),
                _text(r.town),
                r.created,
                r.closed,
                r.open,
                r.overdue,
                r.due_to_close,
                _percent(r.closure_rate),
                _percent(r.on_time_rate),
                _text(masker.field("staff.name", r.chief_name)),
                _text(masker.field("staff.phone", r.chief_phone)),
            )
        )
    return out.getvalue().encode("utf-8")


def _plain(status: int, message: str) -> flask.Response:
    return flask.Response(f"{status} {message}\n", status=status, mimetype="text/plain")


def export_grids() -> flask.Response:
    """The grids CSV of the caller's jurisdiction (see the module docstring)."""
    svc = services.current()
    viewer = svc.viewer
    if viewer is None:  # the gate refuses anonymous callers first; fail closed all the same
        return _plain(401, "未登录：请先登录（/login）")
    window = flask.request.args.get("window", DEFAULT_WINDOW)
    now = svc.clock.now()
    if not viewer.may(Action.EXPORT):
        with svc.pool.connection() as conn:
            event = audit.event_for(viewer, "export", object=OBJECT, outcome="refused")
            audit.write(conn, event, now)
        return _plain(403, "无权导出数据")
    if window not in WINDOWS:
        return _plain(400, f"window 参数无效：{window[:20]!r}，可选 {' | '.join(WINDOWS)}")
    with svc.pool.connection() as conn:
        rows = grid_rows(conn, svc.scope, window, now, svc.settings.tz)
        event = audit.event_for(
            viewer, "export", object=OBJECT, count=len(rows), detail={"window": window}
        )
        audit.write(conn, event, now)
    body = csv_bytes(rows, viewer.masker)
    day = now.astimezone(svc.settings.tz).strftime("%Y%m%d")
    filename = f"grids_{svc.scope.prefix or 'all'}_{window}_{day}.csv"
    resp = flask.Response(body, mimetype="text/csv")
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data (the chief's contact, whole for L3 readers): no copy in any cache.
    resp.headers["Cache-Control"] = "no-store"
    return resp


def register(server: flask.Flask) -> None:
    """Add the export route to ``server``."""
    server.add_url_rule("/export/grids.csv", "export_grids", export_grids)
