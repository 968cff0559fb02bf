"""The display datum: GCJ-02 only when the basemap needs it, with the known offset near Jiaxing
(about 413 m east and 254 m south of WGS84)."""

from __future__ import annotations

import math

import shapely

from domain.geo.display import (
    geojson_to_display,
    geometries_to_display,
    lonlat_to_display,
    needs_gcj02,
)

JIAXING = (120.755, 30.746)


def offset_m(lon0: float, lat0: float, lon1: float, lat1: float) -> tuple[float, float]:
    east = (lon1 - lon0) * 111_320 * math.cos(math.radians(lat0))
    north = (lat1 - lat0) * 110_574
    return east, north


def test_gcj02_offset_near_jiaxing():
    lon, lat = lonlat_to_display(*JIAXING, "gcj02")
    east, north = offset_m(*JIAXING, lon, lat)
    assert abs(east - 413) < 5, east
    assert abs(north - (-254)) < 5, north


def test_wgs84_basemap_leaves_coordinates_alone():
    assert not needs_gcj02("wgs84")
    assert lonlat_to_display(*JIAXING, "wgs84") == JIAXING
    fc = {"type": "FeatureCollection", "features": []}
    assert geojson_to_display(fc, "wgs84") is fc


def test_geojson_and_geometries_are_shifted_alike():
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"n": 1},
                "geometry": {"type": "Point", "coordinates": list(JIAXING)},
            },
            {"type": "Feature", "properties": {}, "geometry": None},
        ],
    }
    out = geojson_to_display(fc, "gcj02")
    assert fc["features"][0]["geometry"]["coordinates"] == list(JIAXING)  # input untouched
    lon, lat = out["features"][0]["geometry"]["coordinates"]
    assert (round(lon, 6), round(lat, 6)) == tuple(
        round(v, 6) for v in lonlat_to_display(*JIAXING, "gcj02")
    )
    assert out["features"][0]["properties"] == {"n": 1}
    [poly] = geometries_to_display([shapely.box(120.7, 30.7, 120.8, 30.8)], "gcj02")
    assert poly.bounds[0] > 120.7 and poly.bounds[1] < 30.7
