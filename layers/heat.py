"""Incident heat (事件热力): tickets created in a time window as a heatmap (L1 aggregates).

The server aggregates tickets to one weighted point per cell (queries.heat); the browser draws
them with leaflet.heat (vendored in assets/vendor/leaflet-heat, BSD-2). The mount gives the
GeoJSON component ``pointToLayer = gridscope.heat.pointToLayer`` (assets/20_layers.js): each
point becomes an invisible member of one L.heatLayer per map and layer, so toggling and
refreshing the GeoJSON redraws the heat. The cell size follows the zoom: the view options
``zoom`` and ``bbox`` come from the map view and are parsed here, never trusted; the bbox is
snapped to tiles (``normalise``) before it reaches the cache key.

The same for every role: cells under ``settings.heat_min_k`` tickets are dropped (counted in
the note), no cell sits on a ticket's point, sensitive categories are left out
(queries.heat).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.config import Settings
from domain.vocabulary import URGENCY_NAMES_ZH
from queries.heat import Viewport, heat_payload
from queries.scope import Scope

from .base import NO_ACCESS, Access, LayerOption, LayerSpec, Options
from .labels import ALL_ZH, major_choices

WINDOW_NAMES_ZH = (("1h", "近1小时"), ("24h", "近24小时"), ("7d", "近7天"), ("30d", "近30天"))

WINDOW = LayerOption("window", "时间范围", WINDOW_NAMES_ZH, "24h")
# The item list's own major-category names (domain.categories), as on the overdue layer.
CATEGORY = LayerOption("category", "事项大类", major_choices(), "all")
URGENCY = LayerOption(
    "urgency",
    "紧急程度",
    (("all", ALL_ZH), *((u, URGENCY_NAMES_ZH[u]) for u in ("urgent", "normal"))),
    "all",
)
# Set by the map view (not a control): integer zoom and "west,south,east,north" in degrees.
ZOOM = LayerOption("zoom", "缩放级别", (), "11", pattern=r"[0-9]{1,2}")
BBOX = LayerOption(
    "bbox",
    "视野范围",
    (),
    "",
    pattern=r"-?[0-9]{1,3}(\.[0-9]{1,8})?(,-?[0-9]{1,3}(\.[0-9]{1,8})?){3}",
)

# leaflet.heat gradient (share of ``max`` -> colour), the screen's map ramp, cool to hot.
GRADIENT = {"0.2": "#1d5c94", "0.45": "#38c6c6", "0.7": "#f2d35b", "1": "#e8414a"}


def normalise(options: dict[str, str], _scope: Scope) -> dict[str, str]:
    """The options with zoom clamped and the bbox snapped to the enclosing tiles
    (queries.heat.Viewport.snapped): what the cache key and the fetch see."""
    vp = Viewport.parse(options.get("zoom"), options.get("bbox")).snapped()
    return {**options, "zoom": str(vp.zoom), "bbox": vp.bbox_text}


def fetch(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access = NO_ACCESS,
) -> dict[str, Any]:
    """{"data": heat FeatureCollection (queries.heat.heat_payload), "hideout": leaflet.heat
    options (max, radius, blur, maxZoom, gradient), "legend", "note"} for the options and the
    view (``zoom``, ``bbox``) in ``options``; cells of at least ``settings.heat_min_k``
    tickets, whatever ``access``."""
    window = WINDOW.parse(options.get("window"))
    fc = heat_payload(
        conn,
        scope,
        now,
        window=window,
        major=CATEGORY.parse(options.get("category")),
        urgency=URGENCY.parse(options.get("urgency")),
        viewport=Viewport.parse(options.get("zoom"), options.get("bbox")),
        min_k=settings.heat_min_k,
    )
    meta = fc["meta"]
    return {
        "data": fc,
        "hideout": {
            "heat": {
                "max": meta["max"],
                "radius": meta["radius"],
                "blur": meta["blur"],
                # leaflet.heat scales weights by 2^(zoom − maxZoom): the cells are already per
                # zoom, so draw them at face value.
                "maxZoom": meta["zoom"],
                "gradient": GRADIENT,
            },
            "total": meta["total"],
        },
        "legend": [
            {"label": "少", "color": GRADIENT["0.2"]},
            {"label": "", "color": GRADIENT["0.45"]},
            {"label": "", "color": GRADIENT["0.7"]},
            {"label": f"多（≥{meta['max']:g}件/格）", "color": GRADIENT["1"]},
        ],
        "note": f"{WINDOW.label_of(window)}上报 {meta['total']:,} 件"
        + ("（已合并显示）" if meta["coarsened"] else "")
        + (
            f"；{meta['suppressed']:,} 件所在区域不足 {meta['min_k']} 件，未显示"
            if meta["suppressed"]
            else ""
        ),
    }


LAYER = LayerSpec(
    id="heat",
    title_zh="事件热力",
    title_en="Incident heat",
    render="heat",
    fetch=fetch,
    data_options=(WINDOW, CATEGORY, URGENCY),
    view_options=(ZOOM, BBOX),
    normalise=normalise,
    refresh_s=lambda s: s.refresh_counters_s,
    legend_zh=(
        "时间范围内上报事件的密度（按缩放级别聚合，仅汇总数；件数过少的区域与敏感类别不显示）"
    ),
    sensitivity="L1",
    default_visible=True,
    extra={
        "pointToLayer": "gridscope.heat.pointToLayer",
        "pane_z": 420,
        # The view options the mount fills from the map, re-fetching on moveend.
        "view_from_map": {"zoom": "zoom", "bbox": "bounds"},
    },
)
