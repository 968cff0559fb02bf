"""Reference data and documents: the categories as Open311 services, the OpenAPI document,
the docs page and the index of /api/v1."""

from __future__ import annotations

import flask

from queries import api as q
from queries import services

from . import context as ctx
from . import state
from .errors import json_response


def list_services() -> flask.Response:
    """The admitted categories of the item list as Open311 services (a bare JSON array)."""
    svc = services.current()
    with ctx.connection(svc) as conn:
        ctx.caller(conn, write=False)
        rows = q.services(conn)
    return json_response(
        [
            {
                "service_code": r["code"],
                "service_name": r["name_zh"],
                "description": f"{r['name_zh']} ({r['name_en']})",
                "metadata": False,
                "type": "realtime",
                "keywords": r["name_en"],
                "group": r["group_name"] or r["name_zh"],
                "name_en": r["name_en"],
                "parent_code": r["parent_code"],
            }
            for r in rows
        ]
    )


def get_openapi() -> flask.Response:
    """The OpenAPI 3.1 document of this API."""
    resp = flask.Response(state.current().openapi_json, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def get_docs() -> flask.Response:
    """Human-readable API documentation (static HTML, no external resources)."""
    resp = flask.Response(state.current().docs_html, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


def get_index() -> flask.Response:
    """Links to the documents of the API."""
    return json_response(
        {
            "name": "gridscope ingest API",
            "version": "v1",
            "openapi": f"{ctx.PREFIX}/openapi.json",
            "docs": f"{ctx.PREFIX}/docs",
        }
    )
