"""API errors: one JSON shape for every refusal, and the handlers that produce it.

    {"error": {"status": 422, "message": "...", "fields": [{"field": "lat", "problem": "..."}]}}

Every refusal is a 4xx naming the field; a 5xx is a bug (500) or the database being away or
busy (503 with Retry-After, logged once per outage through ``services.faults``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import flask
import psycopg
from psycopg_pool import PoolTimeout
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from gridscope.outage import report
from queries.db import DatabaseUnavailable
from queries.scope import ScopeError
from queries.tickets import TicketError
from queries.transient import RETRY_AFTER_S

log = logging.getLogger(__name__)

JSON_MIME = "application/json"


class ApiError(Exception):
    """A refused request: HTTP status, a message and the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: Iterable[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = [{"field": f, "problem": p} for f, p in fields]
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"status": self.status, "message": self.message, "fields": self.fields}}


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> flask.Response:
    """``body`` (already JSON-ready: no datetimes) as an UTF-8 JSON response."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    resp = flask.Response(data, status=status, mimetype=JSON_MIME)
    resp.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def database_unavailable() -> ApiError:
    """The 503 of a database away or busy, with Retry-After (clients retry with backoff)."""
    return ApiError(
        503,
        "the database is unavailable or busy; retry later",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def error_response(err: ApiError) -> flask.Response:
    return json_response(err.body(), err.status, err.headers)


def field_path(loc: Iterable[Any]) -> str:
    """A pydantic error location as ``positions[3].lat``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


_PROBLEMS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "datetime_from_date_parsing": "must be an ISO 8601 date-time with a time zone offset",
    "timezone_aware": "must carry a time zone offset (e.g. +08:00 or Z)",
    "finite_number": "must be a finite number",
}


def validation_error(exc: ValidationError, what: str = "request body") -> ApiError:
    """A pydantic ValidationError as a 422 listing each field and its problem."""
    fields = []
    for e in exc.errors(include_url=False, include_input=False):
        loc = e.get("loc", ())
        # Discriminated/union wrappers add the type name to the location: drop it.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
        problem = _PROBLEMS.get(e["type"], e["msg"])
        if e["type"] == "value_error" and "error" in e.get("ctx", {}):
            problem = str(e["ctx"]["error"])
        fields.append((field_path(loc), problem))
    names = ", ".join(dict.fromkeys(f for f, _ in fields))
    return ApiError(422, f"invalid {what}: {names}", fields)


def _from_http(exc: HTTPException) -> ApiError:
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    code = exc.code or 500
    req = flask.request
    if code == 404:
        return ApiError(
            404,
            f"no such endpoint: {req.method} {req.path} (see /api/v1/docs)",
            [("path", "not found")],
        )
    if code == 405:
        allowed = headers.get("Allow", "")
        return ApiError(
            405,
            f"{req.method} is not allowed on {req.path} (allowed: {allowed})",
            [("method", f"{req.method} not allowed")],
            headers=headers,
        )
    return ApiError(code, exc.description or exc.name, headers=headers)


def register_handlers(bp: flask.Blueprint, max_body: int, api_prefix: str) -> None:
    """JSON error handlers for every request routed to the blueprint."""

    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc)

    @bp.errorhandler(TicketError)
    def _ticket_error(exc: TicketError):
        return error_response(
            ApiError(exc.status, f"{exc.field}: {exc.message}", [(exc.field, exc.message)])
        )

    @bp.errorhandler(ScopeError)
    def _scope_error(exc: ScopeError):
        return error_response(ApiError(403, str(exc)))

    @bp.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        err = _from_http(exc)
        if err.status == 413:
            err = ApiError(
                413,
                f"request body too large: at most {max_body} bytes",
                [("body", f"larger than {max_body} bytes")],
            )
        return error_response(err)

    @bp.app_errorhandler(404)
    @bp.app_errorhandler(405)
    def _routing_error(exc: HTTPException):
        # Paths under /api/v1 that even its catch-all rule does not match (a newline in the
        # path, say) reach the app-level handler: JSON for them, the default page otherwise.
        if flask.request.path.startswith(api_prefix):
            return error_response(_from_http(exc))
        return exc

    @bp.errorhandler(PoolTimeout)
    @bp.errorhandler(psycopg.OperationalError)
    @bp.errorhandler(DatabaseUnavailable)
    def _db_unavailable(exc: Exception):
        # Away (refused, dropped, no pooled connection within db_wait_s) or busy (statement
        # timeout, lock wait given up): one log line per outage, no traceback.
        report(exc)
        return error_response(database_unavailable())

    @bp.errorhandler(Exception)
    def _bug(exc: Exception):
        log.exception("api: unhandled error on %s %s", flask.request.method, flask.request.path)
        return error_response(ApiError(500, "internal error (logged)"))
