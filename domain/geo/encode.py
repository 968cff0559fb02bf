"""Compact encoding of a level's polygons for the browser: geobuf (protobuf GeoJSON), gzipped.

dash-leaflet's GeoJSON decodes geobuf itself (``format="geobuf"``). Coordinates are quantised to
``precision`` decimals of a degree (5 ≈ 1.1 m at 30°N) and delta-encoded by geobuf, so a level of
10,000 simplified grids is a few hundred kilobytes before gzip.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence

import geobuf
import shapely
from numpy.typing import NDArray


def feature_collection(
    codes: Sequence[str],
    names: Sequence[str],
    parents: Sequence[str],
    geoms: NDArray,
    level: str,
) -> dict:
    """A GeoJSON FeatureCollection with properties code, name, parent (the parent unit's code)
    and level per feature; empty geometries are dropped."""
    features = []
    for code, name, parent, geom in zip(codes, names, parents, geoms, strict=True):
        if geom is None or shapely.is_empty(geom):
            continue
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "name": name, "parent": parent, "level": level},
                "geometry": json.loads(shapely.to_geojson(geom)),
            }
        )
    return {"type": "FeatureCollection", "features": features}


def to_geobuf(collection: dict, precision: int) -> bytes:
    """The collection as geobuf bytes with ``precision`` decimal digits."""
    return geobuf.encode(collection, precision, 2)


def gzip_bytes(data: bytes) -> bytes:
    """gzip at level 9 with a fixed mtime (identical input gives identical bytes and ETag)."""
    return gzip.compress(data, compresslevel=9, mtime=0)
