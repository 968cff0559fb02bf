"""Overdue tickets (超期预警工单): open tickets in warning or overdue (not suspended), coloured
by the supervision ladder step at the instant (domain.supervision: 预警提醒 / 黄牌督办 /
红牌督办), clustered when dense.

Clustering is dash-leaflet's built-in supercluster (``cluster=True``); a cluster is drawn in
the colour of the worst step inside it (``gridscope.overdue.clusterToLayer``). The popup shows
ticket number, category, grid, stage, lead department and how long it is overdue — no
address, description or reporter (queries.overdue_layer). Step names travel once per payload
in ``hideout.step_names``, not per feature.

Exact points are for roles with ``Action.EXACT_POINTS`` (``access.exact_points``: leader,
dispatcher, administrator). Everyone else (the wall, analysts) sees one feature per grid at
the grid's stored anchor with the grid's counts; tickets of a sensitive category (special
populations, disputes) are shown that way to everyone (DOMAIN.md §7).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from domain.config import Settings
from domain.supervision import STEP_KEYS, STEP_NAMES_ZH, Step
from queries.overdue_layer import overdue_by_grid, overdue_tickets
from queries.scope import Scope

from .base import NO_ACCESS, Access, LayerOption, LayerSpec, Options
from .labels import category_label, major_choices, stage_name

log = logging.getLogger(__name__)

CATEGORY = LayerOption("category", "事项大类", major_choices(), "all")
MIN_STEP = LayerOption(
    "min_step",
    "督办级别",
    (("all", "预警及超期"), ("overdue", "仅超期"), ("red", "仅红牌")),
    "all",
)

STEPS: tuple[Step, ...] = (Step.WARNING, Step.YELLOW, Step.RED)
# Step colours on the dark map: reminder (in warning) blue, yellow card, red card.
STEP_COLORS = {"1": "#4cc9f0", "2": "#ffd60a", "3": "#ff3b30"}


def grid_feature(g: dict[str, Any], *, sensitive: bool) -> dict[str, Any]:
    """One grid's counts (a queries.overdue_layer.overdue_by_grid row) as a Point at the
    grid's anchor. Properties: grid (name), count, step (the worst step counted, for the
    colour), by_step ({"1","2","3": n}), sensitive (only sensitive categories counted)."""
    by_step = {str(k): v for k, v in g["by_step"].items()}
    worst = max((int(k) for k, v in by_step.items() if v), default=1)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(g["lon"], 6), round(g["lat"], 6)]},
        "properties": {
            "grid": g["grid_name"],
            "count": g["count"],
            "step": worst,
            "by_step": by_step,
            "sensitive": sensitive,
        },
    }


def overdue_geojson(
    rows: list[dict[str, Any]],
    now: datetime,
    *,
    total: int | None = None,
    grids: Sequence[dict[str, Any]] = (),
    sensitive_grids: bool = False,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection (EPSG:4326) of queries.overdue_layer.overdue_tickets rows
    for the cluster layer. Properties: no (ticket number), category (major·minor name), grid
    (name), stage (Chinese stage name), lead (lead department name or ""), step (1–3),
    overdue_s (seconds past the stage due time at ``now``; negative while in warning), rework
    (count). The browser derives the step's name (``hideout.step_names``) and the duration
    text (gridscope.overdue.durationZh = domain.text.duration_zh) from step and overdue_s: a
    city has thousands of these tickets, and each derived string would be sent and serialised
    once per feature and refresh. ``grids`` (overdue_by_grid rows) add one feature per grid
    (``grid_feature``). Foreign member ``meta``: {"count" (points drawn), "total" (tickets
    matched: points before the cap + counted per grid), "truncated" (points over the cap),
    "counted" (tickets counted per grid), "grids" (grid features), "unplaced" (counted tickets
    of grids without geometry, not drawn), "by_step" (every matched ticket but the
    truncated), "as_of_ms"}."""
    features = []
    by_step = dict.fromkeys((int(s) for s in STEPS), 0)
    for r in rows:
        step = int(r["step"])
        by_step[step] += 1
        features.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(r["lon"]), 6), round(float(r["lat"]), 6)],
                },
                "properties": {
                    "no": r["ticket_no"],
                    "category": category_label(r["major"], r["minor"]),
                    "grid": r["grid_name"],
                    "stage": stage_name(r["stage"]),
                    "lead": r["lead_department"] or "",
                    "step": step,
                    "overdue_s": int((now - r["stage_due_at"]).total_seconds()),
                    "rework": int(r["rework_count"]),
                },
            }
        )
    points = len(rows) if total is None else total
    if points > len(rows):
        log.info("overdue layer: %d tickets, %d shown (cap)", points, len(rows))
    counted = unplaced = 0
    for g in grids:
        counted += g["count"]
        for step, n in g["by_step"].items():
            by_step[int(step)] += n
        if g["lon"] is None:
            unplaced += g["count"]
            continue
        features.append(grid_feature(g, sensitive=sensitive_grids))
    if unplaced:
        log.warning("overdue layer: %d tickets of grids without geometry not drawn", unplaced)
    return {
        "type": "FeatureCollection",
        "features": features,
        "meta": {
            "count": len(rows),
            "total": points + counted,
            "truncated": points - len(rows),
            "counted": counted,
            "grids": len(features) - len(rows),
            "unplaced": unplaced,
            "by_step": {str(k): v for k, v in by_step.items()},
            "as_of_ms": int(now.timestamp() * 1000),
        },
    }


def overdue_payload(
    conn: psycopg.Connection,
    scope: Scope,
    now: datetime,
    *,
    major: str = "all",
    min_step: str = "all",
    exact_points: bool = False,
) -> dict[str, Any]:
    """The layer's GeoJSON at ``now`` (see overdue_geojson): with ``exact_points`` the
    tickets as points (queries.overdue_layer.overdue_tickets) and the sensitive ones counted
    per grid; without, every ticket counted per grid (overdue_by_grid)."""
    if exact_points:
        rows, total = overdue_tickets(conn, scope, now, major=major, min_step=min_step)
    else:
        rows, total = [], 0
    grids = overdue_by_grid(
        conn, scope, now, major=major, min_step=min_step, sensitive_only=exact_points
    )
    return overdue_geojson(rows, now, total=total, grids=grids, sensitive_grids=exact_points)


def fetch(
    conn: psycopg.Connection,
    scope: Scope,
    options: Options,
    now: datetime,
    settings: Settings,
    access: Access = NO_ACCESS,
) -> dict[str, Any]:
    """{"data": tickets in warning or overdue as GeoJSON (overdue_payload: points only when
    ``access.exact_points``), "hideout" (colours, step names and keys, radius), "legend",
    "note"}."""
    fc = overdue_payload(
        conn,
        scope,
        now,
        major=CATEGORY.parse(options.get("category")),
        min_step=MIN_STEP.parse(options.get("min_step")),
        exact_points=access.exact_points,
    )
    m = fc["meta"]
    counts = " · ".join(f"{STEP_NAMES_ZH[s]} {m['by_step'][str(int(s))]}" for s in STEPS)
    note = counts + (f"（另有 {m['truncated']:,} 件未显示）" if m["truncated"] else "")
    if not access.exact_points:
        note += "（按网格汇总）"
    elif m["counted"]:
        note += f"（敏感类别 {m['counted']:,} 件按网格汇总）"
    return {
        "data": fc,
        "hideout": {
            "colors": STEP_COLORS,
            "step_names": {str(int(s)): STEP_NAMES_ZH[s] for s in STEPS},
            "step_keys": {str(int(s)): STEP_KEYS[s] for s in STEPS},
            "radius": 7,
        },
        "legend": [{"label": STEP_NAMES_ZH[s], "color": STEP_COLORS[str(int(s))]} for s in STEPS],
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
    legend_zh=(
        f"蓝：{STEP_NAMES_ZH[Step.WARNING]}（预警）；黄：{STEP_NAMES_ZH[Step.YELLOW]}（超期）；"
        f"红：{STEP_NAMES_ZH[Step.RED]}（超期达时限100%或返工两次）"
    ),
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
