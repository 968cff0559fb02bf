"""Overdue tickets (超期预警工单): open tickets in warning or overdue (not suspended), coloured
by the supervision ladder step at the instant (提醒 / 黄牌 / 红牌), clustered when dense.

Clustering is dash-leaflet's built-in supercluster (``cluster=True``); a cluster is drawn in
the colour of the worst step inside it (``gridscope.overdue.clusterToLayer``). The popup shows
ticket number, category, grid, stage, lead department and how long it is overdue — no
address, description or reporter (queries.overdue_layer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from domain.config import Settings
from queries.overdue_layer import STEPS, overdue_payload
from queries.scope import Scope

from .base import LayerOption, LayerSpec, Options
from .heat import MAJOR_NAMES_ZH

CATEGORY = LayerOption("category", "事项大类", (("all", "全部"), *MAJOR_NAMES_ZH), "all")
MIN_STEP = LayerOption(
    "min_step",
    "督办级别",
    (("all", "预警及超期"), ("overdue", "仅超期"), ("red", "仅红牌")),
    "all",
)

# Step colours on the dark map: reminder (in warning) blue, yellow card, red card.
STEP_COLORS = {"1": "#4cc9f0", "2": "#ffd60a", "3": "#ff3b30"}


def fetch(
    conn: psycopg.Connection, scope: Scope, options: Options, now: datetime, settings: Settings
) -> dict[str, Any]:
    """{"data": tickets in warning or overdue as GeoJSON (queries.overdue_layer), "hideout",
    "legend", "note"}."""
    fc = overdue_payload(
        conn,
        scope,
        now,
        major=CATEGORY.parse(options.get("category")),
        min_step=MIN_STEP.parse(options.get("min_step")),
    )
    m = fc["meta"]
    note = f"预警 {m['by_step']['1']} · 黄牌 {m['by_step']['2']} · 红牌 {m['by_step']['3']}"
    if m["truncated"]:
        note += f"（另有 {m['truncated']:,} 件未显示）"
    return {
        "data": fc,
        "hideout": {"colors": STEP_COLORS, "radius": 7},
        "legend": [{"label": STEPS[k][1], "color": STEP_COLORS[str(k)]} for k in (1, 2, 3)],
        "note": note,
    }


LAYER = LayerSpec(
    id="overdue",
    title_zh="超期预警工单",
    title_en="Overdue tickets",
    render="cluster",
    fetch=fetch,
    data_options=(CATEGORY, MIN_STEP),
    refresh_s=lambda s: s.refresh_alerts_s,
    legend_zh="蓝：预警（提醒）；黄：超期（黄牌）；红：超期达时限100%或返工两次（红牌）",
    sensitivity="L2",
    default_visible=True,
    extra={
        "pointToLayer": "gridscope.overdue.pointToLayer",
        "clusterToLayer": "gridscope.overdue.clusterToLayer",
        "onEachFeature": "gridscope.overdue.onEachFeature",
        "superClusterOptions": {"radius": 60, "maxZoom": 17},
        "pane_z": 450,
    },
)
