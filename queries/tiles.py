"""Web Mercator tiles (z/x/y, the slippy-map scheme): snapping a lon/lat bbox outwards to the
tiles enclosing it, so that cache keys are built from a small set of tile edges instead of the
browser's floats. Degrees WGS84 (EPSG:4326) in and out; latitudes beyond Web Mercator's
±85.0511° are cut."""

from __future__ import annotations

import math

MERCATOR_LAT = 85.0511287798
# Tiles coarser than this zoom at most ...
MAX_TILE_ZOOM = 15
# ... and at most this many per axis: a wider bbox is snapped at a coarser zoom.
MAX_SPAN = 4
# Edges within this many degrees inside a tile boundary stay on it (snap is idempotent after
# rounding to 7 decimals).
_EPS = 1e-6

BBox = tuple[float, float, float, float]


def tile_x(lon: float, z: int) -> int:
    return min(2**z - 1, max(0, math.floor((lon + 180.0) / 360.0 * 2**z)))


def tile_y(lat: float, z: int) -> int:
    rad = math.radians(max(-MERCATOR_LAT, min(MERCATOR_LAT, lat)))
    y = (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * 2**z
    return min(2**z - 1, max(0, math.floor(y)))


def tile_lon(x: int, z: int) -> float:
    """The west edge of tile column ``x`` at zoom ``z``."""
    return x / 2**z * 360.0 - 180.0


def tile_lat(y: int, z: int) -> float:
    """The north edge of tile row ``y`` at zoom ``z``."""
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * y / 2**z))))


def snap(bbox: BBox, zoom: int) -> BBox | None:
    """(west, south, east, north) grown to the tiles enclosing ``bbox`` at ``zoom`` (clamped
    to 0..MAX_TILE_ZOOM), at a coarser zoom while it spans more than MAX_SPAN tiles per axis;
    edges rounded to 7 decimals. None when nothing of the bbox lies within Mercator's
    latitudes."""
    w, s, e, n = bbox
    s, n = max(s, -MERCATOR_LAT), min(n, MERCATOR_LAT)
    if s >= n or w >= e:
        return None
    z = max(0, min(MAX_TILE_ZOOM, zoom))
    while True:
        x0, x1 = tile_x(w + _EPS, z), tile_x(e - _EPS, z)
        y0, y1 = tile_y(n - _EPS, z), tile_y(s + _EPS, z)
        if z == 0 or max(x1 - x0, y1 - y0) < MAX_SPAN:
            break
        z -= 1
    west, south = tile_lon(x0, z), tile_lat(y1 + 1, z)
    east, north = tile_lon(x1 + 1, z), tile_lat(y0, z)
    return (round(west, 7), round(south, 7), round(east, 7), round(north, 7))
