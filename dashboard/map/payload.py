"""A layer's payload for the browser: options parsed and normalised on the server, the layer's
fetch run in the caller's scope with the caller's access (layers.base.Access), the result
normalised, shifted to the display datum and cached.

The cache key holds everything the payload depends on: the scope (queries.cache), the
canonical options, the time bucket and the access flags, so no payload cached for one role or
jurisdiction is ever served to another. Entries live two refresh intervals: the bucket moves
on after one, so a longer life only let random requests fill Redis (issue #9)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import psycopg

from domain.config import Settings
from domain.geo.display import geojson_to_display
from layers.base import Access, LayerSpec
from layers.grid_geometry import as_of_url
from queries.cache import cached_payload
from queries.geo import unit_of
from queries.scope import Scope
from queries.services import Services
from queries.window import floor_time

# 2: access flags in the key; heat cells at their centres with k-anonymity; per-grid counts.
PAYLOAD_FORMAT = 2
# The shortest life of a cached payload (a layer refreshed every 5 s still reuses its entry).
MIN_TTL_S = 60


def normalise(result: Any) -> dict[str, Any]:
    """A fetch result as {"data", "url", "format", "hideout", "legend", "legend_title", "note"}
    (see layers/base.py for what a fetch may return)."""
    if isinstance(result, bytes | bytearray):
        result = json.loads(result)
    if not isinstance(result, dict):
        raise TypeError(f"a layer fetch returned {type(result).__name__}, not a dict")
    if result.get("type") == "FeatureCollection":
        result = {"data": result}
    return {
        "data": result.get("data"),
        "url": result.get("url"),
        "format": result.get("format") or "geojson",
        "hideout": dict(result.get("hideout") or {}),
        "legend": list(result.get("legend") or []),
        "legend_title": result.get("legend_title") or "",
        "note": result.get("note") or "",
    }


def layer_body(
    conn: psycopg.Connection,
    spec: LayerSpec,
    scope: Scope,
    options: dict[str, str],
    now: datetime,
    settings: Settings,
    access: Access,
) -> dict[str, Any]:
    """The layer's payload as the browser's layer functions read it (``normalise``d, data in
    the display datum, "as_of_ms" and the canonical "options" added), fetched at ``now`` in
    ``scope`` with ``access``. Shared by the map's callback and the wall's feed."""
    out = normalise(spec.fetch(conn, scope, options, now, settings, access))
    out["data"] = geojson_to_display(out["data"], settings.basemap_crs)
    out["as_of_ms"] = int(now.timestamp() * 1000)
    out["options"] = options
    return out


def payload_params(options: dict[str, str], settings: Settings, access: Access) -> dict[str, Any]:
    """What a layer payload depends on besides its scope and time: the cache-key part."""
    return {
        "options": options,
        "crs": settings.basemap_crs,
        "format": PAYLOAD_FORMAT,
        "access": access.key(),
    }


def layer_payload(
    services: Services,
    spec: LayerSpec,
    raw_options: Mapping[str, Any],
    view: Mapping[str, Any] | None,
    now: datetime,
    asof: date | None = None,
) -> bytes:
    """The layer's payload as UTF-8 JSON at ``now`` floored to the layer's refresh interval,
    for the caller of ``services`` (its scope and ``Access.of(services.viewer)``), cached
    (queries.cache.cached_payload) under ("layer-<id>", data version, {options, bucket, crs,
    format, access}, scope). Browser values (``raw_options``, ``view``) go through the
    layer's allowlists and ``normalise`` first; anything else in them is ignored. orjson
    encodes it: the layers' payloads run to megabytes (thousands of features), where the
    standard library's encoder took 30 ms of a 140 ms overdue layer.

    ``asof`` (a checked local day; None: now) redraws the payload's geometry URL as of that day
    (layers.grid_geometry.as_of_url: the boundaries in force then) and says so in
    "boundary_asof"; the day is part of the cache key. The values are the layer's own."""
    settings = services.settings
    options = spec.canonical_options(raw_options, view, services.scope)
    if options.get("focus"):
        # A drill-down code must name a unit in scope before it reaches the cache key, or
        # random codes would each make an entry.
        with services.read_pool.connection() as conn:
            if unit_of(conn, services.scope, options["focus"]) is None:
                options = {**options, "focus": ""}
    refresh_s = spec.refresh_s(settings)
    bucket = floor_time(now, refresh_s)
    access = Access.of(getattr(services, "viewer", None))
    params = {**payload_params(options, settings, access), "bucket": bucket.isoformat()}
    if asof is not None:  # the current map's key stays as it was
        params["asof"] = asof.isoformat()

    def compute(conn: psycopg.Connection, _version: int) -> dict[str, Any]:
        body = layer_body(conn, spec, services.scope, options, bucket, settings, access)
        if asof is not None:
            body["url"] = as_of_url(conn, services.scope, body["url"], asof, settings.basemap_crs)
            body["boundary_asof"] = asof.isoformat()
        return body

    return cached_payload(
        services,
        f"layer-{spec.id}",
        params,
        compute,
        ttl_s=min(settings.cache_ttl_s, max(MIN_TTL_S, 2 * refresh_s)),
    )
