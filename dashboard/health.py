"""``/healthz``: what monitors and the demo script poll. Open to anyone, so it says nothing
about the data."""

from __future__ import annotations

import logging

import flask

from queries import services

log = logging.getLogger(__name__)


def healthz() -> flask.Response:
    """200 {"status": "ok", "database": true, "redis": bool} when PostgreSQL answers; 503
    otherwise. Open to anyone, so it says nothing about the data (not even its version, which
    moves with every write)."""
    svc = services.app_services()
    body: dict = {"status": "ok", "redis": svc.cache.available}
    try:
        with svc.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # report, do not raise: this is what monitors poll
        log.warning("healthz: database unavailable: %s", exc)
        return flask.jsonify(status="error", database=False, redis=svc.cache.available), 503
    body["database"] = True
    return flask.jsonify(body)
