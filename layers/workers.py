"""Worker positions (网格员位置): the latest fix per field worker, coloured by role, grey
after 10 minutes without a ping, ringed red when outside all of the worker's assigned grids.

Positions come from Redis (kept by the ingest path, ``queries.positions.record_positions``)
and from ``worker_last_position`` when Redis is down or not primed. The bulk payload has no
names and no tracks (L2). A click asks for ``extra["detail"]``: name, role, grids, last ping,
share of micro-grids visited today and today's track. The track is L4, so every detail read is
logged (``gridscope.audit``), and the wall does not offer it (``extra["detail_profiles"]``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from domain.config import Settings
from queries.positions import PositionStore
from queries.scope import Scope
from queries.worker_layer import (
    FIELD_ROLES,
    MAX_WORKERS,
    WorkerFix,
    latest_workers,
    status_of,
    worker_detail,
)

from .base import LayerOption, LayerSpec, Options
from .labels import role_choices, role_name

log = logging.getLogger(__name__)

ROLE = LayerOption("role", "角色", role_choices(FIELD_ROLES), "all")
# Style only (hideout): draw workers inside their grids faint so the outside ones stand out.
EMPHASIS = LayerOption("emphasis", "突出显示", (("none", "无"), ("outside", "越界人员")), "none")

# Marker colours by role on the dark map; grey when stale or off duty; a red ring when outside.
ROLE_COLORS = {
    "grid_chief": "#ffb547",
    "fulltime_worker": "#3cc8ff",
    "parttime_worker": "#3ee0a0",
    "micro_grid_chief": "#c792ff",
    "grid_instructor": "#f2d35b",
}
GREY = "#6b7a8f"
OUTSIDE = "#ff3b30"


def workers_geojson(
    workers: Sequence[WorkerFix], now: datetime, *, hidden_old: int = 0, source: str = ""
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) of the workers (queries.worker_layer), by staff
    id, at most MAX_WORKERS; properties id, role, role_zh, status, outside, age_s (seconds
    since the fix at ``now``). A foreign member ``meta`` holds counts {online, off_duty, stale,
    outside, hidden_old, truncated}, source and as_of_ms."""
    ordered = sorted(workers, key=lambda w: w.staff_id)
    truncated = max(0, len(ordered) - MAX_WORKERS)
    if truncated:
        log.warning("worker layer: %d workers over the cap of %d dropped", truncated, MAX_WORKERS)
        ordered = ordered[:MAX_WORKERS]
    counts = {"online": 0, "off_duty": 0, "stale": 0, "outside": 0}
    features = []
    for w in ordered:
        status = status_of(w.fix, now)
        counts[status] += 1
        outside = w.outside
        counts["outside"] += outside
        features.append(
            {
                "type": "Feature",
                "id": w.staff_id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(w.fix.lon, 6), round(w.fix.lat, 6)],
                },
                "properties": {
                    "id": w.staff_id,
                    "role": w.role,
                    "role_zh": role_name(w.role),
                    "status": status,
                    "outside": outside,
                    "age_s": max(0, int((now - w.fix.at).total_seconds())),
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {
            **counts,
            "hidden_old": hidden_old,
            "truncated": truncated,
            "source": source,
            "as_of_ms": int(now.timestamp() * 1000),
        },
    }


def fetch(
    conn: psycopg.Connection, scope: Scope, options: Options, now: datetime, settings: Settings
) -> dict[str, Any]:
    """{"data": workers GeoJSON (workers_geojson), "hideout", "legend",
    "note"}; positions from Redis, or PostgreSQL when Redis is down or not primed."""
    role = ROLE.parse(options.get("role"))
    roles = FIELD_ROLES if role == "all" else (role,)
    store = PositionStore.from_url(settings.redis_url, settings.database_url)
    try:
        workers, hidden, source = latest_workers(conn, store, scope, now, roles)
    finally:
        store.client.close()
    fc = workers_geojson(workers, now, hidden_old=hidden, source=source)
    m = fc["meta"]
    shown = [r for r in FIELD_ROLES if role in ("all", r)]
    return {
        "data": fc,
        "hideout": {"colors": ROLE_COLORS, "grey": GREY, "outside": OUTSIDE, "radius": 6},
        "legend": [
            *({"label": role_name(r), "color": ROLE_COLORS[r]} for r in shown),
            {"label": "10分钟无定位/离岗", "color": GREY},
            {"label": "不在所属网格", "color": OUTSIDE},
        ],
        "note": f"在线 {m['online']} 人 · 越界 {m['outside']} 人 · 无定位 {m['stale']} 人",
    }


def detail(
    conn: psycopg.Connection,
    scope: Scope,
    feature_id: Any,
    now: datetime,
    settings: Settings,
    requested_by: str = "",
) -> dict[str, Any] | None:
    """The clicked worker (queries.worker_layer.worker_detail) with its role's name
    (``role_zh``), or None when ``feature_id`` is not the staff id of a field worker in scope
    (cluster clicks, stale ids, other scopes)."""
    if isinstance(feature_id, bool) or not isinstance(feature_id, int | str):
        return None
    try:
        staff_id = int(feature_id)
    except ValueError:
        return None
    if staff_id <= 0:
        return None
    got = worker_detail(conn, scope, staff_id, now, settings.tz, requested_by=requested_by)
    return None if got is None else got | {"role_zh": role_name(got["role"])}


LAYER = LayerSpec(
    id="workers",
    title_zh="网格员位置",
    title_en="Worker positions",
    render="markers",
    fetch=fetch,
    data_options=(ROLE,),
    style_options=(EMPHASIS,),
    refresh_s=lambda s: s.refresh_workers_s,
    legend_zh="按角色着色；灰色：10分钟无定位或离岗；红圈：不在所属网格",
    sensitivity="L2",
    default_visible=True,
    extra={
        "pointToLayer": "gridscope.workers.pointToLayer",
        "onEachFeature": "gridscope.workers.onEachFeature",
        "pane_z": 440,
        # Click -> detail(conn, scope, clickData["properties"]["id"], now, settings,
        # requested_by) on the server -> window.gridscope.workers.showDetail(mapId, detail).
        "detail": detail,
        "detail_sensitivity": "L4",
        "detail_js": "gridscope.workers.showDetail",
        # Map profiles that may offer the detail (never the wall by default).
        "detail_profiles": ("analyst",),
    },
)
