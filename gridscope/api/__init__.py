"""The HTTP ingest API under /api/v1: a Flask blueprint served next to the Dash app.

    register(server)   # in app.create_app, after the Services are attached

Modules: ``endpoints`` (the one endpoint registry), the views by concern (``tickets``: create,
list, detail; ``transitions``; ``positions``; ``reference``: services, documents, index;
``items``: the item list, its history and its decisions, their models in ``item_models``),
``context`` (the app's clock, the caller, instants checked against "now"), ``idempotency``
(Idempotency-Key replay), ``models`` (pydantic request and response models), ``parsing`` (body
and query validation), ``tokens`` (API tokens), ``errors`` (the JSON error shape), ``openapi``
and ``docs`` (generated from the registry), ``state`` (per-app state in ``app.extensions``).
Pool, settings and clock come from ``queries.services``. SQL lives in ``queries/api.py``. See
docs/api.md.
"""

from __future__ import annotations

import json

import flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule

from queries.positions import PositionStore
from queries.services import EXTENSION_KEY as SERVICES_KEY
from queries.services import app_services

from .docs import render_docs
from .endpoints import ENDPOINTS, PREFIX
from .errors import register_handlers
from .openapi import build_openapi
from .reference import get_index
from .state import EXTENSION_KEY, ApiState

_ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _not_routed(rest: str = "") -> flask.Response:
    """Any other path under /api/v1: a JSON 404, or 405 (with Allow) for a known path."""
    adapter = flask.current_app.extensions[EXTENSION_KEY].routes.bind("localhost")
    adapter.match(flask.request.path, method=flask.request.method)  # raises 404 or 405
    raise NotFound()


def _limit_body() -> None:
    # Per-request limit (Flask 3.1), one byte over the setting: werkzeug then refuses a larger
    # Content-Length at once, and lets parsing.read_body see, and refuse, one byte too many of a
    # chunked body instead of silently stopping at the limit (which would read as bad JSON).
    flask.request.max_content_length = app_services().settings.max_body_bytes + 1


def blueprint(max_body: int) -> flask.Blueprint:
    """A new blueprint with every endpoint of ``ENDPOINTS`` and JSON errors (a JSON 413 names
    ``max_body``, the setting ``max_body_bytes``)."""
    bp = flask.Blueprint("gridscope_api", __name__, url_prefix=PREFIX)
    for ep in ENDPOINTS:
        bp.add_url_rule(ep.rule, ep.name, ep.view, methods=[ep.method])
    bp.add_url_rule("/", "index", get_index, methods=["GET"])
    bp.add_url_rule("", "index_bare", get_index, methods=["GET"])
    bp.add_url_rule("/<path:rest>", "not_routed", _not_routed, methods=_ANY_METHOD)
    bp.before_request(_limit_body)
    register_handlers(bp, max_body, PREFIX)
    return bp


def register(server: flask.Flask) -> None:
    """Attach the API to ``server`` (the Flask app under Dash) with its per-app state."""
    settings = server.extensions[SERVICES_KEY].settings
    max_body = settings.max_body_bytes
    spec = build_openapi(max_body)
    routes = Map(
        [Rule(PREFIX + ep.rule, endpoint=ep.name, methods=[ep.method]) for ep in ENDPOINTS]
        + [Rule(PREFIX + "/", endpoint="index", methods=["GET"])]
    )
    server.extensions[EXTENSION_KEY] = ApiState(
        routes=routes,
        positions=PositionStore.from_url(settings.redis_url, settings.database_url),
        openapi=spec,
        openapi_json=json.dumps(spec, ensure_ascii=False, indent=1).encode("utf-8"),
        docs_html=render_docs(spec),
        max_body=max_body,
    )
    server.register_blueprint(blueprint(max_body))
