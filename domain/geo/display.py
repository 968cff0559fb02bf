"""The display datum: WGS84 as stored, or GCJ-02 when the configured basemap uses it.

Chinese web basemaps from AutoNavi/Tencent are drawn in GCJ-02 (DOMAIN.md §1). Vector data is
shifted only for display and only when ``settings.basemap_crs == 'gcj02'``; stored data stays
WGS84. The transform itself lives in ``domain.geo.gcj02`` (written once).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from domain.geo.gcj02 import wgs84_to_gcj02


def needs_gcj02(basemap_crs: str) -> bool:
    """True when display coordinates must be shifted to GCJ-02."""
    return basemap_crs == "gcj02"


def geometries_to_display(geoms: NDArray, basemap_crs: str) -> NDArray:
    """Shapely geometries (WGS84) in the display datum of ``basemap_crs``."""
    if not needs_gcj02(basemap_crs):
        return geoms

    def shift(xy: NDArray) -> NDArray:
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(np.asarray(geoms, dtype=object), shift)


def lonlat_to_display(lon: float, lat: float, basemap_crs: str) -> tuple[float, float]:
    """One WGS84 point in the display datum."""
    if not needs_gcj02(basemap_crs):
        return lon, lat
    glon, glat = wgs84_to_gcj02(lon, lat)
    return float(glon), float(glat)


def geojson_to_display(obj: Any, basemap_crs: str) -> Any:
    """A GeoJSON object (FeatureCollection, Feature or geometry; EPSG:4326) in the display
    datum: a new object when shifted, ``obj`` itself otherwise."""
    if not needs_gcj02(basemap_crs) or not isinstance(obj, dict):
        return obj
    kind = obj.get("type")
    if kind == "FeatureCollection":
        return {**obj, "features": [geojson_to_display(f, basemap_crs) for f in obj["features"]]}
    if kind == "Feature":
        geom = obj.get("geometry")
        return {**obj, "geometry": geojson_to_display(geom, basemap_crs) if geom else geom}
    if kind == "GeometryCollection":
        return {
            **obj,
            "geometries": [geojson_to_display(g, basemap_crs) for g in obj["geometries"]],
        }
    if "coordinates" in obj:
        return {**obj, "coordinates": _shift_coords(obj["coordinates"])}
    return obj


def _shift_coords(coords: Any) -> Any:
    if coords and isinstance(coords[0], int | float):
        lon, lat = wgs84_to_gcj02(coords[0], coords[1])
        return [round(float(lon), 7), round(float(lat), 7), *coords[2:]]
    return [_shift_coords(c) for c in coords]
