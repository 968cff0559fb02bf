"""The workbench map's level follows the zoom: zoomed in far enough, it draws the grids in view
(coloured by the view's per-grid counts) over the units under the area; zoomed back out, only
the units again. A thin callback over queries.explore.mapdata."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, State, callback, no_update

from domain.explore.filters import parse
from queries.explore import mapdata

from . import ids, render
from .callbacks import viewer_services
from .data import build_view, summarize

# Zoomed in far enough, the map shows the grids in view instead of the units under the area
# (the level that fits the zoom); zoomed back out, the units again.
GRID_ZOOM = 14


def _box(bounds: Any) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) from dash-leaflet's [[south, west], [north, east]]."""
    try:
        (s, w), (n, e) = bounds
        box = (float(w), float(s), float(e), float(n))
    except (TypeError, ValueError):
        return None
    ok = -180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90
    return box if ok else None


@callback(
    Output(ids.GRIDS, "data"),
    Output(ids.GRIDS, "hideout"),
    Output(ids.LEGEND, "children", allow_duplicate=True),
    Input(ids.MAP, "zoom"),
    State(ids.MAP, "bounds"),
    State(ids.URL, "search"),
    State(ids.UNITS, "hideout"),
    prevent_initial_call=True,
)
def zoom_cb(zoom, bounds, search, units_hideout):
    svc = viewer_services()
    box = _box(bounds)
    if svc is None or not isinstance(zoom, int | float) or box is None:
        return no_update, no_update, no_update
    units = units_hideout if isinstance(units_hideout, dict) else {}
    if zoom < GRID_ZOOM:  # the units under the area, as the page drew them
        return None, {"counts": {}, "max": 0}, render.legend(units, units.get("level", ""))
    f, problems = parse(search if isinstance(search, str) else "")
    with svc.read_pool.connection() as conn:
        view = build_view(svc, conn, f, problems)
        shapes = mapdata.grids_in(conn, view.scope, box)
    if shapes is None:  # too many grids in view: stay on the units
        return None, {"counts": {}, "max": 0}, no_update
    grids = summarize(svc, view).grids  # cached with the page's own summary of this view
    counts = {feat["id"]: grids.get(feat["id"], 0) for feat in shapes["features"]}
    for feat in shapes["features"]:
        feat["properties"]["n"] = counts[feat["id"]]
    out = {"counts": counts, "max": max(counts.values(), default=0)}
    return shapes, out, render.legend(out, "网格 · ")
