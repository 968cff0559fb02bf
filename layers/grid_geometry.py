"""The grid layer's geometry: one level's simplified coverage as gzipped geobuf, cached.

Sent once per level: the URL carries the level's geometry signature (``v``), never the data
version, so ticket writes do not invalidate it and browsers keep it (immutable, ETag). The bytes
are cached in Redis by ``queries.cache.cached_payload`` under ("geo-units", GEOMETRY_FORMAT,
{level, within, v}, scope).

The map as of a date (``asof``, a local day): the boundaries are the versions in force at the
end of that day (``as_of_instant``: valid_from <= t < valid_to, history kept by the imports), so
an adjustment effective on a day shows from that day on. The URL then carries ``asof=`` and the
version token and cache key include it; without ``asof`` (the default: now) nothing changes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

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
from queries.scope import Scope
from queries.services import Services

# Bump when the encoding, tolerances or properties change: old cache entries become unreachable
# and the URL's v changes, so browsers fetch the new form.
GEOMETRY_FORMAT = 2
# Decimal digits kept per level (5 ≈ 1.1 m): about a tenth of the simplification tolerance.
PRECISION: dict[str, int] = {"county": 4, "town": 5, "community": 5, "grid": 5, "micro": 6}
GEOMETRY_TTL_S = 7 * 24 * 3600
URL_TEMPLATE = "/geo/units/{level}.pbf"
_URL = re.compile(r"/geo/units/([a-z]+)\.pbf")
# The days the map may be drawn as of (a day after 9999-12-31 does not exist).
FIRST_ASOF, LAST_ASOF = date(1990, 1, 1), date(2099, 12, 31)
_ASOF = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UnknownUnit(ValueError):
    """``within`` names no current region or grid in the caller's scope (unknown and outside
    look alike, so a caller cannot probe codes of other jurisdictions)."""


@dataclass(frozen=True)
class LevelGeometry:
    """Gzipped geobuf bytes of a level, their version token (the URL's v) and feature count."""

    gz: bytes
    version: str
    features: int


def parse_asof(value: object) -> date | None:
    """The local day of an ``asof`` value ("YYYY-MM-DD" or a date); None for None or "".
    ValueError naming the problem for anything else or a day outside FIRST_ASOF..LAST_ASOF."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        raise ValueError("asof is a day (YYYY-MM-DD), not an instant")
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _ASOF.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"asof {value} is not a date") from None
    else:
        raise ValueError("asof must be a date YYYY-MM-DD")
    if not FIRST_ASOF <= day <= LAST_ASOF:
        raise ValueError(f"asof {day} is outside {FIRST_ASOF.year}–{LAST_ASOF.year}")
    return day


def as_of_instant(day: date, tz: ZoneInfo) -> datetime:
    """The instant the map of local ``day`` shows: the last microsecond of that day in ``tz``,
    so every version in force at some point of the day's end counts (one effective the next
    day does not)."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return midnight - timedelta(microseconds=1)


def geometry_version(
    signature: str, level: str, within: str | None, basemap_crs: str, asof: date | None = None
) -> str:
    """The URL's ``v``: geometry signature + level + drill-down unit + display datum + format
    (+ the as-of day, when the map is drawn as of one)."""
    text = f"{GEOMETRY_FORMAT}|{signature}|{level}|{within or ''}|{basemap_crs}"
    if asof is not None:
        text += f"|asof={asof.isoformat()}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def geometry_url(
    level: str, version: str, within: str | None = None, asof: date | None = None
) -> str:
    """The URL of a level's geometry (what the GeoJSON component fetches)."""
    url = URL_TEMPLATE.format(level=level) + f"?v={version}"
    url += f"&within={within}" if within else ""
    return url + (f"&asof={asof.isoformat()}" if asof is not None else "")


def as_of_url(
    conn: psycopg.Connection, scope: Scope, url: str | None, asof: date | None, basemap_crs: str
) -> str | None:
    """A geometry URL made by ``geometry_url`` (level and ``within`` kept) redrawn as of the
    local day ``asof``: its ``v`` and ``asof`` for that day. Other URLs, None and
    ``asof`` None come back unchanged."""
    if url is None or asof is None:
        return url
    parts = urlsplit(url)
    match = _URL.fullmatch(parts.path)
    if match is None or match.group(1) not in LEVELS:
        return url
    level = match.group(1)
    values = parse_qs(parts.query).get("within")
    within = values[0] if values else None
    sig = level_signature(conn, scope, level)
    version = geometry_version(sig, level, within, basemap_crs, asof)
    return geometry_url(level, version, within, asof)


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
    services: Services,
    level: str,
    now: datetime,
    within: str | None = None,
    asof: str | date | None = None,
) -> LevelGeometry:
    """The level's geometry in the caller's scope at ``now``, from Redis when cached.

    ``within`` (micro level only) must be a current region or grid in scope, checked before the
    cache is touched: the cache key is built from validated values only, so random ``within``
    values cannot add Redis keys. ``asof`` (a local day, "YYYY-MM-DD") draws the versions in
    force at the end of that day instead of now (``as_of_instant``); the day is part of the
    version token and the cache key. ValueError for a bad level, ``within`` on another level or
    a bad ``asof``; UnknownUnit (a ValueError) for a ``within`` that names nothing in scope."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if within is not None and level != "micro":
        raise ValueError("within applies to the micro level only")
    day = parse_asof(asof)
    scope = services.scope
    if within is not None and not scope.contains(within):
        raise UnknownUnit(f"{within!r} is not a unit in the jurisdiction")
    crs = services.settings.basemap_crs
    at = now if day is None else as_of_instant(day, services.settings.tz)
    with services.read_pool.connection() as conn:
        if within is not None:
            unit = unit_of(conn, scope, within)
            if unit is None or unit["kind"] == "micro":
                raise UnknownUnit(f"{within!r} is not a unit in the jurisdiction")
        if level == "micro" and within is None:
            n = level_counts(conn, scope, at)["micro"]
            if n > MICRO_ALL_MAX:
                raise ValueError(f"{n} micro-grids in scope: name a unit with ?within=")
        sig = level_signature(conn, scope, level)
    version = geometry_version(sig, level, within, crs, day)

    def compute(conn: psycopg.Connection, _format: int) -> bytes:
        units = level_units(conn, scope, level, at, within, historical=day is not None)
        gz, n = build_level(units, level, crs)
        return n.to_bytes(4, "big") + gz  # the feature count rides in front of the bytes

    params: dict[str, str | None] = {"level": level, "within": within, "v": version}
    if day is not None:  # today's key stays as it was; a past day's has its own
        params["asof"] = day.isoformat()
    blob = cached_payload(
        services,
        "geo-units",
        params,
        compute,
        version=GEOMETRY_FORMAT,
        ttl_s=GEOMETRY_TTL_S,
    )
    return LevelGeometry(blob[4:], version, int.from_bytes(blob[:4], "big"))
