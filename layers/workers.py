"""Worker positions (网格员位置): the latest fix per field worker, coloured by role, grey
after 10 minutes without a ping, ringed red when outside all of the worker's assigned grids.

Positions come from Redis (kept by the ingest path, ``queries.positions.record_positions``)
and from ``worker_last_position`` when Redis is down; a Redis copy that is not primed or older
than PostgreSQL (a restored snapshot) is primed again before it is read. The bulk payload has no
names and no tracks. A precise position is L4 (``worker.position``): only callers who may read
tracks (``access.read_tracks``: dispatchers, administrators) get one point per worker; everyone
else (the wall, leaders, analysts) gets one point per grid at the grid's stored anchor with
the number of workers in it (``workers_per_grid``) — no staff id, so nothing links a count to
a person, and a grid is the coarsest place the map still says something useful about cover.

A click asks for ``extra["detail"]``: name, role, grids, last ping, share of micro-grids
visited today and today's track. It is refused unless the viewer may read tracks, and every
read is audited (an ``audit_event`` row, queries.worker_detail.worker_detail); the wall does not
offer it (``extra["detail_profiles"]``).

Two shapes of the same layer: ``fetch``, the full GeoJSON the map (/map) draws, and
``delta_payload``, the wall feed's compact delta (``/feed/workers?since=``, issue #10;
layers/workers_delta.py), with the same access rules; assets/25_workers_delta.js turns the
delta back into the full payload's GeoJSON.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
import redis

from domain.access import Action
from domain.config import Settings
from queries.faults import FaultLog
from queries.positions import PositionStore
from queries.scope import Scope
from queries.services import app_faults
from queries.viewer import Viewer
from queries.worker_detail import worker_detail
from queries.worker_layer import (
    FIELD_ROLES,
    MAX_WORKERS,
    WorkerFix,
    grid_anchors,
    grid_of,
    latest_workers,
    status_of,
)

from .base import NO_ACCESS, Access, LayerOption, LayerSpec, Options
from .labels import role_choices, role_name
from .workers_delta import delta_payload as _delta_payload
from .workers_delta import note

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


def workers_per_grid(
    workers: Sequence[WorkerFix],
    now: datetime,
    anchors: dict[str, tuple[str, float, float]],
    scope: Scope,
    *,
    hidden_old: int = 0,
    source: str = "",
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) with one Point per grid holding workers, at the
    grid's anchor (``anchors``: queries.worker_layer.grid_anchors). Properties: grid (name),
    count, online, off_duty, stale, outside (workers not in one of their own grids), status
    (the best status in the grid, for the colour) and role_zh (the marker's label, "<grid>
    <n>人"); no staff id, role or age. ``meta`` as in workers_geojson plus "elsewhere"
    (workers whose fix lies in no grid of the scope, counted but not drawn) and
    "per_grid": true."""
    counts = {"online": 0, "off_duty": 0, "stale": 0, "outside": 0, "elsewhere": 0}
    cells: dict[str, dict[str, int]] = {}
    for w in workers:
        status = status_of(w.fix, now)
        counts[status] += 1
        counts["outside"] += w.outside
        code = grid_of(w, scope)
        if code is None or code not in anchors:
            counts["elsewhere"] += 1
            continue
        c = cells.setdefault(code, {"online": 0, "off_duty": 0, "stale": 0, "outside": 0})
        c[status] += 1
        c["outside"] += w.outside
    features = []
    for code in sorted(cells):
        c = cells[code]
        name, lon, lat = anchors[code]
        n = c["online"] + c["off_duty"] + c["stale"]
        best = next(s for s in ("online", "off_duty", "stale") if c[s])
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
                "properties": {
                    "grid": name,
                    "count": n,
                    **c,
                    "status": best,
                    "role_zh": f"{name} {n}人",
                },
            }
        )
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {
            **counts,
            "hidden_old": hidden_old,
            "truncated": 0,
            "source": source,
            "per_grid": True,
            "as_of_ms": int(now.timestamp() * 1000),
        },
    }


def style(role: str) -> dict[str, Any]:
    """{"hideout", "legend"} of the layer for the role option ``role`` (parsed)."""
    shown = [r for r in FIELD_ROLES if role in ("all", r)]
    return {
        "hideout": {"colors": ROLE_COLORS, "grey": GREY, "outside": OUTSIDE, "radius": 6},
        "legend": [
            *({"label": role_name(r), "color": ROLE_COLORS[r]} for r in shown),
            {"label": "10分钟无定位/离岗", "color": GREY},
            {"label": "不在所属网格", "color": OUTSIDE},
        ],
    }


def fetch(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access = NO_ACCESS,
) -> dict[str, Any]:
    """{"data": workers GeoJSON (workers_geojson with ``access.read_tracks``, else
    workers_per_grid), "hideout", "legend", "note"}; positions from Redis (primed again first
    when it is not primed or older than PostgreSQL), or PostgreSQL when Redis is down. A Redis
    outage is logged once through the serving app's FaultLog (``queries.services.app_faults``)."""
    role = ROLE.parse(options.get("role"))
    roles = FIELD_ROLES if role == "all" else (role,)
    faults = app_faults()
    store = PositionStore.from_url(settings.redis_url, settings.database_url, faults)
    try:
        workers, hidden, source = latest_workers(conn, store, scope, now, roles, faults=faults)
    finally:
        store.client.close()
    if access.read_tracks:
        fc = workers_geojson(workers, now, hidden_old=hidden, source=source)
    else:
        anchors = grid_anchors(conn, scope, {g for w in workers for g in w.fix.grids})
        fc = workers_per_grid(workers, now, anchors, scope, hidden_old=hidden, source=source)
    return {"data": fc, **style(role), "note": note(fc["meta"])}


def delta_payload(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access,
    redis_client: redis.Redis | None,
    namespace: str,
    since: int,
    *,
    faults: FaultLog | None = None,
) -> dict[str, Any]:
    """The layer as the feed contract's columnar delta (``/feed/workers?since=``): the
    ``data`` dict {"full", "since", "seq", "origin", "q", "as_of_ms", "ids", "x", "y", "s",
    "n", "removed", "meta", "note", ...} of the points changed since cursor ``since`` (0,
    unknown or too old: everything; layers/workers_delta.py says every field). Same access
    rules as ``fetch``: precise points only with ``access.read_tracks``, else one point per
    grid with counts. ``redis_client`` (the app's, bytes replies) and ``namespace``
    (queries.cache.namespace_for(settings.database_url)) name the positions; None or failing
    Redis: a full answer from PostgreSQL with seq 0, the failure reported once per outage
    through ``faults``. ``conn``: a read connection (a replica will do); ``now``: the caller's
    clock (floored to the second)."""
    return _delta_payload(
        conn,
        scope,
        options,
        now,
        settings,
        access,
        redis_client,
        namespace,
        since,
        faults=faults,
        role_option=ROLE,
        style=style(ROLE.parse(options.get("role"))),
    )


def detail(
    conn: psycopg.Connection,
    scope: Scope,
    feature_id: Any,
    now: datetime,
    settings: Settings,
    viewer: Viewer | None,
) -> dict[str, Any] | None:
    """The clicked worker (queries.worker_layer.worker_detail, audited for ``viewer``) with
    its role's name (``role_zh``) and the name as the viewer's tier shows it; None when the
    viewer may not read tracks, or ``feature_id`` is not the staff id of a field worker in
    scope (cluster clicks, per-grid counts, stale ids, other scopes)."""
    if viewer is None or not viewer.may(Action.READ_TRACKS):
        return None
    if isinstance(feature_id, bool) or not isinstance(feature_id, int | str):
        return None
    if isinstance(feature_id, str) and not feature_id.isascii():
        return None
    try:
        staff_id = int(feature_id)
    except ValueError:
        return None
    if not 0 < staff_id < 2**63:
        return None
    got = worker_detail(conn, scope, staff_id, now, settings.tz, viewer=viewer)
    if got is None:
        return None
    return got | {
        "name": viewer.masker.field("staff.name", got["name"]),
        "role_zh": role_name(got["role"]),
    }


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
        # Click -> detail(conn, scope, clickData["properties"]["id"], now, settings, viewer)
        # on the server -> window.gridscope.workers.showDetail(mapId, detail).
        "detail": detail,
        "detail_sensitivity": "L4",
        # The action a viewer needs for the detail (checked by the map's callback and again
        # by ``detail``).
        "detail_action": Action.READ_TRACKS.value,
        "detail_js": "gridscope.workers.showDetail",
        # Map profiles that may offer the detail (never the wall by default).
        "detail_profiles": ("analyst",),
    },
)
