"""Hardening of the Flask server under Dash (issue #9, item 7): security headers
(``headers``), forged or malformed requests to Dash's routes (``dash_errors``) and the request
body cap on chunked bodies (``BodyLimit``).

The cap is Flask's ``MAX_CONTENT_LENGTH`` (setting ``max_body_bytes``, set by
``gridscope.auth.register``). Werkzeug refuses a larger Content-Length before reading, but a
chunked body (no Content-Length) it silently cuts at the cap: the callback or API then sees
truncated JSON and answers 400. ``BodyLimit`` reads such a body up to one byte past the cap and
hands the app either the body with its length or, when larger, a Content-Length past the cap
so that Werkzeug answers 413 (through Flask, with the security headers) without reading more.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

import dash
import flask

from domain.config import Settings

from .dash_errors import register_dash_errors
from .headers import register_headers


class BodyLimit:
    """WSGI middleware: chunked request bodies larger than ``limit`` bytes get 413 after
    reading ``limit + 1`` bytes; smaller ones are passed on with their Content-Length."""

    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int):
        self.app, self.limit = app, limit

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        # Without wsgi.input_terminated the server does not delimit the body and Werkzeug
        # reads none of it; gunicorn and Werkzeug's server set it.
        if chunked and environ.get("wsgi.input_terminated"):
            body = read_at_most(environ["wsgi.input"], self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self.limit else body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.app(environ, start_response)


def read_at_most(stream: Any, size: int) -> bytes:
    """Up to ``size`` bytes of ``stream`` (fewer when it ends first)."""
    out = bytearray()
    while len(out) < size:
        data = stream.read(min(64 * 1024, size - len(out)))
        if not data:
            break
        out.extend(data)
    return bytes(out)


def dash_app_of(server: flask.Flask) -> dash.Dash:
    """The Dash app built on ``server``. Dash keeps no reference from its Flask server back to
    itself; its first before-request hook is the app's own bound ``_setup_server``."""
    for func in server.before_request_funcs.get(None, []):
        owner = getattr(func, "__self__", None)
        if isinstance(owner, dash.Dash) and owner.server is server:
            return owner
    raise RuntimeError("no Dash app is built on this Flask server")


def register_hardening(server: flask.Flask, settings: Settings) -> None:
    """Security headers, Dash request checks and the chunked body cap on ``server``; call
    after the access gate is registered (the callback shape check must run after it)."""
    app = dash_app_of(server)
    server.wsgi_app = BodyLimit(server.wsgi_app, settings.max_body_bytes)  # type: ignore[method-assign]
    register_dash_errors(server, app)
    register_headers(server, settings, app)
