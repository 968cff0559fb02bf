"""Exports of the workbench's filtered tickets: CSV (UTF-8 with BOM) or Excel (xlsx, with a
sheet of the filters used and the time of export), as a background job with progress.

    start(svc, query, fmt)  -> job id   (the export action checked and audited first)
    status(svc, job)        -> {"state", "done", "total", "file"}   (polled by the page)
    GET /export/tickets/<job>           the finished file, to the user who asked for it

The job streams rows through a server-side cursor into a file on disk (xlsxwriter in
constant-memory mode), so memory stays flat whatever the count. Its progress lives in Redis,
readable by any server process; the file lives in ``settings.export_dir`` on this machine, and
files older than ``KEEP_S`` are removed when the next export starts. Personal fields are
masked for the viewer's tier with the API's disclosure rules, like every other output.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import flask
import orjson
import redis

from domain import disclosure as dis
from domain.access import Action
from domain.explore.filters import CLOCK_NAMES_ZH, encode, parse
from domain.supervision import STEP_NAMES_ZH
from domain.vocabulary import SATISFACTION_NAMES_ZH, SOURCE_NAMES_ZH, URGENCY_NAMES_ZH
from domain.workflow.rules import STAGE_NAMES_ZH, STATE_NAMES_ZH
from queries import audit, services
from queries.explore.table import count, stream
from queries.services import Services
from queries.viewer import Viewer

from .data import build_view
from .xlsx import Workbook

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx")
KEEP_S = 3600
PROGRESS_EVERY = 2000
_JOB = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_STATE_NAMES = {str(k): v for k, v in STATE_NAMES_ZH.items()}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HEADER = (
    "事件编号",
    "上报时间",
    "类别编码",
    "类别",
    "原系统类型",
    "原系统原因",
    "网格编码",
    "网格",
    "微网格编码",
    "来源",
    "紧急程度",
    "状态",
    "环节",
    "时效",
    "环节期限",
    "办结期限",
    "原办结期限",
    "结案时间",
    "按期结案",
    "牵头部门",
    "督办",
    "返工次数",
    "退回次数",
    "延期次数",
    "满意度",
    "地址",
    "经度",
    "纬度",
)


class ExportError(ValueError):
    """An export that cannot start; the message is for the analyst (zh-CN)."""


def _key(svc: Services, job: str) -> str:
    return f"gs:export:{svc.cache.namespace}:{job}"


def _text(value: Any) -> str:
    s = "" if value is None else str(value)
    return "'" + s if s.startswith(_FORMULA_START) else s


def _t(value: datetime | None, tz) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def record(r: dict[str, Any], masker, tz) -> list[Any]:
    """One exported row (the order of HEADER), masked for ``masker``."""
    lat, lon = (None, None)
    if masker.sees(dis.point_field(r["category_code"])):
        lat, lon = r["lat"], r["lon"]
    return [
        r["ticket_no"],
        _t(r["created_at"], tz),
        r["category_code"],
        _text(r["category_name"]),
        _text(r["source_type"]),
        _text(r["source_reason"]),
        r["grid_code"],
        _text(r["grid_name"]),
        r["micro_grid_code"] or "",
        SOURCE_NAMES_ZH.get(r["source"], r["source"]),
        URGENCY_NAMES_ZH.get(r["urgency"], r["urgency"]),
        _STATE_NAMES.get(r["state"], r["state"]),
        STAGE_NAMES_ZH.get(r["stage"] or "", ""),
        CLOCK_NAMES_ZH.get(r["clock"], r["clock"]),
        _t(r["stage_due_at"], tz) if r["stage"] else "",
        _t(r["due_at"], tz),
        _t(r["original_due_at"], tz),
        _t(r["closed_at"], tz),
        "" if r["closed_on_time"] is None else ("是" if r["closed_on_time"] else "否"),
        _text(r["department_name"]),
        STEP_NAMES_ZH.get(r["supervision"], ""),
        r["rework_count"],
        r["return_count"],
        r["extension_count"],
        SATISFACTION_NAMES_ZH.get(r["satisfaction"] or "", ""),
        _text(dis.address(masker, r["address"])),
        "" if lon is None else round(lon, 6),
        "" if lat is None else round(lat, 6),
    ]


def filter_lines(view, query: str, viewer: Viewer, at: datetime, tz, total: int) -> list[list[str]]:
    """The "筛选条件" sheet: what was exported, by whom, when, under which filters."""
    f = view.filters
    basis = "按办结时间" if f.basis == "closed" else "按上报时间"
    lines = [
        ["导出时间", at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")],
        ["导出人", viewer.name],
        ["辖区", viewer.scope.prefix or "全部"],
        ["时间范围", f"{view.first_day} 至 {view.last_day}（{basis}）"],
        ["区域", f.area or "全辖区"],
        ["事件数", str(total)],
        ["链接参数", "?" + query if query else "（默认）"],
    ]
    for name in (
        "cat",
        "stype",
        "state",
        "stage",
        "source",
        "urgency",
        "clock",
        "sup",
        "flag",
        "dept",
    ):
        vals = getattr(f, name)
        if vals:
            lines.append([name, ", ".join(str(v) for v in vals)])
    if f.bbox:
        lines.append(["框选范围", ", ".join(str(v) for v in f.bbox)])
    if f.poly:
        lines.append(["多边形", f"{len(f.poly)} 个顶点"])
    lines.append(["说明", "个人信息按导出人角色脱敏；导出行为已记入审计日志"])
    return lines


def _export_dir(svc: Services) -> Path:
    d = Path(svc.settings.export_dir)
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sweep(directory: Path, now_s: float) -> None:
    """Remove exports older than KEEP_S at ``now_s`` (the app's clock, as a Unix time)."""
    for p in directory.glob("explore_*"):
        try:
            if now_s - p.stat().st_mtime > KEEP_S:
                p.unlink()
        except OSError:
            pass


def _set(svc: Services, job: str, data: dict[str, Any]) -> None:
    svc.cache.client.set(_key(svc, job), orjson.dumps(data), ex=KEEP_S)


def status(svc: Services, job: str) -> dict[str, Any] | None:
    """The job's progress, or None when there is no such job of this viewer."""
    if not isinstance(job, str) or not _JOB.fullmatch(job) or svc.viewer is None:
        return None
    raw = svc.cache.client.get(_key(svc, job))
    if raw is None:
        return None
    data = orjson.loads(raw)
    if data.get("owner") != [svc.viewer.kind, svc.viewer.id]:
        return None
    return data


def start(svc: Services, query: str, fmt: str) -> str:
    """Check, audit and start an export of the view ``query`` (a /explore query string) as
    ``fmt``; returns the job id. ExportError when it may not or cannot run."""
    viewer = svc.viewer
    if viewer is None:
        raise ExportError("未登录")
    if fmt not in FORMATS:
        raise ExportError(f"未知导出格式：{fmt[:10]}")
    now = svc.clock.now()
    f, problems = parse(query or "")
    f = f.with_(ticket=None)
    obj = f"tickets.{fmt}"
    if not viewer.may(Action.EXPORT):
        with svc.pool.connection() as conn:
            audit.write(conn, audit.event_for(viewer, "export", object=obj, outcome="refused"), now)
        raise ExportError("无权导出数据")
    with svc.read_pool.connection() as conn:
        view = build_view(svc, conn, f, problems)
        total = count(conn, view)
    job = secrets.token_urlsafe(18)
    canonical = encode(view.filters)
    directory = _export_dir(svc)
    _sweep(directory, now.timestamp())
    stamp = now.astimezone(svc.settings.tz).strftime("%Y%m%d_%H%M")
    filename = f"事件_{viewer.scope.prefix or 'all'}_{stamp}.{fmt}"
    path = directory / f"explore_{job}.{fmt}"
    state = {
        "owner": [viewer.kind, viewer.id],
        "state": "running",
        "done": 0,
        "total": total,
        "format": fmt,
        "filename": filename,
        "path": str(path),
    }
    try:
        _set(svc, job, state)
    except redis.RedisError as exc:  # progress lives in Redis: no Redis, no export job
        raise ExportError("导出服务暂不可用（缓存服务无响应），请稍后重试") from exc
    with svc.pool.connection() as conn:
        audit.write(
            conn,
            audit.event_for(
                viewer,
                "export",
                object=obj,
                count=total,
                detail={"query": canonical, "format": fmt, "job": job},
            ),
            now,
        )
    worker = threading.Thread(
        target=_run,
        args=(svc, job, view, canonical, viewer, now, path, state),
        name=f"export-{job[:6]}",
        daemon=True,
    )
    worker.start()
    return job


def write_file(rows, path: Path, fmt: str, masker, tz, sheet_lines, progress) -> int:
    """Write ``rows`` (dicts from queries.explore.table.stream) to ``path``; ``progress(n)`` is
    called every PROGRESS_EVERY rows. Returns the number of rows written."""
    n = 0
    if fmt == "csv":
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(HEADER)
            for r in rows:
                w.writerow(record(r, masker, tz))
                n += 1
                if n % PROGRESS_EVERY == 0:
                    progress(n)
        return n
    widths = (
        22,
        19,
        8,
        16,
        16,
        16,
        18,
        20,
        20,
        10,
        8,
        10,
        8,
        10,
        19,
        19,
        19,
        19,
        8,
        24,
        10,
        8,
        8,
        8,
        8,
        30,
        11,
        11,
    )
    with Workbook(path) as wb:
        n = wb.sheet(
            "事件", HEADER, (record(r, masker, tz) for r in rows), widths, progress, PROGRESS_EVERY
        )
        wb.sheet("筛选条件", (), sheet_lines, (14, 80))
    return n


def _run(svc: Services, job, view, canonical, viewer: Viewer, at, path: Path, state) -> None:
    tz = svc.settings.tz
    tmp = path.with_suffix(path.suffix + ".part")
    try:
        with svc.read_pool.connection() as conn:
            lines = filter_lines(view, canonical, viewer, at, tz, state["total"])

            def progress(n: int) -> None:
                _set(svc, job, {**state, "done": n})

            n = write_file(
                stream(conn, view), tmp, state["format"], viewer.masker, tz, lines, progress
            )
            conn.rollback()  # the server-side cursor's transaction
        os.replace(tmp, path)
        _set(svc, job, {**state, "state": "done", "done": n, "total": n})
    except Exception:  # a job thread has no caller to raise to: the page shows the failure
        log.exception("export %s failed", job)
        try:
            tmp.unlink(missing_ok=True)
            _set(svc, job, {**state, "state": "failed"})
        except Exception:
            log.exception("export %s: could not record the failure", job)


def download(job: str) -> flask.Response:
    """The finished export ``job`` of the signed-in caller (404 for anyone else's)."""
    svc = services.current()
    data = status(svc, job)
    if data is None or data.get("state") != "done" or not Path(data["path"]).exists():
        return flask.Response(
            "404 没有这个导出文件（可能已过期，请重新导出）\n", status=404, mimetype="text/plain"
        )
    mimetype = (
        "text/csv"
        if data["format"] == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp = flask.send_file(
        data["path"],
        mimetype=mimetype,
        as_attachment=True,
        download_name=data["filename"],
        max_age=0,
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


def register(server: flask.Flask) -> None:
    server.add_url_rule("/export/tickets/<job>", "explore_export", download)
