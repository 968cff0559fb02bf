"""Plain Flask routes next to the Dash app: health check and the grid GeoJSON."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import flask

from dashboard import services
from queries.cache import data_version
from queries.screen import geojson_payload

log = logging.getLogger(__name__)

# The URL carries the geometry signature (?v=...), so a response for the current signature can
# be cached for a long time; any other v gets no-cache so a stale link cannot pin old polygons.
GEO_MAX_AGE_S = 30 * 24 * 3600


def healthz() -> flask.Response:
    """200 {"status": "ok", ...} when PostgreSQL answers; 503 otherwise. Redis is optional."""
    svc = services.current()
    body: dict = {"status": "ok", "redis": svc.cache.available}
    try:
        with svc.pool.connection(timeout=2) as conn:
            body["data_version"] = data_version(conn)
    except Exception as exc:  # report, do not raise: this is what monitors poll
        log.warning("healthz: database unavailable: %s", exc)
        return flask.jsonify(status="error", database=False, redis=svc.cache.available), 503
    body["database"] = True
    return flask.jsonify(body)


def grids_geojson() -> flask.Response:
    """GeoJSON of the jurisdiction's current grids (properties code and name, EPSG:4326)."""
    body, sig = geojson_payload(services.current(), datetime.now(UTC))
    resp = flask.Response(body, mimetype="application/geo+json")
    if flask.request.args.get("v") == sig:
        resp.headers["Cache-Control"] = f"public, max-age={GEO_MAX_AGE_S}, immutable"
    else:
        resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Geo-Version"] = sig
    return resp


def register_routes(server: flask.Flask) -> None:
    """Add the routes to the Flask server of a Dash app."""
    server.add_url_rule("/healthz", "healthz", healthz)
    server.add_url_rule("/geo/grids.json", "grids_geojson", grids_geojson)
