"""Plain Flask routes next to the Dash app: health check, the map's per-level geometry
(gzipped geobuf), the wall's feeds (dashboard/feed_routes.py), the exports and the onboarding
files' xlsx templates (administrators only)."""

from __future__ import annotations

import gzip
import logging
import re

import flask

from dashboard import export, feed_lane, feed_routes
from dashboard.analytics import exports as analytics_exports
from dashboard.analytics import report_route as analytics_report
from dashboard.explore import export as explore_export
from dashboard.health import healthz
from domain.access import Action
from domain.onboarding.columns import KINDS
from domain.onboarding.templates import template_bytes, template_filename
from layers.grid_geometry import UnknownUnit, level_geometry
from queries import services
from queries.geo import LEVELS

log = logging.getLogger(__name__)

# The URL carries the geometry signature (?v=...), so a response for the current signature can
# be cached for a long time; any other v gets no-cache so a stale link cannot pin old polygons.
GEO_MAX_AGE_S = 30 * 24 * 3600


_CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")


def unit_geometry(level: str) -> flask.Response:
    """One level's simplified polygons in the caller's scope as gzipped geobuf (properties
    code, name, parent; display datum per settings.basemap_crs). ``?v=`` pins a version:
    the current one is served immutable for GEO_MAX_AGE_S; ``?within=`` (micro level) limits
    it to one unit's micro-grids: 404 unless that unit exists in the caller's scope (checked
    before the cache, so random values add no Redis key), 400 on other levels. ``?asof=``
    (YYYY-MM-DD) draws the versions in force at the end of that local day; 400 when malformed.
    ETag/If-None-Match answer 304 without a body."""
    if level not in LEVELS:
        flask.abort(404)
    within = flask.request.args.get("within") or None
    if within is not None and not _CODE.fullmatch(within):
        flask.abort(400)
    asof = flask.request.args.get("asof") or None  # a local day: boundaries as of then
    try:
        svc = services.current()
        geo = level_geometry(svc, level, svc.clock.now(), within, asof=asof)
    except UnknownUnit as exc:
        return flask.Response(str(exc), status=404, mimetype="text/plain")
    except ValueError as exc:
        return flask.Response(str(exc), status=400, mimetype="text/plain")
    etag = f'"{geo.version}"'
    if etag in flask.request.headers.get("If-None-Match", ""):
        resp = flask.Response(status=304)
    elif "gzip" in flask.request.headers.get("Accept-Encoding", ""):
        resp = flask.Response(geo.gz, mimetype="application/x-protobuf")
        resp.headers["Content-Encoding"] = "gzip"
    else:
        resp = flask.Response(gzip.decompress(geo.gz), mimetype="application/x-protobuf")
    resp.headers["ETag"] = etag
    resp.headers["Vary"] = "Accept-Encoding"
    resp.headers["X-Features"] = str(geo.features)
    if flask.request.args.get("v") == geo.version:
        resp.headers["Cache-Control"] = f"public, max-age={GEO_MAX_AGE_S}, immutable"
    else:
        resp.headers["Cache-Control"] = "no-cache"
    return resp


def import_template(kind: str) -> flask.Response:
    """The xlsx template of an onboarding file (staff, departments, micro-grids, items) for a
    viewer who may administer (checked here, on the server): 401 without a session, 403 for
    any other role, 404 for an unknown kind. The template holds no data, only headings, an
    example and notes (domain.onboarding.templates)."""
    viewer = services.current().viewer
    if viewer is None:  # the gate refuses anonymous callers first; fail closed all the same
        return flask.Response("401 未登录：请先登录（/login）\n", status=401, mimetype="text/plain")
    if not viewer.may(Action.ADMINISTER):
        return flask.Response("403 无权下载导入模板\n", status=403, mimetype="text/plain")
    if kind not in KINDS:
        flask.abort(404)
    resp = flask.Response(
        template_bytes(kind),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="{template_filename(kind)}"'
    return resp


def register_routes(server: flask.Flask) -> None:
    """Add the routes to the Flask server of a Dash app."""
    server.add_url_rule("/healthz", "healthz", healthz)
    server.add_url_rule("/geo/units/<level>.pbf", "unit_geometry", unit_geometry)
    feed_routes.register(server)
    feed_lane.install(server)
    export.register(server)
    explore_export.register(server)
    analytics_exports.register(server)
    analytics_report.register(server)
    server.add_url_rule("/admin/templates/<kind>.xlsx", "import_template", import_template)
