"""The centre map: grid polygons loaded once from /geo/grids.json, recoloured via ``hideout``.

The polygons never travel again after the first load: every refresh sends only
{grid code: count} plus the class breaks and colours, and the style function in
assets/10_gridscope.js (``gridscope.gridStyle``) reads them from ``hideout``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_leaflet as dl
from dash import html

from . import theme

GEO_URL = "/geo/grids.json"
# Lon/lat of the first view before the polygons arrive (they then fit the map to themselves).
DEFAULT_CENTER = (30.75, 120.75)


def _nice(n: int) -> int:
    """Round down to one significant digit above 10 (37 -> 30, 1480 -> 1000)."""
    if n < 10:
        return n
    mag = 10 ** (len(str(n)) - 1)
    return (n // mag) * mag


def class_breaks(values: Sequence[int], classes: int = 5) -> list[int]:
    """Ascending lower bounds of at most ``classes`` classes of positive counts ("nice" integers
    at quantiles, the first always 1); 0 is a class of its own, drawn nearly unfilled."""
    positive = sorted(v for v in values if v > 0)
    breaks = [1]
    if not positive:
        return breaks
    for i in range(1, classes):
        q = _nice(positive[min(len(positive) - 1, (i * len(positive)) // classes)])
        if q > breaks[-1]:
            breaks.append(q)
    return breaks


def class_colors(n: int) -> list[str]:
    """``n`` colours spread over theme.MAP_RAMP, cool to hot."""
    ramp = theme.MAP_RAMP
    if n <= 1:
        return [ramp[0]][:n]
    return [ramp[round(i * (len(ramp) - 1) / (n - 1))] for i in range(n)]


def hideout(counts: Mapping[str, int], scale: float = 1.0) -> dict[str, Any]:
    """The GeoJSON ``hideout``: {"values": {code: n}, "breaks", "colors", "zero", "line",
    "weight"} — all the style function needs; polygons are not resent."""
    breaks = class_breaks(list(counts.values()))
    return {
        "values": dict(counts),
        "breaks": breaks,
        "colors": class_colors(len(breaks)),
        "zero": theme.MAP_ZERO,
        "line": theme.MAP_LINE,
        "weight": round(max(0.5, float(scale or 1.0)), 2),
    }


def legend_labels(breaks: Sequence[int]) -> list[str]:
    """Class labels: [1, 3, 10] -> ['1–2', '3–9', '≥10']."""
    out = []
    for i, b in enumerate(breaks):
        if i + 1 < len(breaks):
            hi = breaks[i + 1] - 1
            out.append(str(b) if hi == b else f"{b}–{hi}")
        else:
            out.append(f"≥{b}")
    return out


def render_legend(h: Mapping[str, Any]) -> list:
    """The legend of a hideout: a '0' swatch then one per class."""
    items = [("0", h.get("zero", theme.MAP_ZERO))]
    items += list(zip(legend_labels(h.get("breaks", [])), h.get("colors", []), strict=False))
    return [
        html.Div("今日上报（件/网格）", className="gs-legend-title"),
        *[
            html.Div(
                [html.Span(className="gs-swatch", style={"background": c}), html.Span(label)],
                className="gs-legend-item",
            )
            for label, c in items
        ],
    ]


def map_view(basemap_url: str = "", attribution: str = "") -> html.Div:
    """The map panel: no basemap unless one is configured (no request leaves the machine)."""
    layers: list = []
    if basemap_url:
        layers.append(dl.TileLayer(url=basemap_url, attribution=attribution or None))
    layers.append(
        dl.GeoJSON(
            id="gs-grids",
            url=None,
            zoomToBounds=True,
            style={"variable": "gridscope.gridStyle"},
            hoverStyle={"variable": "gridscope.gridHover"},
            onEachFeature={"variable": "gridscope.gridTooltip"},
            hideout=hideout({}),
        )
    )
    return html.Div(
        [
            dl.Map(
                layers,
                id="gs-map",
                center=DEFAULT_CENTER,
                zoom=11,
                zoomSnap=0.1,
                zoomControl=False,
                attributionControl=bool(basemap_url),
                preferCanvas=True,
                style={"width": "100%", "height": "100%"},
                className="gs-leaflet",
            ),
            html.Div(render_legend(hideout({})), id="gs-legend", className="gs-legend"),
        ],
        className="gs-map-wrap",
    )
