"""Forged and malformed requests to Dash's own routes: refused with 400 (callbacks) or 404
(component suites), never a 500.

Dash trusts the body of ``POST /_dash-update-component``: an unknown output, a missing input, an
input list of the wrong length, ``null`` or a wrong type raise KeyError, TypeError or IndexError
deep inside its dispatch, and an unregistered path under ``/_dash-component-suites/`` raises
DependencyException; Flask answers all of them 500. Two layers stop that:

- ``callback_problem`` checks a callback body against the callback it names (``callback_map``):
  the output is a registered server-side callback and the inputs, state and outputs are the
  declared ones, in order. Only the values are left free, and the callbacks validate those.
- ``dash_failure`` (error handler) answers what still fails inside Dash on those two routes with
  400/404 and a warning, while an exception raised in our own code stays a logged 500: a bug
  must not hide behind "bad request".
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import dash
import flask
from werkzeug.exceptions import HTTPException

from .callbacks import callback_body

log = logging.getLogger(__name__)

CALLBACK_PATH = "/_dash-update-component"
SUITES_PREFIX = "/_dash-component-suites/"
SUITES_RULE = "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>"
# Nesting of a whole callback body: the body itself takes 3 levels, our stores and clickData a
# few more. Deeper JSON is refused before any Dash or gridscope code walks it recursively.
MAX_DEPTH = 32
# A page that renders its filter values as buttons (the workbench's facets: a few hundred
# pattern-matching ids) reports every new button as changed in one request.
MAX_CHANGED = 2048
# Top-level packages of gridscope: an exception with a frame in one of them is our bug.
OUR_PACKAGES = frozenset({"app", "dashboard", "domain", "gridscope", "layers", "queries"})


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``value`` (parsed JSON) nests lists/dicts deeper than ``limit``. Walks with
    a stack of iterators: no recursion, and memory bounded by ``limit``, on hostile input."""
    if not isinstance(value, dict | list):
        return False
    stack = [iter(_children(value))]
    while stack:
        child = next(stack[-1], _END)
        if child is _END:
            stack.pop()
        elif isinstance(child, dict | list):
            if len(stack) >= limit:
                return True
            stack.append(iter(_children(child)))
    return False


_END = object()


def _children(container: dict | list) -> Any:
    return container.values() if isinstance(container, dict) else container


def _base_property(prop: Any) -> Any:
    # allow_duplicate outputs carry "@<hash>" after the property in some places.
    return prop.split("@", 1)[0] if isinstance(prop, str) else prop


def _item_problem(item: Any, spec: dict[str, Any], where: str) -> str | None:
    """Why ``item`` (one entry of a body's inputs/state/outputs) does not match ``spec``
    ({"id": stringified id, "property"}); None when it does."""
    pattern = isinstance(spec["id"], str) and spec["id"].startswith("{")
    entries = item if pattern and isinstance(item, list) else [item]
    for entry in entries:
        if not isinstance(entry, dict):
            return f"{where}: not an object"
        if _base_property(entry.get("property")) != _base_property(spec["property"]):
            return f"{where}: property is not {spec['property']!r}"
        ident = entry.get("id")
        if pattern:
            if not isinstance(ident, dict):
                return f"{where}: id is not a pattern id"
        elif ident != spec["id"]:
            return f"{where}: id is not {spec['id']!r}"
    return None


def _list_problem(items: Any, specs: list[dict[str, Any]], where: str) -> str | None:
    if not isinstance(items, list) or len(items) != len(specs):
        return f"{where}: expected a list of {len(specs)}"
    for i, (item, spec) in enumerate(zip(items, specs, strict=True)):
        problem = _item_problem(item, spec, f"{where}[{i}]")
        if problem:
            return problem
    return None


def _output_specs(declared: Any) -> list[dict[str, Any]]:
    outputs = declared if isinstance(declared, list | tuple) else [declared]
    return [o.to_dict() for o in outputs]


def callback_problem(body: Any, callback_map: dict[str, Any]) -> str | None:
    """Why ``body`` is not a call of a registered server-side callback as declared; None when
    it is. Checks shape only: ids, properties and counts, never the values."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    if too_deep(body):
        return f"body nested deeper than {MAX_DEPTH}"
    output = body.get("output")
    callback = callback_map.get(output) if isinstance(output, str) else None
    if callback is None or "callback" not in callback:  # clientside callbacks have none
        return "output names no server-side callback"
    problem = _list_problem(body.get("inputs"), callback["inputs"], "inputs")
    problem = problem or _list_problem(body.get("state", []), callback["state"], "state")
    if problem:
        return problem
    if not callback.get("no_output"):
        specs = _output_specs(callback["output"])
        outputs = body.get("outputs")
        if isinstance(callback["output"], list | tuple):
            problem = _list_problem(outputs, specs, "outputs")
        else:
            problem = _item_problem(outputs, specs[0], "outputs")
        if problem:
            return problem
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or len(changed) > MAX_CHANGED:
        return "changedPropIds: expected a short list"
    if not all(isinstance(c, str) for c in changed):
        return "changedPropIds: expected strings"
    return None


def bad_request(message: str) -> flask.Response:
    return flask.Response(f"400 {message}\n", status=400, mimetype="text/plain; charset=utf-8")


def raised_in_our_code(tb: TracebackType | None) -> bool:
    """True when a frame of the traceback belongs to a gridscope package."""
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.split(".", 1)[0] in OUR_PACKAGES:
            return True
        tb = tb.tb_next
    return False


def register_dash_errors(server: flask.Flask, dash_app: dash.Dash) -> None:
    """The callback shape check (a before-request hook, to be registered after the access
    gate) and the error handler for Dash's own routes on ``server``."""

    def check_dash_request() -> flask.Response | None:
        path = flask.request.path
        if path == CALLBACK_PATH:
            problem = callback_problem(callback_body(), dash_app.callback_map)
            if problem:
                log.warning("malformed callback request refused: %s", problem)
                return bad_request(f"malformed callback request: {problem}")
        elif path.startswith(SUITES_PREFIX):
            rule = flask.request.url_rule
            if rule is None or rule.rule != SUITES_RULE:  # e.g. Dash's catch-all index page
                flask.abort(404)
        return None

    def dash_failure(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return exc
        path = flask.request.path
        ours = raised_in_our_code(exc.__traceback__)
        if ours or not (path == CALLBACK_PATH or path.startswith(SUITES_PREFIX)):
            raise exc  # Flask's own handling: logged with its traceback, 500
        # Raised inside Dash by what the request sent: the caller's fault.
        detail = " ".join(str(exc).split())[:200]  # Dash's messages span lines
        if path == CALLBACK_PATH:
            # The shape check passed, so a forged value reached Dash's own code (the router's
            # query string, say), or one of our callbacks returned what Dash cannot send: keep
            # the traceback for the second case.
            log.warning("callback refused: %s: %s", type(exc).__name__, detail, exc_info=exc)
            return bad_request("malformed callback request")
        log.warning("%s refused: %s: %s", path, type(exc).__name__, detail)
        return flask.Response("404 not found\n", status=404, mimetype="text/plain")

    server.before_request(check_dash_request)
    server.register_error_handler(Exception, dash_failure)
