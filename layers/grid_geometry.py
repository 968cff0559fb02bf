"""The grid layer's geometry: one level's simplified coverage as gzipped geobuf, cached.

Sent once per level: the URL carries the level's geometry signature (``v``), never the data
version, so ticket writes do not invalidate it and browsers keep it (immutable, ETag). The bytes
are cached in Redis by ``queries.cache.cached_payload`` under ("geo-units", GEOMETRY_FORMAT,
{level, within, v}, scope).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import psycopg
import shapely

from domain.geo.coverage import TOLERANCE_DEG, simplify_coverage
from domain.geo.display import geometries_to_display
from domain.geo.encode import feature_collection, gzip_bytes, to_geobuf
from queries.cache import cached_payload
from queries.geo import (
    LEVELS,
    MICRO_ALL_MAX,
    level_counts,
    level_signature,
    level_units,
    unit_of,
)
from queries.services import Services

# Bump when the encoding, tolerances or properties change: old cache entries become unreachable
# and the URL's v changes, so browsers fetch the new form.
GEOMETRY_FORMAT = 2
# Decimal digits kept per level (5 ≈ 1.1 m): about a tenth of the simplification tolerance.
PRECISION: dict[str, int] = {"county": 4, "town": 5, "community": 5, "grid": 5, "micro": 6}
GEOMETRY_TTL_S = 7 * 24 * 3600
URL_TEMPLATE = "/geo/units/{level}.pbf"


class UnknownUnit(ValueError):
    """``within`` names no current region or grid in the caller's scope (unknown and outside
    look alike, so a caller cannot probe codes of other jurisdictions)."""


@dataclass(frozen=True)
class LevelGeometry:
    """Gzipped geobuf bytes of a level, their version token (the URL's v) and feature count."""

    gz: bytes
    version: str
    features: int


def geometry_version(signature: str, level: str, within: str | None, basemap_crs: str) -> str:
    """The URL's ``v``: geometry signature + level + drill-down unit + display datum + format."""
    text = f"{GEOMETRY_FORMAT}|{signature}|{level}|{within or ''}|{basemap_crs}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def geometry_url(level: str, version: str, within: str | None = None) -> str:
    """The URL of a level's geometry (what the GeoJSON component fetches)."""
    url = URL_TEMPLATE.format(level=level) + f"?v={version}"
    return url + (f"&within={within}" if within else "")


def build_level(units: list, level: str, basemap_crs: str) -> tuple[bytes, int]:
    """(gzipped geobuf, feature count) of ``units`` (queries.geo.Unit) simplified as one
    coverage with the level's tolerance and shifted to the display datum."""
    geoms = shapely.from_wkb(np.array([u.wkb for u in units], dtype=object))
    simple = simplify_coverage(geoms, TOLERANCE_DEG[level])
    simple = geometries_to_display(simple, basemap_crs)
    fc = feature_collection(
        [u.code for u in units],
        [u.name for u in units],
        [u.parent for u in units],
        simple,
        level,
    )
    return gzip_bytes(to_geobuf(fc, PRECISION[level])), len(fc["features"])


def version_for(services: Services, level: str, within: str | None = None) -> str:
    """The current version token of ``level`` (one small query)."""
    with services.read_pool.connection() as conn:
        sig = level_signature(conn, services.scope, level)
    return geometry_version(sig, level, within, services.settings.basemap_crs)


def level_geometry(
    services: Services, level: str, now: datetime, within: str | None = None
) -> LevelGeometry:
    """The level's geometry in the caller's scope at ``now``, from Redis when cached.

    ``within`` (micro level only) must be a current region or grid in scope, checked before the
    cache is touched: the cache key is built from validated values only, so random ``within``
    values cannot add Redis keys. ValueError for a bad level or ``within`` on another level;
    UnknownUnit (a ValueError) for a ``within`` that names nothing in scope."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if within is not None and level != "micro":
        raise ValueError("within applies to the micro level only")
    scope = services.scope
    if within is not None and not scope.contains(within):
        raise UnknownUnit(f"{within!r} is not a unit in the jurisdiction")
    crs = services.settings.basemap_crs
    with services.read_pool.connection() as conn:
        if within is not None:
            unit = unit_of(conn, scope, within)
            if unit is None or unit["kind"] == "micro":
                raise UnknownUnit(f"{within!r} is not a unit in the jurisdiction")
        if level == "micro" and within is None:
            n = level_counts(conn, scope, now)["micro"]
            if n > MICRO_ALL_MAX:
                raise ValueError(f"{n} micro-grids in scope: name a unit with ?within=")
        sig = level_signature(conn, scope, level)
    version = geometry_version(sig, level, within, crs)

    def compute(conn: psycopg.Connection, _format: int) -> bytes:
        gz, n = build_level(level_units(conn, scope, level, now, within), level, crs)
        return n.to_bytes(4, "big") + gz  # the feature count rides in front of the bytes

    blob = cached_payload(
        services,
        "geo-units",
        {"level": level, "within": within, "v": version},
        compute,
        version=GEOMETRY_FORMAT,
        ttl_s=GEOMETRY_TTL_S,
    )
    return LevelGeometry(blob[4:], version, int.from_bytes(blob[:4], "big"))
